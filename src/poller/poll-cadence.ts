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

/** Learns how long generations take, per model and duration, from the last finished ones. */
export class GenerationTimeEstimator {
  private readonly samples = new Map<string, number[]>();

  /** Records how long one generation took (submit → seen finished). */
  record(key: string, durationMs: number): void {
    if (!Number.isFinite(durationMs) || durationMs <= 0) return;
    const window = this.samples.get(key) ?? [];
    window.push(durationMs);
    if (window.length > WINDOW_SIZE) window.shift();
    this.samples.set(key, window);
  }

  /** The median of recent generations, or undefined while too few have finished. */
  expectedMs(key: string): number | undefined {
    const window = this.samples.get(key);
    if (!window || window.length < MIN_SAMPLES) return undefined;
    const sorted = [...window].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }
}

/** The estimator key of a request: generation time depends mostly on model and length (0: no duration field). */
export function cadenceKey(request: { model: string; duration?: number | undefined }): string {
  return `${request.model}:${request.duration ?? 0}`;
}

/**
 * How long to wait before the next status check: seldom early in a generation (nothing to see yet),
 * at the base interval around the expected finish, and backing off for generations far past it.
 */
export function nextCheckDelayMs(elapsedMs: number, expectedMs: number | undefined, options: CadenceOptions): number {
  const base = options.baseIntervalMs;
  if (expectedMs === undefined) return base;
  const watchFromMs = expectedMs * 0.7;
  if (elapsedMs < watchFromMs) {
    // Land the first close check near the expected finish instead of overshooting it.
    return Math.max(base, Math.min(base * options.earlyFactor, watchFromMs - elapsedMs));
  }
  if (elapsedMs <= expectedMs * 2) return base;
  const overrun = elapsedMs / expectedMs;
  return Math.max(base, Math.min(base * overrun, options.maxIntervalMs));
}
