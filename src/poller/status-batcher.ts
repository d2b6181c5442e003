import { SERVICES, type ServiceId } from '../core/models/catalogue.js';
import type { RemoteStatus, StatusBatchOutcome, Timers, VideoApi } from '../core/ports.js';

/** A failed status request, as every caller whose ids were in it sees it. */
export type StatusFetchError = Extract<StatusBatchOutcome, { kind: 'error' }>;

interface Waiter {
  ids: readonly string[];
  resolve(result: Map<string, RemoteStatus> | StatusFetchError): void;
}

/** Settings shared by every service's batcher. */
export interface StatusBatcherSettings {
  api: VideoApi;
  timers: Timers;
  /** Most ids per request; capped by each service's own `maxBatchIds` (all 50 today). */
  maxBatchSize: number;
  /** How long to wait for other pollers' ids before sending. */
  gatherMs: number;
  /**
   * Least time between two requests of one batcher (one tasks endpoint). Each service's batcher paces
   * itself, with the same interval as the single Sora batcher had. The documented limit is 60 status
   * requests/s per token across every service; the pacing is a burst guard, not what keeps the bot
   * under it: every batcher merges all guilds' ids into ceil(ids / 50) requests per poll beat (a beat
   * is seconds long), so with every service busy a beat costs one request per service up to 50
   * running generations each, far below the limit. A shared pacer would make one service's burst
   * delay another's status; a 429 is still backed off by the pollers with its Retry-After.
   */
  minRequestIntervalMs: number;
}

/** Options of one batcher. */
export interface StatusBatcherOptions extends StatusBatcherSettings {
  /** The service whose tasks endpoint this batcher asks; default `sora` (records from before the catalogue). */
  service?: ServiceId;
}

/** Where a poller finds the batcher of a service's tasks endpoint. */
export interface StatusBatcherSource {
  forService(service: ServiceId): StatusBatcher;
}

/**
 * Merges the status requests of every guild poller for one service into `retrieve_batch` calls of
 * at most `maxBatchSize` ids on that service's tasks endpoint, spaced at least `minRequestIntervalMs`
 * apart. A batcher is also a StatusBatcherSource: asked for another service, it creates (once) a
 * sibling batcher with the same settings, so one batcher handed to the pollers serves every service.
 */
export class StatusBatcher implements StatusBatcherSource {
  readonly service: ServiceId;
  private readonly maxBatchSize: number;
  private waiters: Waiter[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private nextRequestAtMs = 0;
  private pool: StatusBatchers | undefined;
  /** Requests sent so far (for tests and metrics). */
  requestsSent = 0;

  constructor(
    private readonly deps: StatusBatcherOptions,
    pool?: StatusBatchers,
  ) {
    this.service = deps.service ?? 'sora';
    this.maxBatchSize = Math.max(1, Math.min(deps.maxBatchSize, SERVICES[this.service].maxBatchIds));
    this.pool = pool;
  }

  /** This batcher for its own service; a sibling (same settings, created once) for another. */
  forService(service: ServiceId): StatusBatcher {
    if (service === this.service) return this;
    this.pool ??= new StatusBatchers(this.deps, this);
    return this.pool.forService(service);
  }

  /** Fetches the statuses of `providerTaskIds`; ids missing from the answer are absent from the map. */
  fetch(providerTaskIds: readonly string[]): Promise<Map<string, RemoteStatus> | StatusFetchError> {
    return new Promise((resolve) => {
      this.waiters.push({ ids: providerTaskIds, resolve });
      if (this.pendingIdCount() >= this.maxBatchSize) this.flushSoon(0);
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
    for (let i = 0; i < uniqueIds.length; i += this.maxBatchSize) {
      chunks.push(uniqueIds.slice(i, i + this.maxBatchSize));
    }
    await Promise.all(
      chunks.map(async (chunk) => {
        await this.takeRequestSlot();
        this.requestsSent++;
        let outcome: StatusBatchOutcome;
        try {
          outcome = await this.deps.api.retrieveBatch(this.service, chunk);
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

/**
 * One StatusBatcher per tasks endpoint (per ServiceId), created on first use with the shared
 * settings; what the composition root hands to the PollerRegistry.
 */
export class StatusBatchers implements StatusBatcherSource {
  private readonly batchers = new Map<ServiceId, StatusBatcher>();

  constructor(
    private readonly settings: StatusBatcherSettings,
    /** A batcher that already exists (a lone StatusBatcher asked for a sibling). */
    seed?: StatusBatcher,
  ) {
    if (seed) this.batchers.set(seed.service, seed);
  }

  /** The batcher of a service's tasks endpoint. */
  forService(service: ServiceId): StatusBatcher {
    let batcher = this.batchers.get(service);
    if (!batcher) {
      const { api, timers, maxBatchSize, gatherMs, minRequestIntervalMs } = this.settings;
      batcher = new StatusBatcher({ api, timers, maxBatchSize, gatherMs, minRequestIntervalMs, service }, this);
      this.batchers.set(service, batcher);
    }
    return batcher;
  }

  /** The services whose batcher exists, in creation order. */
  services(): ServiceId[] {
    return [...this.batchers.keys()];
  }

  /** Requests sent by every batcher so far. */
  get requestsSent(): number {
    let sent = 0;
    for (const batcher of this.batchers.values()) sent += batcher.requestsSent;
    return sent;
  }
}
