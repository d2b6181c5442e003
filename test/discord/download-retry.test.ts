import { describe, expect, it } from 'vitest';
import { downloadRetryDelayMs, withDownloadRetries, type DownloadRetryPolicy } from '../../src/discord/download-retry.js';
import type { DownloadFailure } from '../../src/discord/video-upload.js';

const POLICY: DownloadRetryPolicy = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 15_000, budgetMs: 60_000 };
const transient: DownloadFailure = { ok: false, reason: 'download_failed', retryable: true, status: 503 };
const permanent: DownloadFailure = { ok: false, reason: 'download_failed', retryable: false, status: 404 };
const done = { ok: true as const, value: 'video' };

/** A fake clock that the fake sleep advances. */
function world() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    advance: (ms: number) => (now += ms),
    env: {
      now: () => now,
      random: () => 0.5,
      sleep: (ms: number) => {
        sleeps.push(ms);
        now += ms;
        return Promise.resolve();
      },
    },
  };
}

describe('downloadRetryDelayMs', () => {
  it('doubles from the base, half of each wait random, capped', () => {
    expect([1, 2, 3].map((n) => downloadRetryDelayMs(n, POLICY, () => 0))).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map((n) => downloadRetryDelayMs(n, POLICY, () => 1))).toEqual([1000, 2000, 4000]);
    expect(downloadRetryDelayMs(10, POLICY, () => 1)).toBe(15_000);
  });

  it('honours a longer Retry-After, up to the cap', () => {
    expect(downloadRetryDelayMs(1, POLICY, () => 0, 5_000)).toBe(5_000);
    expect(downloadRetryDelayMs(1, POLICY, () => 0, 600_000)).toBe(15_000);
  });
});

describe('withDownloadRetries', () => {
  it('tries again after transient failures and returns the success', async () => {
    const w = world();
    const results = [transient, transient, done];
    const result = await withDownloadRetries(() => Promise.resolve(results.shift()!), POLICY, w.env);
    expect(result).toMatchObject({ ok: true, value: 'video', attempts: 3, aborted: false });
    expect(w.sleeps).toEqual([750, 1500]);
  });

  it('does not retry a permanent failure or a video that is too large', async () => {
    for (const failure of [permanent, { ok: false, reason: 'too_large' } as const]) {
      const w = world();
      let calls = 0;
      const result = await withDownloadRetries(() => Promise.resolve((calls++, failure)), POLICY, w.env);
      expect(result).toMatchObject({ ...failure, attempts: 1 });
      expect(calls).toBe(1);
      expect(w.sleeps).toEqual([]);
    }
  });

  it('stops after the last try with the last failure', async () => {
    const w = world();
    let calls = 0;
    const result = await withDownloadRetries(() => Promise.resolve((calls++, transient)), POLICY, w.env);
    expect(result).toMatchObject({ reason: 'download_failed', attempts: 4, aborted: false });
    expect(calls).toBe(4);
    expect(w.sleeps).toHaveLength(3);
  });

  it('stops when the time budget is spent, and hands each try what is left of it', async () => {
    const w = world();
    const budgets: number[] = [];
    const result = await withDownloadRetries(
      (left) => {
        budgets.push(left);
        w.advance(Math.min(25_000, left)); // each try hangs until its timeout, cut to the budget
        return Promise.resolve(transient);
      },
      { ...POLICY, budgetMs: 60_000 },
      w.env,
    );
    expect(result).toMatchObject({ attempts: 3, aborted: false });
    expect(budgets).toEqual([60_000, 34_250, 7_750]);
    expect(w.env.now()).toBe(60_000);
  });

  it('ends at once when the signal aborts during a wait', async () => {
    const stopping = new AbortController();
    let calls = 0;
    const result = await withDownloadRetries(() => Promise.resolve((calls++, transient)), POLICY, {
      signal: stopping.signal,
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          signal!.addEventListener('abort', () => reject(new Error('aborted')));
          stopping.abort();
        }),
    });
    expect(result).toMatchObject({ aborted: true, attempts: 1 });
    expect(calls).toBe(1);
  });

  it('hands back a video that arrived even when the signal aborted meanwhile', async () => {
    const stopping = new AbortController();
    const result = await withDownloadRetries(
      () => {
        stopping.abort();
        return Promise.resolve(done);
      },
      POLICY,
      { signal: stopping.signal },
    );
    expect(result).toMatchObject({ ok: true, aborted: false });
  });

  it('uses real timers by default and an abort cuts the wait short', async () => {
    const stopping = new AbortController();
    const started = Date.now();
    setTimeout(() => stopping.abort(), 20);
    const result = await withDownloadRetries(
      () => Promise.resolve(transient),
      { ...POLICY, baseDelayMs: 60_000 },
      { signal: stopping.signal },
    );
    expect(result.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
