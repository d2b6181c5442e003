import { decide, type FollowRules } from '../core/decide.js';
import { findModel, type ServiceId } from '../core/models/catalogue.js';
import type { Clock, Logger, RemoteStatus, TaskStore, Timers } from '../core/ports.js';
import { InvalidTransitionError, transition, type Task } from '../core/task.js';
import { cadenceKey, nextCheckDelayMs, type CadenceOptions, type GenerationTimeEstimator } from './poll-cadence.js';
import type { StatusBatcherSource, StatusFetchError } from './status-batcher.js';

/** How often tasks are checked. */
export interface PollSchedule extends FollowRules {
  pollIntervalMs: number;
  /** Adaptive cadence (seldom early, often near the expected finish); absent: every pollIntervalMs. */
  cadence?: CadenceOptions;
  /** Check interval for a task past the give-up time (the slow check for a late result). */
  slowPollIntervalMs: number;
  /** Cap of the backoff after failed status requests. */
  maxBackoffMs: number;
}

/** What a poller reports back to the composition root. */
export interface PollerEvents {
  /** The task left `submitted`: it succeeded, failed or timed out. Free its slot and publish it. */
  onOutcome(task: Task): void;
  /** The task is still running after a check (progress updates). */
  onStillRunning?(task: Task): void;
}

/**
 * The service whose tasks endpoint knows a task: its model's service; a model missing from the
 * catalogue is a record from before it (every such record is Sora's).
 */
export function serviceIdOfTask(task: Task): ServiceId {
  return findModel(task.request.model)?.service ?? 'sora';
}

// A probe of a steady span's end lands this long after it, so the provider has surely recorded it;
// a span narrower than twice this is not bisected further.
const PREDICTED_FINISH_MARGIN_MS = 15;

// A narrow span's probe lands this long after its lower end (the latest time a recent generation
// was seen still running; the finish carries less jitter than this on a steady model).
const NARROW_SPAN_PROBE_AFTER_MS = 3;
// How much lower a steady span's lower end is carried by each finish its probe saw (see carriedLowerEnd).
const CARRIED_LOWER_END_DECAY = 0.002;

/**
 * The clock's multiple of `intervalMs` nearest to `atMs`: every task and every guild's poller checks
 * on the same beat, so the shared batcher can merge their ids into one request.
 */
function onBeat(atMs: number, intervalMs: number): number {
  return Math.round(atMs / intervalMs) * intervalMs;
}

/**
 * Follows one guild's submitted tasks on a self-rescheduling timer (never overlapping passes).
 * Each task has its own next-check time; a pass asks the shared batcher of each task's service
 * (grouped by `serviceIdOfTask`) for the due ones only. Failed requests back off per service.
 */
export class GuildPoller {
  private readonly followed = new Map<string, Task>();
  private readonly nextCheckAtMs = new Map<string, number>();
  /** When a check last saw the task still pending (brackets its finish for the estimator). */
  private readonly lastPendingAtMs = new Map<string, number>();
  /** Tasks whose status is being applied (by a check or a ride-along): one at a time per task. */
  private readonly applying = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private passRunning = false;
  private readonly consecutiveFailures = new Map<ServiceId, number>();
  private stopped = false;
  private readonly log: Logger;

  constructor(
    readonly guildId: string,
    private readonly deps: {
      store: TaskStore;
      /** The batchers of the services' tasks endpoints (a StatusBatchers, or one StatusBatcher that makes its siblings). */
      batcher: StatusBatcherSource;
      clock: Clock;
      timers: Timers;
      logger: Logger;
      schedule: PollSchedule;
      events: PollerEvents;
      /** Shared by every guild's poller: generation times learned from finished tasks. */
      estimator?: GenerationTimeEstimator;
      onEmpty(guildId: string): void;
    },
  ) {
    this.log = deps.logger.child({ component: 'poller', guildId });
  }

  /** Starts (or keeps) following a `submitted` or `timed_out` task. */
  follow(task: Task, firstCheckInMs?: number): void {
    if (this.stopped || !task.providerTaskId) return;
    this.followed.set(task.id, task);
    this.batcherOf(task).track(task.providerTaskId, (status) => this.onUnaskedStatus(task.id, status));
    const nowMs = this.nowMs();
    const atMs =
      firstCheckInMs === undefined
        ? this.atPredictedFinish(task, nowMs, onBeat(nowMs + this.delayFor(task), this.beatFor(task)))
        : onBeat(nowMs + firstCheckInMs, this.beatFor(task));
    this.nextCheckAtMs.set(task.id, atMs);
    this.scheduleNext();
  }

  /** Stops following a task (it finished through a provider callback). */
  unfollow(taskId: string): void {
    this.forget(taskId);
  }

  /** Number of tasks followed. */
  get size(): number {
    return this.followed.size;
  }

  /** Stops the timer; a pass in flight finishes on its own. */
  stop(): void {
    this.stopped = true;
    for (const task of this.followed.values()) this.batcherOf(task).untrack(task.providerTaskId!);
    if (this.timer) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async pass(): Promise<void> {
    if (this.passRunning || this.stopped) return;
    this.passRunning = true;
    try {
      const nowMs = this.nowMs();
      const due = [...this.followed.values()].filter((t) => (this.nextCheckAtMs.get(t.id) ?? 0) <= nowMs && !this.applying.has(t.id));
      if (due.length > 0) await this.check(due);
    } catch (err) {
      this.log.error({ err }, 'poll pass failed');
    } finally {
      this.passRunning = false;
    }
    if (this.followed.size === 0) {
      this.stop();
      this.deps.onEmpty(this.guildId);
      return;
    }
    this.scheduleNext();
  }

  /**
   * A status heard while the task rode along in another request: a finish is applied at once (its
   * slot is freed a check sooner); "still running" only moves the lower end of its finish bracket.
   */
  private onUnaskedStatus(taskId: string, status: RemoteStatus): void {
    const task = this.followed.get(taskId);
    if (!task || this.stopped || this.applying.has(taskId)) return;
    if (status.kind === 'pending') {
      if (task.state === 'submitted') this.lastPendingAtMs.set(taskId, this.nowMs());
      return;
    }
    this.applying.add(taskId);
    this.apply(task, status)
      .catch((err: unknown) => this.log.error({ err, taskId }, 'could not apply status'))
      .finally(() => this.applying.delete(taskId));
  }

  private async check(due: Task[]): Promise<void> {
    const groups = new Map<ServiceId, Task[]>();
    for (const task of due) {
      const service = serviceIdOfTask(task);
      const group = groups.get(service);
      if (group) group.push(task);
      else groups.set(service, [task]);
    }
    await Promise.all(
      [...groups].map(async ([service, tasks]) => {
        const result = await this.deps.batcher.forService(service).fetch(tasks.map((t) => t.providerTaskId!));
        // Shutting down: the store may be closing; the next start asks again.
        if (this.stopped) return;
        if (result instanceof Map) await this.applyAll(service, tasks, result);
        else this.backOff(service, tasks, result);
      }),
    );
  }

  private backOff(service: ServiceId, tasks: Task[], error: StatusFetchError): void {
    const failures = (this.consecutiveFailures.get(service) ?? 0) + 1;
    this.consecutiveFailures.set(service, failures);
    // The cap bounds our own exponential backoff; a longer Retry-After from the provider still wins.
    const backoffMs = Math.max(
      error.retryAfterMs ?? 0,
      Math.min(this.deps.schedule.pollIntervalMs * 2 ** failures, this.deps.schedule.maxBackoffMs),
    );
    const level = error.retryable ? 'warn' : 'error';
    this.log[level]({ service, code: error.code, backoffMs, failures }, 'status request failed');
    const nowMs = this.nowMs();
    for (const task of tasks) this.nextCheckAtMs.set(task.id, nowMs + backoffMs);
  }

  private async applyAll(service: ServiceId, tasks: Task[], statuses: Map<string, RemoteStatus>): Promise<void> {
    this.consecutiveFailures.delete(service);
    const nowMs = this.nowMs();
    const settled = await Promise.allSettled(tasks.map((t) => this.applyOnce(t, statuses.get(t.providerTaskId!))));
    settled.forEach((s, i) => {
      if (s.status === 'rejected') {
        this.log.error({ err: s.reason as unknown, taskId: tasks[i]!.id }, 'could not apply status');
        this.nextCheckAtMs.set(tasks[i]!.id, nowMs + this.deps.schedule.pollIntervalMs);
      }
    });
  }

  /** Applies a checked status unless a ride-along got there first (the task is then handled). */
  private async applyOnce(task: Task, remote: RemoteStatus | undefined): Promise<void> {
    if (this.applying.has(task.id) || !this.followed.has(task.id)) return;
    this.applying.add(task.id);
    try {
      await this.apply(task, remote);
    } finally {
      this.applying.delete(task.id);
    }
  }

  private async apply(task: Task, remote: RemoteStatus | undefined): Promise<void> {
    const now = this.deps.clock.now();
    const decision = decide(task, remote, now, this.deps.schedule);
    const log = this.log.child({ taskId: task.id });
    switch (decision.kind) {
      case 'wait': {
        // From the beat the check was due on, not from now: a pass that ran late under load must not
        // make its tasks skip a whole beat.
        const dueAtMs = this.nextCheckAtMs.get(task.id) ?? now.getTime();
        this.lastPendingAtMs.set(task.id, now.getTime());
        const nextAtMs = this.atPredictedFinish(task, now.getTime(), onBeat(dueAtMs + this.delayFor(task), this.beatFor(task)));
        this.nextCheckAtMs.set(task.id, Math.max(nextAtMs, now.getTime() + 1));
        if (task.state === 'submitted' && this.deps.events.onStillRunning) {
          // Our copy predates a member's "stop following": their reply must not go back to "generating".
          // One read per running task and beat; running tasks are capped by the slot limit.
          const stored = await this.deps.store.get(task.id);
          if (stored?.state === 'submitted') this.deps.events.onStillRunning(stored);
        }
        return;
      }
      case 'succeeded':
      case 'failed': {
        const outcome =
          decision.kind === 'succeeded'
            ? { kind: 'succeeded' as const, videoUrl: decision.videoUrl }
            : { kind: 'failed' as const, code: decision.code, message: decision.message };
        const updated = await this.transitionOrWait(task, decision.kind, { outcome, finishedAt: now.toISOString() });
        if (!updated) return;
        if (decision.kind === 'succeeded' && task.state === 'submitted') {
          // It finished between the last check that saw it pending (or the submit) and this one: a
          // sparse early check must not teach a longer time than it took.
          const submittedMs = Date.parse(task.submittedAt ?? task.createdAt);
          const seenMs = now.getTime() - submittedMs;
          const lastPendingMs = this.lastPendingSinceSubmitMs(task);
          this.deps.estimator?.record(cadenceKey(task.request), seenMs, this.carriedLowerEnd(task, lastPendingMs, seenMs));
        }
        this.forget(task.id);
        log.info({ outcome: decision.kind, code: decision.kind === 'failed' ? decision.code : undefined }, 'generation finished');
        this.deps.events.onOutcome(updated);
        return;
      }
      case 'timed_out': {
        const updated = await this.transitionOrWait(task, 'timed_out', { outcome: { kind: 'timed_out' } });
        if (!updated) return;
        this.followed.set(task.id, updated);
        this.nextCheckAtMs.set(
          task.id,
          onBeat(now.getTime() + this.deps.schedule.slowPollIntervalMs, this.deps.schedule.slowPollIntervalMs),
        );
        log.warn({}, 'gave up fast polling; slow check continues');
        this.deps.events.onOutcome(updated);
        return;
      }
      case 'expired': {
        const updated = await this.transitionOrWait(task, 'expired', {});
        if (!updated) return;
        this.forget(task.id);
        log.warn({}, 'no result within the late-result window; stopped following');
        return;
      }
    }
  }

  /** A transition refused because the task is busy elsewhere (e.g. its notice is being posted) waits a turn. */
  private async transitionOrWait(
    task: Task,
    to: 'succeeded' | 'failed' | 'timed_out' | 'expired',
    fields: Partial<Task>,
  ): Promise<Task | undefined> {
    try {
      return await this.deps.store.update(task.id, (t) => transition(t, to, this.deps.clock.now(), fields));
    } catch (err) {
      if (!(err instanceof InvalidTransitionError)) throw err;
      const stored = await this.deps.store.get(task.id);
      if (!stored || (stored.state !== 'submitted' && stored.state !== 'timed_out' && stored.state !== 'posting')) {
        this.forget(task.id);
        // A member cancelled it while it ran: it held a provider slot until now; nothing is posted.
        if (stored?.state === 'cancelled') this.deps.events.onOutcome(stored);
        return undefined;
      }
      this.followed.set(task.id, stored.state === 'posting' ? task : stored);
      this.nextCheckAtMs.set(task.id, this.nowMs() + this.deps.schedule.pollIntervalMs);
      return undefined;
    }
  }

  private forget(taskId: string): void {
    const task = this.followed.get(taskId);
    if (task && !this.stopped) this.batcherOf(task).untrack(task.providerTaskId!);
    this.followed.delete(taskId);
    this.nextCheckAtMs.delete(taskId);
    this.lastPendingAtMs.delete(taskId);
  }

  private batcherOf(task: Task) {
    return this.deps.batcher.forService(serviceIdOfTask(task));
  }

  /**
   * Checks land on shared beats, so the batcher can merge guilds' requests: the slow interval for a
   * timed-out task, else the dense step of its endpoint (a whole divisor of the base interval).
   */
  private beatFor(task: Task): number {
    return task.state === 'timed_out' ? this.deps.schedule.slowPollIntervalMs : this.denseStepMs(task);
  }

  /**
   * The base interval split by the endpoint's request budget: with B requests allowed per interval,
   * a task near its expected finish can be checked B times per interval without the endpoint sending
   * more than B (the batcher merges every id due on a step into one request).
   */
  private denseStepMs(task: Task): number {
    const { schedule } = this.deps;
    if (!schedule.cadence) return schedule.pollIntervalMs;
    const perWindow = this.batcherOf(task).requestsPerWindow();
    return Number.isFinite(perWindow) ? schedule.pollIntervalMs / perWindow : schedule.pollIntervalMs;
  }

  private delayFor(task: Task): number {
    const { schedule, estimator } = this.deps;
    if (task.state === 'timed_out') return schedule.slowPollIntervalMs;
    if (!schedule.cadence || !estimator) return schedule.pollIntervalMs;
    const elapsedMs = this.nowMs() - Date.parse(task.submittedAt ?? task.createdAt);
    // A steady model's finish is probed directly (atPredictedFinish): the spare request is not spent
    // on dense beats, unless this generation already outlived the span (finishes seen together by one
    // check can agree on a span that the rest of their batch then runs past).
    const span = this.steadySpanOf(task);
    const denseMs = span && !this.outlived(task, span) ? schedule.pollIntervalMs : this.denseStepMs(task);
    const key = cadenceKey(task.request);
    return nextCheckDelayMs(
      elapsedMs,
      this.expectedMs(task),
      schedule.cadence,
      denseMs,
      estimator.slowestMs(key),
      estimator.earliestFinishMs(key),
    );
  }

  /**
   * A steady model's finish is bracketed by its last generations (after the latest "still running",
   * by the earliest "finished"): one check in the middle of that span (just past its lower end once
   * it is narrow) and, still running there, one just past its end. Each such check narrows the span
   * for the next generations, so the finish is soon seen within milliseconds instead of up to a beat
   * later. Only with a request budget (the batcher never sends more than it). The beats do not apply
   * meanwhile: they would only spend the budget the probes of other tasks need.
   */
  private atPredictedFinish(task: Task, nowMs: number, nextBeatAtMs: number): number {
    const span = this.steadySpanOf(task);
    if (!span) return nextBeatAtMs;
    const submittedMs = Date.parse(task.submittedAt ?? task.createdAt);
    const pendingAtMs = this.lastPendingSinceSubmitMs(task);
    // Still running past the span's end: this generation is not a steady one; the beats go on.
    if (this.outlived(task, span)) return nextBeatAtMs;
    // One probe in the middle (just past the lower end once the span is narrow); still running
    // there, the next is sure to see it (a budget of two requests per interval cannot afford
    // bisecting further).
    const narrow = span.toMs - span.fromMs <= 2 * PREDICTED_FINISH_MARGIN_MS;
    const probeMs =
      pendingAtMs > span.fromMs
        ? span.toMs + PREDICTED_FINISH_MARGIN_MS
        : narrow
          ? span.fromMs + NARROW_SPAN_PROBE_AFTER_MS
          : (span.fromMs + span.toMs) / 2;
    const next = Math.max(submittedMs + probeMs, nowMs + 1);
    // Checks before a far probe are evenly spaced at most the early cadence apart (they tell a model
    // that got faster), so none lands just before the probe and takes the request the probe needs.
    const { cadence, pollIntervalMs } = this.deps.schedule;
    const sparseMs = pollIntervalMs * (cadence?.earlyFactor ?? 1);
    const untilProbeMs = next - nowMs;
    return nowMs + untilProbeMs / Math.ceil(untilProbeMs / sparseMs);
  }

  /**
   * A steady span's probe that saw the finish says nothing about when the task still ran: the
   * sample keeps the span's lower end instead (a little lower each time, so a model that got faster
   * is found), or the span would be learned anew every few generations.
   */
  private carriedLowerEnd(task: Task, lastPendingMs: number, seenMs: number): number {
    const span = this.steadySpanOf(task);
    if (!span || lastPendingMs >= span.fromMs || seenMs <= span.fromMs) return lastPendingMs;
    return Math.max(lastPendingMs, span.fromMs * (1 - CARRIED_LOWER_END_DECAY));
  }

  /** Whether a check saw `task` still running past the end of its model's steady span. */
  private outlived(task: Task, span: { toMs: number }): boolean {
    return this.lastPendingSinceSubmitMs(task) >= span.toMs + PREDICTED_FINISH_MARGIN_MS;
  }

  /** How long after its submit a check last saw `task` still running (0: none has yet). */
  private lastPendingSinceSubmitMs(task: Task): number {
    const submittedMs = Date.parse(task.submittedAt ?? task.createdAt);
    return Math.max(this.lastPendingAtMs.get(task.id) ?? submittedMs, submittedMs) - submittedMs;
  }

  private steadySpanOf(task: Task): { fromMs: number; toMs: number } | undefined {
    if (task.state !== 'submitted' || !this.deps.schedule.cadence) return undefined;
    if (!Number.isFinite(this.batcherOf(task).requestsPerWindow())) return undefined;
    const span = this.deps.estimator?.steadySpan(cadenceKey(task.request));
    // Two probes beat the dense steps only on a span narrower than a step (a wide one is a guess).
    return span && span.toMs - span.fromMs <= this.denseStepMs(task) ? span : undefined;
  }

  /** The learned generation time, or (opt-in, before enough samples) the catalogue's typical one. */
  private expectedMs(task: Task): number | undefined {
    const learned = this.deps.estimator?.expectedMs(cadenceKey(task.request));
    if (learned !== undefined || !this.deps.schedule.cadence?.seedFromCatalogue) return learned;
    return findModel(task.request.model)?.typicalGenerationMs;
  }

  private scheduleNext(): void {
    if (this.stopped || this.passRunning) return;
    let earliestMs = Number.POSITIVE_INFINITY;
    for (const atMs of this.nextCheckAtMs.values()) earliestMs = Math.min(earliestMs, atMs);
    if (earliestMs === Number.POSITIVE_INFINITY) return;
    if (this.timer && this.timerAtMs <= earliestMs) return;
    if (this.timer) this.deps.timers.clearTimeout(this.timer);
    this.timerAtMs = earliestMs;
    this.timer = this.deps.timers.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAtMs = Number.POSITIVE_INFINITY;
        void this.pass();
      },
      Math.max(earliestMs - this.nowMs(), 0),
    );
  }

  private nowMs(): number {
    return this.deps.clock.now().getTime();
  }
}
