import type { RemoteStatus, StatusBatchOutcome, Timers, VideoApi } from '../core/ports.js';

/** A failed status request, as every caller whose ids were in it sees it. */
export type StatusFetchError = Extract<StatusBatchOutcome, { kind: 'error' }>;

interface Waiter {
  ids: readonly string[];
  resolve(result: Map<string, RemoteStatus> | StatusFetchError): void;
}

/**
 * Merges the status requests of every guild poller into `retrieve_batch` calls of at most
 * `maxBatchSize` ids, spaced to stay under the provider's polling limit (60 requests/s per token).
 */
export class StatusBatcher {
  private waiters: Waiter[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private nextRequestAtMs = 0;
  /** Requests sent so far (for tests and metrics). */
  requestsSent = 0;

  constructor(
    private readonly deps: {
      api: VideoApi;
      timers: Timers;
      maxBatchSize: number;
      /** How long to wait for other pollers' ids before sending. */
      gatherMs: number;
      minRequestIntervalMs: number;
    },
  ) {}

  /** Fetches the statuses of `providerTaskIds`; ids missing from the answer are absent from the map. */
  fetch(providerTaskIds: readonly string[]): Promise<Map<string, RemoteStatus> | StatusFetchError> {
    return new Promise((resolve) => {
      this.waiters.push({ ids: providerTaskIds, resolve });
      if (this.pendingIdCount() >= this.deps.maxBatchSize) this.flushSoon(0);
      else this.flushSoon(this.deps.gatherMs);
    });
  }

  private pendingIdCount(): number {
    let count = 0;
    for (const waiter of this.waiters) count += waiter.ids.length;
    return count;
  }

  private flushSoon(delayMs: number): void {
    if (this.flushTimer && delayMs > 0) return;
    if (this.flushTimer) this.deps.timers.clearTimeout(this.flushTimer);
    this.flushTimer = this.deps.timers.setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    const uniqueIds = [...new Set(waiters.flatMap((w) => w.ids))];
    const results = new Map<string, RemoteStatus>();
    const failures = new Map<string, StatusFetchError>();

    const chunks: string[][] = [];
    for (let i = 0; i < uniqueIds.length; i += this.deps.maxBatchSize) {
      chunks.push(uniqueIds.slice(i, i + this.deps.maxBatchSize));
    }
    await Promise.all(
      chunks.map(async (chunk) => {
        await this.takeRequestSlot();
        this.requestsSent++;
        let outcome: StatusBatchOutcome;
        try {
          outcome = await this.deps.api.retrieveBatch(chunk);
        } catch (err) {
          outcome = { kind: 'error', code: 'internal_error', message: String(err), retryable: true };
        }
        if (outcome.kind === 'ok') for (const [id, status] of outcome.statuses) results.set(id, status);
        else for (const id of chunk) failures.set(id, outcome);
      }),
    );

    for (const waiter of waiters) {
      const failure = waiter.ids.map((id) => failures.get(id)).find((f) => f !== undefined);
      if (failure) {
        waiter.resolve(failure);
        continue;
      }
      const mine = new Map<string, RemoteStatus>();
      for (const id of waiter.ids) {
        const status = results.get(id);
        if (status) mine.set(id, status);
      }
      waiter.resolve(mine);
    }
  }

  private async takeRequestSlot(): Promise<void> {
    const nowMs = Date.now();
    const startAtMs = Math.max(nowMs, this.nextRequestAtMs);
    this.nextRequestAtMs = startAtMs + this.deps.minRequestIntervalMs;
    if (startAtMs > nowMs) {
      await new Promise<void>((resolve) => this.deps.timers.setTimeout(resolve, startAtMs - nowMs));
    }
  }
}
