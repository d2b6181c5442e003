import { describe, expect, it } from 'vitest';
import { GenerationTimeEstimator, cadenceKey, nextCheckDelayMs, watchWindowStartMs } from '../../src/poller/poll-cadence.js';

const OPTIONS = { baseIntervalMs: 5_000, earlyFactor: 3, maxIntervalMs: 30_000 };

describe('nextCheckDelayMs', () => {
  it('watches a widely spread model from the earliest a recent generation may have finished', () => {
    // Expected 7 s: without the spread the close checks would start at 4.9 s.
    expect(nextCheckDelayMs(0, 7_000, OPTIONS, 2_500, 12_000, 7_000)).toBe(4_900);
    // One recent generation was last seen running at 1.5 s: checks are dense from there.
    expect(nextCheckDelayMs(0, 7_000, OPTIONS, 2_500, 12_000, 1_500)).toBe(2_500);
    expect(nextCheckDelayMs(2_000, 7_000, OPTIONS, 2_500, 12_000, 1_500)).toBe(2_500);
    expect(watchWindowStartMs(7_000, 1_500)).toBe(1_500);
    expect(watchWindowStartMs(100_000)).toBe(70_000);
  });

  it('polls at the base interval while nothing has been learned', () => {
    expect(nextCheckDelayMs(0, undefined, OPTIONS)).toBe(5_000);
    expect(nextCheckDelayMs(600_000, undefined, OPTIONS)).toBe(5_000);
  });

  it('polls seldom early in a generation, but lands near the expected finish', () => {
    expect(nextCheckDelayMs(0, 120_000, OPTIONS)).toBe(15_000);
    // 84 s is 70 % of 120 s: from 80 s the next check is 4 s away, never under the base interval.
    expect(nextCheckDelayMs(80_000, 120_000, OPTIONS)).toBe(5_000);
    expect(nextCheckDelayMs(75_000, 120_000, OPTIONS)).toBe(9_000);
  });

  it('polls at the base interval around the expected finish', () => {
    expect(nextCheckDelayMs(100_000, 120_000, OPTIONS)).toBe(5_000);
    expect(nextCheckDelayMs(240_000, 120_000, OPTIONS)).toBe(5_000);
  });

  it('backs off for generations far past the expected time, up to the cap', () => {
    expect(nextCheckDelayMs(360_000, 120_000, OPTIONS)).toBe(15_000);
    expect(nextCheckDelayMs(3_600_000, 120_000, OPTIONS)).toBe(30_000);
  });

  it('never polls faster than the base interval, even with a cap below it', () => {
    expect(nextCheckDelayMs(3_600_000, 120_000, { ...OPTIONS, maxIntervalMs: 1_000 })).toBe(5_000);
  });

  it('checks at the dense step only in the window around the expected finish', () => {
    // The endpoint may send 3 requests per interval: 5 s / 3 near the finish.
    const dense = 5_000 / 3;
    expect(nextCheckDelayMs(100_000, 120_000, OPTIONS, dense)).toBe(dense);
    expect(nextCheckDelayMs(240_000, 120_000, OPTIONS, dense)).toBe(dense);
    // Early: still seldom, and the first close check lands at the start of the window, not a base interval later.
    expect(nextCheckDelayMs(0, 120_000, OPTIONS, dense)).toBe(15_000);
    expect(nextCheckDelayMs(83_000, 120_000, OPTIONS, dense)).toBe(dense);
    // Far past the expected time and while nothing is learned: no faster than the base interval.
    expect(nextCheckDelayMs(360_000, 120_000, OPTIONS, dense)).toBe(15_000);
    expect(nextCheckDelayMs(100_000, undefined, OPTIONS, dense)).toBe(5_000);
  });

  it('never takes a dense step longer than the base interval', () => {
    expect(nextCheckDelayMs(100_000, 120_000, OPTIONS, 60_000)).toBe(5_000);
  });
});

describe('GenerationTimeEstimator', () => {
  it('needs three samples, then answers the median of the recent ones per key', () => {
    const estimator = new GenerationTimeEstimator();
    const key = cadenceKey({ model: 'sora-2', duration: 10 });
    estimator.record(key, 60_000);
    estimator.record(key, 200_000);
    expect(estimator.expectedMs(key)).toBeUndefined();
    estimator.record(key, 90_000);
    expect(estimator.expectedMs(key)).toBe(90_000);
    expect(estimator.expectedMs(cadenceKey({ model: 'sora-2-pro', duration: 25 }))).toBeUndefined();
  });

  it('forgets old samples and ignores nonsense', () => {
    const estimator = new GenerationTimeEstimator();
    for (let i = 0; i < 30; i++) estimator.record('k', 10_000);
    for (let i = 0; i < 25; i++) estimator.record('k', 50_000);
    estimator.record('k', -5);
    estimator.record('k', Number.NaN);
    expect(estimator.expectedMs('k')).toBe(50_000);
  });

  it('takes the middle of each finish’s span, so a sparse check does not teach a longer time', () => {
    const estimator = new GenerationTimeEstimator();
    // Seen finished at 15 s, 15 s and 20 s, last seen running at 0 s, 5 s and 10 s: finishes disagree.
    estimator.record('k', 15_000, 0);
    estimator.record('k', 15_000, 5_000);
    estimator.record('k', 20_000, 16_000);
    expect(estimator.steadySpan('k')).toBeUndefined();
    expect(estimator.expectedMs('k')).toBe(10_000);
  });

  it('narrows a steady model’s span with every finish', () => {
    const estimator = new GenerationTimeEstimator();
    estimator.record('k', 1_250, 1_000);
    estimator.record('k', 1_125, 1_000);
    expect(estimator.steadySpan('k')).toBeUndefined();
    estimator.record('k', 1_200, 1_060);
    expect(estimator.steadySpan('k')).toEqual({ fromMs: 1_060, toMs: 1_125 });
    expect(estimator.expectedMs('k')).toBe(1_125);
    // A check in the middle that still saw it running moves the start up.
    estimator.record('k', 1_125, 1_100);
    expect(estimator.steadySpan('k')).toEqual({ fromMs: 1_100, toMs: 1_125 });
    // A finish outside the span: no longer steady, back to the median of the middles.
    estimator.record('k', 2_000, 1_900);
    expect(estimator.steadySpan('k')).toBeUndefined();
    expect(estimator.expectedMs('k')).toBe(1_125);
  });
});

describe('GenerationTimeEstimator bounds', () => {
  it('knows the earliest a recent generation may have finished', () => {
    const estimator = new GenerationTimeEstimator();
    estimator.record('k', 5_000, 4_000);
    estimator.record('k', 9_000, 8_000);
    expect(estimator.earliestFinishMs('k')).toBeUndefined();
    // First checked at 15 s: it may have finished right after its submit.
    estimator.record('k', 15_000, 0);
    expect(estimator.earliestFinishMs('k')).toBe(0);
  });

  it('calls nothing steady while one of the last finishes was first checked too late to bracket it', () => {
    const estimator = new GenerationTimeEstimator();
    for (let i = 0; i < 3; i++) estimator.record('k', 1_020, 990);
    expect(estimator.steadySpan('k')).toEqual({ fromMs: 990, toMs: 1_020 });
    // Seen finished at 2.1 s, never seen running: the finishes agree only by chance.
    estimator.record('k', 2_100, 0);
    expect(estimator.steadySpan('k')).toBeUndefined();
  });
});

describe('cadenceKey', () => {
  it('keys by model and length, 0 for a model without a duration field', () => {
    expect(cadenceKey({ model: 'kling-v2-6', duration: 10 })).toBe('kling-v2-6:10');
    expect(cadenceKey({ model: 'luma' })).toBe('luma:0');
  });
});

describe('nextCheckDelayMs with widely spread times', () => {
  it('keeps the dense checks until twice the slowest recent generation, not twice the median', () => {
    // Median 2.5 s, slowest 12 s: a task at 7.5 s is not late.
    expect(nextCheckDelayMs(7_500, 2_500, OPTIONS, 2_500, 12_000)).toBe(2_500);
    expect(nextCheckDelayMs(7_500, 2_500, OPTIONS, 2_500)).toBe(15_000);
    // Past twice the slowest it backs off as before, relative to the slowest.
    expect(nextCheckDelayMs(36_000, 2_500, OPTIONS, 2_500, 12_000)).toBe(15_000);
  });
});
