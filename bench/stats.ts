/** Small statistics helpers for the benchmark (no dependencies). */

/** The `q`-quantile (0..1) of `values` by nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** Jain's fairness index of per-party shares: 1 when equal, 1/n when one party takes all. */
export function jainIndex(shares: readonly number[]): number {
  if (shares.length === 0) return Number.NaN;
  const sum = shares.reduce((a, b) => a + b, 0);
  const sumOfSquares = shares.reduce((a, b) => a + b * b, 0);
  return sumOfSquares === 0 ? Number.NaN : (sum * sum) / (shares.length * sumOfSquares);
}

/** `12.3 ms` / `1.23 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (Math.abs(ms) >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/** `p50 X / p99 Y`. */
export function formatP50P99(values: readonly number[]): string {
  return `p50 ${formatMs(quantile(values, 0.5))} / p99 ${formatMs(quantile(values, 0.99))}`;
}

/** Bytes as MiB with one decimal. */
export function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every `everyMs` until it returns a truthy value; rejects after `timeoutMs`. */
export async function until<T>(predicate: () => T | undefined | null | false, timeoutMs: number, what: string, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The most of `timesMs` that fall in any half-open window of `windowMs` (request budgets). */
export function maxInWindow(timesMs: readonly number[], windowMs: number): number {
  const sorted = [...timesMs].sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= windowMs) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}
