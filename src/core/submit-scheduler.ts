import type { CircuitBreaker } from './circuit-breaker.js';
import type { ModelAvailability } from './model-availability.js';
import type {
  Clock,
  DeliveryBlockedReason,
  DeliveryCheck,
  DeliveryCheckResult,
  Logger,
  ProgressReporter,
  SlotCandidate,
  SlotPool,
  SubmitOutcome,
  TaskStore,
  Timers,
  VideoApi,
} from './ports.js';
import { InvalidTransitionError, transition, type Task } from './task.js';

/** Limits the scheduler enforces. */
export interface SubmitLimits {
  /** Generations running at once on the account (the provider allows about 5 per token). */
  maxActiveGenerations: number;
  /** Generations running at once per guild, so one server cannot take every slot. */
  guildMaxActiveGenerations: number;
  /** Minimum gap between two submits (the provider allows about 0.5 submits/s). */
  submitMinIntervalMs: number;
}

/** The queue as {@link SubmitScheduler.queueView} shows it. */
export interface QueueView {
  running: { taskId: string; guildId: string }[];
  /** In service order (position = index + 1). */
  waiting: { taskId: string; guildId: string }[];
  limits: SubmitLimits & { concurrencyOf(guildId: string): number };
  /** Slots are shared with other processes: this view sees only this process's part of the account. */
  shared: boolean;
}

/** What the scheduler tells the rest of the core. */
export interface SubmitSchedulerEvents {
  /** The provider accepted the task: start following it. */
  onSubmitted(task: Task): void;
  /** The task ended without a generation (rejected or uncertain submit): publish its outcome. */
  onFinishedWithoutGeneration(task: Task): void;
  /** The account failed (invalid_token, used_up…); `firstTime` is true once per trip. */
  onAccountProblem(code: string, message: string, firstTime: boolean): void;
  /** Ace Data Cloud said a model (or its service) is not served; `firstTime` once per cool-down. */
  onModelUnavailable?(task: Task, code: string, firstTime: boolean): void;
}

/**
 * The outcome code of a waiting task ended unsubmitted because its result could not have been posted
 * (server left, channel deleted, permission removed); the task is `cancelled`, so it costs no quota.
 */
export const DELIVERY_BLOCKED_CODE = 'delivery_blocked';

/** The outcome code of a task ended because its model is not served (rendered with a switch button). */
export const MODEL_UNAVAILABLE_CODE = 'model_unavailable';

const DEFAULT_RATE_LIMIT_PAUSE_MS = 5_000;
// When the shared slot pool cannot be asked (Redis down), try again after this long.
const SLOT_POOL_RETRY_MS = 1_000;

/**
 * The queue in front of the provider: a global cap on running generations, a per-guild cap,
 * round-robin across guilds and across the members of a guild, submit pacing and the circuit breaker.
 * The store is the source of truth; this class keeps the in-memory order and slot counts. With a
 * shared slot pool (several processes), the cap, pacing and guild round-robin are account-wide.
 */
export class SubmitScheduler {
  private readonly queues = new Map<string, string[]>();
  private readonly guildRing: string[] = [];
  private ringCursor = 0;
  private readonly running = new Map<string, string>();
  /** Each queued task's guild, member (for round-robin inside a guild) and createdAt (to requeue in order). */
  private readonly waiting = new Map<string, WaitingEntry>();
  /** When each member of a guild was last served (a counter, not a clock). */
  private readonly servedAt = new Map<string, Map<string, number>>();
  private serveCount = 0;
  private lastSubmitAtMs = Number.NEGATIVE_INFINITY;
  private pausedUntilMs = 0;
  private pumping = false;
  private pumpRequested = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private stopped = false;
  /** A slot is being asked of the shared pool; one question at a time keeps the order. */
  private takingSharedSlot = false;
  /** This process's guilds are in the shared round-robin (it offered candidates and did not withdraw). */
  private offeredShared = false;
  /**
   * When the pool said to ask again (full, paced or another guild's turn). Until then an enqueue does
   * not ask: during a burst every command would otherwise send its own offer of every guild.
   */
  private sharedRetryAtMs = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      store: TaskStore;
      api: VideoApi;
      clock: Clock;
      timers: Timers;
      breaker: CircuitBreaker;
      progress: ProgressReporter;
      logger: Logger;
      limits: SubmitLimits;
      events: SubmitSchedulerEvents;
      /** When the bot is reachable from the provider: per-task callback URLs (docs/architecture.md §4: polling stays on too). */
      callbacks?: { newSecret(): string; urlFor(taskId: string, secret: string): string };
      /** The last look before a submit: a task whose result could not be posted ends unsubmitted. */
      deliveryCheck?: DeliveryCheck;
      /** Models Ace Data Cloud said it does not serve: their tasks end unsubmitted. */
      availability?: ModelAvailability;
      /** A guild's own cap on running generations (its settings); synchronous, asked on every pick. */
      guildMaxActiveGenerationsOf?: (guildId: string) => number | undefined;
      /**
       * Several processes on one Redis: the shared pool then decides the account's cap, the submit
       * pacing and whose turn it is across processes; per-guild caps and member order stay local.
       */
      slots?: SlotPool;
    },
  ) {
    deps.slots?.onFreed(() => {
      this.sharedRetryAtMs = 0;
      this.pump();
    });
  }

  /**
   * Rebuilds the in-memory view from the ledger (tasks oldest first) at boot or when guilds are taken
   * over; a task already known is skipped. With shared slots, the `adoptedGuilds`' slots are reconciled
   * with their running tasks first (same connection, so before any later take).
   */
  load(tasks: readonly Task[], adoptedGuilds?: Iterable<string>): void {
    if (this.deps.slots && adoptedGuilds) {
      for (const guildId of adoptedGuilds) {
        const runningIds = tasks.filter((t) => t.guildId === guildId && t.state === 'submitted').map((t) => t.id);
        this.deps.slots
          .reconcile(guildId, runningIds)
          .catch((err: unknown) => this.deps.logger.warn({ err, guildId }, 'could not reconcile shared slots'));
      }
    }
    for (const task of tasks) {
      if (task.state === 'queued') this.pushBack(task);
      else if (task.state === 'submitted') this.running.set(task.id, task.guildId);
    }
  }

  /** Adds a stored `queued` task (again: no-op); returns its 1-based queue position. */
  enqueue(task: Task): number {
    this.pushBack(task);
    const position = this.positionOf(task.id) ?? 1;
    this.pump();
    return position;
  }

  /** Frees the slot a task held (it finished, failed or timed out). */
  release(taskId: string): void {
    if (this.freeSlot(taskId)) this.pump();
  }

  /**
   * Drops a guild another process took over: its queue and slot counts leave this process without
   * touching the shared slots (the new owner holds them now).
   */
  forgetGuild(guildId: string): void {
    for (const id of this.queues.get(guildId) ?? []) this.waiting.delete(id);
    this.dropGuild(guildId);
    this.servedAt.delete(guildId);
    for (const [taskId, owner] of this.running) if (owner === guildId) this.running.delete(taskId);
  }

  /** Removes a queued task (cancel); returns false when it is not waiting. */
  dequeue(taskId: string, guildId: string): boolean {
    const queue = this.queues.get(guildId);
    const index = queue?.indexOf(taskId) ?? -1;
    if (!queue || index < 0) return false;
    queue.splice(index, 1);
    this.waiting.delete(taskId);
    if (queue.length === 0) this.dropGuild(guildId);
    return true;
  }

  /**
   * 1-based position in service order: round-robin from the guild whose turn is next, members
   * round-robin inside a guild (per-guild caps are not foreseen). Counted, not walked: every command
   * asks for its position, and walking a queue of 10 000 for each took a fifth of the bot's CPU.
   */
  positionOf(taskId: string): number | undefined {
    const guildId = this.waiting.get(taskId)?.guildId;
    if (guildId === undefined) return undefined;
    const round = this.orderWithinGuild(guildId).indexOf(taskId);
    const ring = this.guildRing;
    const step = (ring.indexOf(guildId) - this.ringCursor + ring.length) % ring.length;
    // Every task of an earlier round, then the guilds before this one in this round.
    let position = 1;
    ring.forEach((other, index) => {
      const length = this.queues.get(other)?.length ?? 0;
      position += Math.min(length, round);
      if (length > round && (index - this.ringCursor + ring.length) % ring.length < step) position++;
    });
    return position;
  }

  /** Every waiting task's position (as `positionOf`), computed in one pass over the queues. */
  positions(): Map<string, number> {
    return new Map(this.serviceOrder());
  }

  /** Waiting tasks in the order they will be served, with their 1-based positions. */
  private *serviceOrder(): Generator<[string, number]> {
    const ring = this.guildRing;
    const orders = ring.map((_, step) => this.orderWithinGuild(ring[(this.ringCursor + step) % ring.length]!));
    let position = 0;
    for (let round = 0; ; round++) {
      let anyLeft = false;
      for (let step = 0; step < ring.length; step++) {
        const queue = orders[step]!;
        if (round >= queue.length) continue;
        anyLeft = true;
        yield [queue[round]!, ++position];
      }
      if (!anyLeft) return;
    }
  }

  /** A read-only view of the queue for estimates: who holds a slot, who waits (in service order), the caps. */
  queueView(): QueueView {
    return {
      running: [...this.running].map(([taskId, guildId]) => ({ taskId, guildId })),
      waiting: [...this.serviceOrder()].map(([taskId]) => ({ taskId, guildId: this.waiting.get(taskId)!.guildId })),
      limits: { ...this.deps.limits, concurrencyOf: (guildId) => this.concurrencyOf(guildId) },
      shared: this.deps.slots !== undefined,
    };
  }

  /** Number of tasks waiting for a slot. */
  queuedCount(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.length;
    return count;
  }

  /** Number of generations holding a slot. */
  runningCount(): number {
    return this.running.size;
  }

  /** Stops submitting and waits for submits already sent to be recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Other processes must not wait for this one's turn until its offer goes stale.
    this.withdrawShared();
    if (this.wakeTimer) this.deps.timers.clearTimeout(this.wakeTimer);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Submits as many queued tasks as the limits allow right now; safe to call any time. */
  pump(): void {
    if (this.pumping) {
      this.pumpRequested = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpRequested = false;
        this.submitWhatFits();
      } while (this.pumpRequested);
    } finally {
      this.pumping = false;
    }
  }

  private submitWhatFits(): void {
    const { breaker, clock, limits } = this.deps;
    while (!this.stopped && !this.takingSharedSlot) {
      if (this.queuedCount() === 0) return this.withdrawShared();
      if (breaker.isOpen()) {
        this.withdrawShared();
        return this.wakeIn(breaker.msUntilClose());
      }
      if (this.deps.slots) {
        // The shared pool decides the cap, the pacing (429 pauses included) and whose turn it is.
        const retryInMs = this.sharedRetryAtMs - clock.now().getTime();
        if (retryInMs > 0) return this.wakeIn(retryInMs);
        const candidates = this.candidates();
        if (candidates.length === 0) return this.withdrawShared();
        return this.askSharedSlot(candidates);
      }
      if (this.running.size >= limits.maxActiveGenerations) return;
      const nowMs = clock.now().getTime();
      const waitMs = Math.max(this.pausedUntilMs, this.lastSubmitAtMs + limits.submitMinIntervalMs) - nowMs;
      if (waitMs > 0) return this.wakeIn(waitMs);

      const [next] = this.candidates(1);
      if (!next) return;
      this.startSubmit(next);
    }
  }

  /** Takes `next` out of the queue, holds its slot and sends it. */
  private startSubmit(next: SlotCandidate): void {
    this.takeOutOfQueue(next.taskId, next.guildId);
    this.running.set(next.taskId, next.guildId);
    this.lastSubmitAtMs = this.deps.clock.now().getTime();
    const work = this.submitOne(next.taskId, next.guildId).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  /**
   * Offers the next task of every guild that may submit to the shared pool, which takes a slot for
   * the one whose turn it is account-wide; the queue may change meanwhile, so it is checked again after.
   */
  private askSharedSlot(candidates: readonly SlotCandidate[]): void {
    this.takingSharedSlot = true;
    this.offeredShared = true;
    const work = this.deps
      .slots!.tryTake(candidates)
      .then(
        (answer) => {
          this.takingSharedSlot = false;
          if (!answer.taken) {
            this.sharedRetryAtMs = this.deps.clock.now().getTime() + answer.retryInMs;
            return this.wakeIn(answer.retryInMs);
          }
          if (this.stopped || !this.waiting.has(answer.taskId)) {
            // Cancelled, forgotten or shutting down while we asked: the slot goes back.
            this.releaseShared(answer.taskId);
          } else {
            this.startSubmit(answer);
          }
          this.pump();
        },
        (err: unknown) => {
          this.takingSharedSlot = false;
          this.deps.logger.warn({ err }, 'could not ask the shared slot pool; trying again');
          this.wakeIn(SLOT_POOL_RETRY_MS);
        },
      )
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  /** Nothing to offer: this process's guilds leave the account-wide round-robin until they have. */
  private withdrawShared(): void {
    if (!this.offeredShared) return;
    this.offeredShared = false;
    this.deps.slots?.withdraw().catch((err: unknown) => this.deps.logger.warn({ err }, 'could not withdraw from the shared queue'));
  }

  /**
   * The next task of each guild under its cap (at most `limit`), in this process's round-robin order
   * over guilds, each guild's task chosen round-robin over its members.
   */
  private candidates(limit = Number.POSITIVE_INFINITY): SlotCandidate[] {
    const ringSize = this.guildRing.length;
    const candidates: SlotCandidate[] = [];
    for (let step = 0; step < ringSize && candidates.length < limit; step++) {
      const guildId = this.guildRing[(this.ringCursor + step) % ringSize]!;
      const queue = this.queues.get(guildId);
      if (!queue?.length || this.runningIn(guildId) >= this.concurrencyOf(guildId)) continue;
      candidates.push({ guildId, taskId: this.orderWithinGuild(guildId)[0]! });
    }
    return candidates;
  }

  private takeOutOfQueue(taskId: string, guildId: string): void {
    const queue = this.queues.get(guildId);
    if (!queue) return;
    queue.splice(queue.indexOf(taskId), 1);
    const userId = this.waiting.get(taskId)?.userId ?? '';
    this.waiting.delete(taskId);
    let served = this.servedAt.get(guildId);
    if (!served) this.servedAt.set(guildId, (served = new Map<string, number>()));
    served.set(userId, ++this.serveCount);
    const index = this.guildRing.indexOf(guildId);
    this.ringCursor = (index + 1) % this.guildRing.length;
    if (queue.length === 0) this.dropGuild(guildId);
  }

  /** Forgets a task's slot here and in the shared pool; false when it held none. */
  private freeSlot(taskId: string): boolean {
    if (!this.running.delete(taskId)) return false;
    this.releaseShared(taskId);
    return true;
  }

  private releaseShared(taskId: string): void {
    // A failed release leaks one slot until the guild is next taken over (reconciled at adoption).
    this.deps.slots?.release(taskId).catch((err: unknown) => this.deps.logger.warn({ err, taskId }, 'could not release a shared slot'));
  }

  private async submitOne(taskId: string, guildId: string): Promise<void> {
    const { store, api, clock, progress } = this.deps;
    const log = this.deps.logger.child({ taskId, guildId });
    let task: Task;
    let blocked: BlockedVerdict | undefined;
    try {
      // Written before the POST: after a crash a `submitting` task is never sent again (docs/crash-outcomes.md).
      task = await store.update(taskId, (t) => {
        blocked = undefined;
        if (this.deps.availability?.isUnavailable(t.request.model)) return endedUnavailable(t, clock.now());
        // Asked at the last moment (cache only, no I/O): the channel may have gone while it waited.
        const verdict = t.state === 'queued' ? this.deps.deliveryCheck?.check(t) : undefined;
        if (verdict && !verdict.ok) {
          blocked = verdict;
          return endedBlocked(t, verdict.reason, clock.now());
        }
        return transition(t, 'submitting', clock.now(), {
          submitAttempts: t.submitAttempts + 1,
          // The secret is stored before the POST, so a callback after a restart can still be verified.
          ...(this.deps.callbacks && !t.callbackSecret ? { callbackSecret: this.deps.callbacks.newSecret() } : {}),
        });
      });
    } catch (err) {
      this.freeSlot(taskId);
      if (err instanceof InvalidTransitionError) log.info({ state: err.from }, 'task left the queue before submit');
      else log.error({ err }, 'could not mark task submitting; left for the next boot');
      this.pump();
      return;
    }

    if (task.state === 'cancelled' && blocked) {
      this.freeSlot(taskId);
      log.info({ reason: blocked.reason, permissions: blocked.permissions }, 'result could not be posted; task ended without submit');
      void progress.report(task, blockedView(blocked));
      this.pump();
      return;
    }
    if (task.state === 'failed') {
      // Its model stopped being served while it waited: nothing was sent, nothing is billed.
      this.freeSlot(taskId);
      log.info({ model: task.request.model }, 'model not served; task ended without submit');
      this.deps.events.onFinishedWithoutGeneration(task);
      this.pump();
      return;
    }
    log.info({ attempt: task.submitAttempts, model: task.request.model }, 'submitting');
    void progress.report(task, { kind: 'generating', elapsedMs: 0 });
    let outcome: SubmitOutcome;
    // The provider's clock starts between our send and its answer: from the send, a generation's
    // learned time does not carry the answer's and the store's delays (they vary under load).
    const sentAt = this.deps.clock.now();
    try {
      const callbackUrl = this.deps.callbacks && task.callbackSecret ? this.deps.callbacks.urlFor(task.id, task.callbackSecret) : undefined;
      outcome = await api.submit(task.request, callbackUrl ? { callbackUrl } : undefined);
    } catch (err) {
      // The VideoApi returns values; a throw here is a bug, and the POST may have gone out.
      log.error({ err }, 'submit threw');
      outcome = { kind: 'uncertain', code: 'internal_error', message: 'The request could not be confirmed.' };
    }

    try {
      await this.applySubmitOutcome(task, outcome, log, sentAt);
    } catch (err) {
      this.freeSlot(taskId);
      log.error({ err, outcome }, 'could not record the submit outcome');
    }
    this.pump();
  }

  private async applySubmitOutcome(task: Task, outcome: SubmitOutcome, log: Logger, sentAt: Date): Promise<void> {
    const { store, clock, progress, events, breaker } = this.deps;
    switch (outcome.kind) {
      case 'accepted': {
        const submitted = await store.update(task.id, (t) =>
          transition(t, 'submitted', clock.now(), {
            providerTaskId: outcome.providerTaskId,
            submittedAt: sentAt.toISOString(),
          }),
        );
        this.deps.availability?.markAnswered(task.request.model);
        log.info({ providerTaskId: outcome.providerTaskId }, 'submitted');
        events.onSubmitted(submitted);
        return;
      }
      case 'rate_limited': {
        await this.requeue(task);
        const pauseMs = outcome.retryAfterMs ?? DEFAULT_RATE_LIMIT_PAUSE_MS;
        this.pausedUntilMs = clock.now().getTime() + pauseMs;
        // The whole account is busy, not just this process: the other processes hold their submits too.
        this.deps.slots?.pause(pauseMs).catch((err: unknown) => log.warn({ err }, 'could not share the rate-limit pause'));
        log.warn({ retryAfterMs: outcome.retryAfterMs }, 'provider busy (429); task back in the queue');
        void progress.report(task, { kind: 'queued', position: this.positionOf(task.id) ?? 1, providerBusy: true });
        this.wakeIn(this.pausedUntilMs - clock.now().getTime());
        return;
      }
      case 'account_problem': {
        await this.requeue(task);
        const firstTime = breaker.open(outcome.code, outcome.message);
        events.onAccountProblem(outcome.code, outcome.message, firstTime);
        void progress.report(task, { kind: 'account_problem' });
        return;
      }
      case 'model_unavailable': {
        const firstTime = this.deps.availability?.markUnavailable(task.request.model, outcome.scope, outcome.code) ?? true;
        const failed = await store.update(task.id, (t) =>
          transition(t, 'failed', clock.now(), {
            outcome: { kind: 'failed', code: MODEL_UNAVAILABLE_CODE, message: outcome.message },
            finishedAt: clock.now().toISOString(),
          }),
        );
        this.freeSlot(task.id);
        log.warn({ code: outcome.code, scope: outcome.scope, model: task.request.model, firstTime }, 'model not served by Ace Data Cloud');
        events.onModelUnavailable?.(failed, outcome.code, firstTime);
        events.onFinishedWithoutGeneration(failed);
        await this.endQueuedOfUnavailableModels();
        return;
      }
      case 'rejected':
      case 'uncertain': {
        // Uncertain: it was not sent again, so the member is not charged twice (the Discord layer says so).
        const failure =
          outcome.kind === 'rejected'
            ? { message: outcome.message }
            : { message: '', reason: { code: 'submit_unconfirmed' as const, params: { code: outcome.code } } };
        const failed = await store.update(task.id, (t) =>
          transition(t, 'failed', clock.now(), {
            outcome: { kind: 'failed', code: outcome.code, ...failure },
            finishedAt: clock.now().toISOString(),
          }),
        );
        this.freeSlot(task.id);
        log.warn({ code: outcome.code, kind: outcome.kind }, 'submit failed');
        events.onFinishedWithoutGeneration(failed);
        return;
      }
    }
  }

  /**
   * Ends every waiting task whose model is not served now, without a submit: their members are told
   * at once instead of when their turn comes (which, behind a long queue, could be much later).
   */
  private async endQueuedOfUnavailableModels(): Promise<void> {
    const availability = this.deps.availability;
    if (!availability) return;
    const doomed = [...this.waiting].filter(([, entry]) => availability.isUnavailable(entry.model));
    for (const [taskId, entry] of doomed) {
      if (!this.dequeue(taskId, entry.guildId)) continue;
      try {
        const ended = await this.deps.store.update(taskId, (t) => endedUnavailable(t, this.deps.clock.now()));
        this.deps.events.onFinishedWithoutGeneration(ended);
      } catch (err) {
        // Cancelled meanwhile (no longer queued) or a store error: the next boot sees it as it is.
        this.deps.logger.warn({ err, taskId }, 'could not end a task of an unserved model');
      }
    }
  }

  /**
   * Runs the delivery check again for every task of `guildId` waiting in the queue (the bot left the
   * server, a channel went, a permission changed): those whose result could not be posted end now,
   * unsubmitted, and their members are told. Returns how many ended.
   */
  async recheckGuild(guildId: string): Promise<number> {
    const check = this.deps.deliveryCheck;
    if (!check) return 0;
    const doomed: [string, BlockedVerdict][] = [];
    // Only this guild's queue is walked: a busy server's channel edits must not scan every queue.
    for (const taskId of this.queues.get(guildId) ?? []) {
      const entry = this.waiting.get(taskId);
      const verdict = entry ? check.check(entry) : { ok: true as const };
      if (!verdict.ok) doomed.push([taskId, verdict]);
    }
    let ended = 0;
    for (const [taskId, verdict] of doomed) {
      if (!this.dequeue(taskId, guildId)) continue;
      try {
        const task = await this.deps.store.update(taskId, (t) => endedBlocked(t, verdict.reason, this.deps.clock.now()));
        ended++;
        this.deps.logger.info(
          { taskId, guildId, reason: verdict.reason, permissions: verdict.permissions },
          'result could not be posted; waiting task ended',
        );
        void this.deps.progress.report(task, blockedView(verdict));
      } catch (err) {
        // Cancelled meanwhile (no longer queued) or a store error: the next boot sees it as it is.
        this.deps.logger.warn({ err, taskId }, 'could not end a waiting task whose result could not be posted');
      }
    }
    if (ended > 0) this.pump();
    return ended;
  }

  /**
   * `recheckGuild` for every guild with waiting tasks: after a restart, a server that removed the bot
   * (or a channel deleted) while it was down ends its waiting tasks now, not when their turn comes.
   */
  async recheckAll(): Promise<number> {
    let ended = 0;
    for (const guildId of [...this.queues.keys()]) ended += await this.recheckGuild(guildId);
    return ended;
  }

  /** A submit the provider surely did not accept goes back to the head of its guild's queue. */
  private async requeue(task: Task): Promise<void> {
    await this.deps.store.update(task.id, (t) => transition(t, 'queued', this.deps.clock.now()));
    this.freeSlot(task.id);
    // Its member's turn was not used: the provider did not take the job.
    this.servedAt.get(task.guildId)?.delete(task.userId);
    const queue = this.queues.get(task.guildId);
    if (!queue) return this.pushBack(task);
    // Back in its original place: several 429s in a row must not reverse the guild's FIFO order.
    const index = queue.findIndex((id) => (this.waiting.get(id)?.createdAt ?? '') >= task.createdAt);
    queue.splice(index < 0 ? queue.length : index, 0, task.id);
    this.waiting.set(task.id, waitingEntry(task));
  }

  /**
   * A guild's waiting tasks in service order: round-robin over its members, the member served least
   * recently first, FIFO for each member — one member's burst cannot starve the rest of the server.
   */
  private orderWithinGuild(guildId: string): readonly string[] {
    const queue = this.queues.get(guildId) ?? [];
    // One member waiting (most guilds, most of the time): FIFO is the order. Walked per guild for
    // every estimate and refresh, so the common case allocates nothing.
    const firstMember = this.waiting.get(queue[0] ?? '')?.userId;
    if (queue.every((id) => this.waiting.get(id)?.userId === firstMember)) return queue;
    const byMember = new Map<string, string[]>();
    for (const id of queue) {
      const userId = this.waiting.get(id)?.userId ?? '';
      const tasks = byMember.get(userId);
      if (tasks) tasks.push(id);
      else byMember.set(userId, [id]);
    }
    const served = this.servedAt.get(guildId);
    // Stable sort: members never served keep their order of arrival.
    const members = [...byMember.keys()].sort((a, b) => (served?.get(a) ?? 0) - (served?.get(b) ?? 0));
    const order: string[] = [];
    for (let round = 0; order.length < queue.length; round++) {
      for (const member of members) {
        const id = byMember.get(member)![round];
        if (id !== undefined) order.push(id);
      }
    }
    return order;
  }

  private pushBack(task: Task): void {
    const { guildId, id: taskId } = task;
    if (this.waiting.has(taskId) || this.running.has(taskId)) return;
    this.waiting.set(taskId, waitingEntry(task));
    let queue = this.queues.get(guildId);
    if (!queue) {
      queue = [];
      this.queues.set(guildId, queue);
      this.guildRing.push(guildId);
    }
    queue.push(taskId);
  }

  private dropGuild(guildId: string): void {
    this.queues.delete(guildId);
    const index = this.guildRing.indexOf(guildId);
    if (index < 0) return;
    this.guildRing.splice(index, 1);
    if (this.ringCursor > index) this.ringCursor--;
    if (this.ringCursor >= this.guildRing.length) this.ringCursor = 0;
  }

  private concurrencyOf(guildId: string): number {
    return this.deps.guildMaxActiveGenerationsOf?.(guildId) ?? this.deps.limits.guildMaxActiveGenerations;
  }

  private runningIn(guildId: string): number {
    let count = 0;
    for (const owner of this.running.values()) if (owner === guildId) count++;
    return count;
  }

  private wakeIn(ms: number): void {
    const wakeAtMs = this.deps.clock.now().getTime() + Math.max(ms, 0);
    if (this.wakeTimer && this.wakeAtMs <= wakeAtMs) return;
    if (this.wakeTimer) this.deps.timers.clearTimeout(this.wakeTimer);
    this.wakeAtMs = wakeAtMs;
    this.wakeTimer = this.deps.timers.setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAtMs = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(ms, 0),
    );
  }
}

/** A queued task whose model is not served, ended without a submit (it costs nothing). */
function endedUnavailable(task: Task, now: Date): Task {
  return transition(task, 'failed', now, {
    // Worded by the Discord layer from the code (with the model's name).
    outcome: { kind: 'failed', code: MODEL_UNAVAILABLE_CODE, message: '' },
    finishedAt: now.toISOString(),
  });
}

/** A delivery check's "no": why the result could not be posted. */
type BlockedVerdict = Extract<DeliveryCheckResult, { ok: false }>;

/** What the scheduler keeps of a waiting task: its guild, member, age, model and channel. */
interface WaitingEntry {
  guildId: string;
  channelId: string;
  createdAt: string;
  userId: string;
  model: string;
}

function waitingEntry(task: Task): WaitingEntry {
  return { guildId: task.guildId, channelId: task.channelId, createdAt: task.createdAt, userId: task.userId, model: task.request.model };
}

const BLOCKED_MESSAGES: Record<DeliveryBlockedReason, string> = {
  guild_gone: 'The bot is no longer in this server.',
  channel_gone: 'The channel it was asked in no longer exists.',
  missing_permissions: 'The bot may no longer post its result in that channel.',
};

/**
 * A waiting task whose result could not be posted, ended without a submit: `cancelled` (it costs no
 * quota or budget, nothing publishes it) with the reason kept for `/sora status` and history.
 */
function endedBlocked(task: Task, reason: DeliveryBlockedReason, now: Date): Task {
  return transition(task, 'cancelled', now, {
    outcome: { kind: 'failed', code: DELIVERY_BLOCKED_CODE, message: BLOCKED_MESSAGES[reason] },
    undeliverableReason: reason,
    finishedAt: now.toISOString(),
  });
}

function blockedView(verdict: BlockedVerdict) {
  return {
    kind: 'delivery_blocked' as const,
    reason: verdict.reason,
    ...(verdict.permissions ? { permissions: verdict.permissions } : {}),
  };
}
