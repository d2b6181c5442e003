import { SERVICES, type ServiceId } from '../core/models/catalogue.js';
import type { RemoteStatus, StatusBatchOutcome, Timers, VideoApi } from '../core/ports.js';

// The budget window is kept 5 % (+5 ms) longer than asked, for uneven delays on the way to the provider.
const BUDGET_WINDOW_MARGIN = 1.05;

/** A failed status request, as every caller whose ids were in it sees it. */
export type StatusFetchError = Extract<StatusBatchOutcome, { kind: 'error' }>;

interface Waiter {
  ids: readonly string[];
  resolve(result: Map<string, RemoteStatus> | StatusFetchError): void;
}

/** Hears the status of a followed task that rode along in a request sent for others. */
export type UnaskedStatusListener = (status: RemoteStatus) => void;

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
  /**
   * The request budget of one tasks endpoint: at most ceil(followed / maxBatchSize) + 1 requests in
   * any window of this length (the poll interval). A full sweep of every followed task needs
   * ceil(followed / maxBatchSize); the one spare request is what the pollers spend on checking tasks
   * near their expected finish between two beats. Ids waiting for a request slot join the next
   * request, so asking more often never sends more. Absent: no budget (only the pacing above).
   */
  budgetWindowMs?: number;
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
  /** Start times of the last requests (at most the budget's count), oldest first. */
  private readonly recentStarts: Array<{ atMs: number }> = [];
  /** Followed ids, each with where a status it was not asked for goes (ids that ride along). */
  private readonly followed = new Map<string, UnaskedStatusListener | undefined>();
  private waitingForSlot = false;
  private riderCursor = 0;
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

  /**
   * Counts a provider task as followed on this endpoint (it sizes the request budget). With a
   * listener, the task also rides along in requests sent for other tasks while they have room, and
   * the listener hears each status it got that way.
   */
  track(providerTaskId: string, onUnaskedStatus?: UnaskedStatusListener): void {
    this.followed.set(providerTaskId, onUnaskedStatus);
  }

  /** The task is no longer followed. */
  untrack(providerTaskId: string): void {
    this.followed.delete(providerTaskId);
  }

  /**
   * Requests this endpoint may send per budget window (Infinity without a budget): one per
   * maxBatchSize followed tasks, plus one.
   */
  requestsPerWindow(pendingIds = 0): number {
    if (this.deps.budgetWindowMs === undefined) return Number.POSITIVE_INFINITY;
    return Math.ceil(Math.max(this.followed.size, pendingIds) / this.maxBatchSize) + 1;
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
    // One flush at a time waits for the budget; ids asked meanwhile join it instead of adding requests.
    if (this.waitingForSlot) return;
    this.waitingForSlot = true;
    try {
      await this.untilBudgetAllows();
    } finally {
      this.waitingForSlot = false;
    }
    const waiters = this.waiters;
    this.waiters = [];
    if (waiters.length === 0) return;
    const uniqueIds = [...new Set(waiters.flatMap((w) => w.ids))];
    const results = new Map<string, RemoteStatus>();
    const failures = new Map<string, StatusFetchError>();

    const chunks: string[][] = [];
    for (let i = 0; i < uniqueIds.length; i += this.maxBatchSize) {
      chunks.push(uniqueIds.slice(i, i + this.maxBatchSize));
    }
    const riders = this.ridersFor(chunks[chunks.length - 1]!, new Set(uniqueIds));
    await Promise.all(
      chunks.map(async (chunk) => {
        await this.takeRequestSlot(uniqueIds.length);
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

    for (const id of riders) {
      const status = results.get(id);
      if (status) this.followed.get(id)?.(status);
    }

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

  /**
   * Fills the room left in the last request with other followed tasks that listen (rotating, so each
   * gets its turn): a status costs nothing in a request that is sent anyway, and a finish is seen by
   * whichever request comes first. Never adds a request.
   */
  private ridersFor(lastChunk: string[], asked: ReadonlySet<string>): string[] {
    const room = this.maxBatchSize - lastChunk.length;
    if (room <= 0 || this.followed.size <= asked.size) return [];
    const candidates: string[] = [];
    for (const [id, listener] of this.followed) if (listener && !asked.has(id)) candidates.push(id);
    if (candidates.length === 0) return [];
    const start = this.riderCursor % candidates.length;
    const riders = [...candidates.slice(start), ...candidates.slice(0, start)].slice(0, room);
    this.riderCursor = start + riders.length;
    lastChunk.push(...riders);
    return riders;
  }

  /** Waits until the budget window has room for one more request. */
  private async untilBudgetAllows(): Promise<void> {
    for (;;) {
      const waitMs = this.budgetFreeAtMs(this.pendingIdCount()) - Date.now();
      if (waitMs <= 0) return;
      await new Promise<void>((resolve) => this.deps.timers.setTimeout(resolve, waitMs));
    }
  }

  /** When the window of the last requests lets one more start (0: now). */
  private budgetFreeAtMs(pendingIds: number): number {
    const windowMs = this.deps.budgetWindowMs;
    if (windowMs === undefined) return 0;
    const allowed = this.requestsPerWindow(pendingIds);
    const starts = this.recentStarts;
    // A little more than the window: uneven network delays must not make two requests arrive closer.
    return starts.length >= allowed ? starts[starts.length - allowed]!.atMs + windowMs * BUDGET_WINDOW_MARGIN + 5 : 0;
  }

  private async takeRequestSlot(pendingIds: number): Promise<void> {
    const nowMs = Date.now();
    // A sweep of more than one request may use the whole budget at once: its chunks are spaced by
    // the pacing only, each still counted in the window.
    const startAtMs = Math.max(nowMs, this.nextRequestAtMs, this.budgetFreeAtMs(pendingIds));
    this.nextRequestAtMs = startAtMs + this.deps.minRequestIntervalMs;
    const start = { atMs: startAtMs };
    this.recentStarts.push(start);
    const allowed = this.requestsPerWindow(pendingIds);
    const keep = Number.isFinite(allowed) ? allowed : 0;
    if (this.recentStarts.length > keep) this.recentStarts.splice(0, this.recentStarts.length - keep);
    if (startAtMs > nowMs) {
      await new Promise<void>((resolve) => this.deps.timers.setTimeout(resolve, startAtMs - nowMs));
    }
    // A timer that fired late under load: the window counts from when the request really left.
    start.atMs = Math.max(start.atMs, Date.now());
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
      batcher = new StatusBatcher({ ...this.settings, service }, this);
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
