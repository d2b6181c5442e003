/** Tuning of the adaptive poll cadence. */
export interface CadenceOptions {
  /** The interval around the expected finish (`POLL_INTERVAL_MS`). */
  baseIntervalMs: number;
  /** Early in a generation, poll this many times less often. */
  earlyFactor: number;
  /** Longest interval for a generation running far past its expected time. */
  maxIntervalMs: number;
  /**
   * Until a model and length has enough finished samples, expect the catalogue's
   * `typicalGenerationMs` instead of polling at the base interval (off: the base interval).
   */
  seedFromCatalogue?: boolean;
}

// Below this many samples the estimate is a guess: poll at the base interval.
const MIN_SAMPLES = 3;
const WINDOW_SIZE = 25;

/** When one generation finished: after `fromMs` (last seen running) and by `toMs` (seen finished). */
interface Sample {
  fromMs: number;
  toMs: number;
}

// The last this many finishes bracket a steady model's time. Enough that finishes seen by the same
// few checks (a widely spread model's) cannot agree by chance.
const BRACKET_SAMPLES = 10;

/** Learns how long generations take, per model and duration, from the last finished ones. */
export class GenerationTimeEstimator {
  private readonly samples = new Map<string, Sample[]>();

  /**
   * Records one finished generation: seen finished `seenMs` after its submit, last seen running
   * `lastRunningMs` after it (default: the same, an exact time).
   */
  record(key: string, seenMs: number, lastRunningMs = seenMs): void {
    if (!Number.isFinite(seenMs) || seenMs <= 0) return;
    const fromMs = Number.isFinite(lastRunningMs) ? Math.min(Math.max(0, lastRunningMs), seenMs) : seenMs;
    const window = this.samples.get(key) ?? [];
    window.push({ fromMs, toMs: seenMs });
    if (window.length > WINDOW_SIZE) window.shift();
    this.samples.set(key, window);
  }

  /**
   * The expected generation time, or undefined while too few have finished: the median of the recent
   * finishes, each the middle of its span (a steady model's probes use `steadySpan` instead).
   */
  expectedMs(key: string): number | undefined {
    const window = this.samples.get(key);
    if (!window || window.length < MIN_SAMPLES) return undefined;
    const sorted = window.map((s) => (s.fromMs + s.toMs) / 2).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /**
   * The earliest any recent generation may have finished (after the last check that saw it running),
   * or undefined: a generation first checked late says it may have been that fast.
   */
  earliestFinishMs(key: string): number | undefined {
    const window = this.samples.get(key);
    if (!window || window.length < MIN_SAMPLES) return undefined;
    return Math.min(...window.map((s) => s.fromMs));
  }

  /** The longest of the recent generations (by when each was seen finished), or undefined. */
  slowestMs(key: string): number | undefined {
    const window = this.samples.get(key);
    if (!window || window.length < MIN_SAMPLES) return undefined;
    return Math.max(...window.map((s) => s.toMs));
  }

  /**
   * For a steady model, the span every one of the last finishes agrees on (after the latest
   * "still running", by the earliest "finished"); undefined while they disagree, too few finished,
   * or one of the last was first checked too late to bracket its finish.
   */
  steadySpan(key: string): { fromMs: number; toMs: number } | undefined {
    const window = this.samples.get(key);
    if (!window || window.length < MIN_SAMPLES) return undefined;
    const recent = window.slice(-BRACKET_SAMPLES);
    // A finish first checked late (last seen running before half its time) brackets nothing.
    if (recent.some((s) => s.fromMs < s.toMs / 2)) return undefined;
    const fromMs = Math.max(...recent.map((s) => s.fromMs));
    const toMs = Math.min(...recent.map((s) => s.toMs));
    return fromMs < toMs ? { fromMs, toMs } : undefined;
  }
}

/** The estimator key of a request: generation time depends mostly on model and length (0: no duration field). */
export function cadenceKey(request: { model: string; duration?: number | undefined }): string {
  return `${request.model}:${request.duration ?? 0}`;
}

/**
 * How long to wait before the next status check: seldom early in a generation (nothing to see yet),
 * every `denseIntervalMs` around the expected finish (the endpoint's spare requests spread over the
 * base interval; the base interval when there are none), and backing off for generations far past it.
 */
export function nextCheckDelayMs(
  elapsedMs: number,
  expectedMs: number | undefined,
  options: CadenceOptions,
  denseIntervalMs = options.baseIntervalMs,
  /** The longest recent generation: backing off starts only past twice this (default: expected). */
  slowestMs = expectedMs,
  /** The earliest a recent generation may have finished: the close checks start there at the latest. */
  earliestFinishMs = expectedMs,
): number {
  const base = options.baseIntervalMs;
  const dense = Math.min(base, Math.max(1, denseIntervalMs));
  if (expectedMs === undefined) return base;
  const watchFromMs = watchWindowStartMs(expectedMs, earliestFinishMs);
  if (elapsedMs < watchFromMs) {
    // Land the first close check at the start of the window instead of overshooting it.
    return Math.max(dense, Math.min(base * options.earlyFactor, watchFromMs - elapsedMs));
  }
  // A model whose times spread widely: its slower generations are not "far past" the median one.
  const lateFromMs = Math.max(expectedMs, slowestMs ?? expectedMs) * 2;
  if (elapsedMs <= lateFromMs) return dense;
  const overrun = elapsedMs / (lateFromMs / 2);
  return Math.max(base, Math.min(base * overrun, options.maxIntervalMs));
}

/**
 * Where the close checks start: at 70 % of the expected time, or earlier for a model whose recent
 * generations spread widely or were first checked late (a 2 s one beside 12 s ones must not wait
 * for the sparse early checks; a request budget caps what the extra checks cost).
 */
export function watchWindowStartMs(expectedMs: number, earliestFinishMs = expectedMs): number {
  return Math.min(expectedMs * 0.7, earliestFinishMs);
}
