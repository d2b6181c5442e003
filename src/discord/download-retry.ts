import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DownloadFailure } from './video-upload.js';

/** How often and how long a failing video download is tried before the link is posted instead. */
export interface DownloadRetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The wait after the first failure; doubled after each further one (before jitter). */
  baseDelayMs: number;
  /** The longest wait between two tries, a Retry-After included. */
  maxDelayMs: number;
  /** From the first try: no try starts, and none runs, past this. */
  budgetMs: number;
}

/**
 * Four tries with waits of about 1, 2 and 4 s: enough for a CDN hiccup or a rolling restart,
 * short enough that a member whose video is ready is not left waiting; a hanging provider is bounded
 * by the budget (each try's timeout is cut to what is left of it).
 */
export const DEFAULT_DOWNLOAD_RETRY: Readonly<DownloadRetryPolicy> = Object.freeze({
  attempts: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 15_000,
  budgetMs: 5 * 60_000,
});

/** What the retry loop needs from the world; defaults are the real clock, timers and Math.random. */
export interface RetryEnvironment {
  now?: () => number;
  random?: () => number;
  /** Resolves after `ms`, or rejects once `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * The wait before try `attempt + 1`: exponential with "equal jitter" (half fixed, half random), so
 * bots that failed together do not all come back at the same instant yet always wait a little; a
 * longer Retry-After from the provider is honoured up to `maxDelayMs`.
 */
export function downloadRetryDelayMs(attempt: number, policy: DownloadRetryPolicy, random: () => number, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = ceiling / 2 + (random() * ceiling) / 2;
  return Math.round(Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0)));
}

/** A retried result: the last try's, with how many tries it took and whether `signal` ended it. */
export type Retried<T> = (T | DownloadFailure) & { attempts: number; aborted: boolean };

/**
 * Runs `attempt(timeoutMs)` until it succeeds, fails for good (not `retryable`, too large), the
 * tries or the time budget run out, or `signal` aborts (shutdown). `timeoutMs` is what is left of
 * the budget, for the try to cap its own timeout with.
 */
export async function withDownloadRetries<T extends { ok: true }>(
  attempt: (timeoutMs: number) => Promise<T | DownloadFailure>,
  policy: DownloadRetryPolicy,
  env: RetryEnvironment = {},
): Promise<Retried<T>> {
  const now = env.now ?? Date.now;
  const random = env.random ?? Math.random;
  const sleep = env.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, signal ? { signal } : {}));
  const startedAt = now();
  const aborted = (): boolean => env.signal?.aborted === true;
  for (let tries = 1; ; tries++) {
    const left = policy.budgetMs - (now() - startedAt);
    const result = await attempt(Math.max(1, left));
    if (result.ok || result.reason !== 'download_failed' || !result.retryable || aborted()) {
      // A video that arrived is posted even when shutdown began meanwhile (the core waits for posts).
      return { ...result, attempts: tries, aborted: !result.ok && aborted() };
    }
    const delayMs = downloadRetryDelayMs(tries, policy, random, result.retryAfterMs);
    const leftAfterWait = policy.budgetMs - (now() - startedAt) - delayMs;
    if (tries >= policy.attempts || leftAfterWait <= 0) {
      env.log?.warn({ attempts: tries, status: result.status }, 'video download kept failing; giving up');
      return { ...result, attempts: tries, aborted: false };
    }
    env.log?.info({ attempt: tries, status: result.status, delayMs }, 'video download failed; trying again');
    try {
      await sleep(delayMs, env.signal);
    } catch {
      return { ...result, attempts: tries, aborted: true };
    }
    if (aborted()) return { ...result, attempts: tries, aborted: true };
  }
}
