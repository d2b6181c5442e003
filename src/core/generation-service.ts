import pLimit from 'p-limit';
import type { CircuitBreaker } from './circuit-breaker.js';
import { countsAgainstBudget, formatCredits, generationCredits, utcDay } from './credits.js';
import type { DeliveryService } from './delivery.js';
import { newTaskId } from './ids.js';
import { memberCooldownEnd } from './member-cooldown.js';
import { etaWorthAnEdit } from './eta.js';
import type { Clock, GuildLimits, GuildUsageLog, Logger, ProgressReporter, QueuedEta, TaskStore } from './ports.js';
import type { QueueEtas } from './queue-etas.js';
import type { SubmitScheduler } from './submit-scheduler.js';
import { transition, type GenerationRequest, type Task } from './task.js';
import { UserFacingError } from './user-facing-error.js';

/** A preflighted command, ready to become a ledger entry. */
export interface NewGeneration {
  guildId: string;
  channelId: string;
  userId: string;
  request: GenerationRequest;
  uploadLimitBytes: number;
  locale?: string;
  /** Discord locale of the member, for their ephemeral progress reply. */
  memberLocale?: string;
  interaction?: { applicationId: string; token: string; expiresAt: string };
  /** Settles once the command's own answer (which creates the reply progress edits change) was sent. */
  answerShown?: Promise<unknown>;
}

/** A guild's own limits as `start` reads them: quota and budget, plus the member cooldown. */
export interface GuildStartLimits extends GuildLimits {
  /** Seconds between two starts of one member in the guild; 0 = none; undefined = the bot's default. */
  memberCooldownSeconds?: number;
}

/** The limits that apply in a guild, its own value or the bot's default each (`effectiveLimits`). */
export interface AppliedStartLimits {
  memberDailyQuota: number;
  memberCooldownSeconds: number;
  dailyBudgetCredits?: number;
}

/** How many generations a member has left today under a quota. */
export interface QuotaLeft {
  /** The member's daily quota (always > 0: an unlimited quota has no QuotaLeft). */
  quota: number;
  left: number;
}

/** Where a new task stands right after it was accepted. */
export interface Enqueued {
  task: Task;
  position: number;
  /** Set when submits are stopped (account problem): the task waits in the queue. */
  accountProblem: boolean;
  /** What is left of the member's daily quota after this task; undefined when no quota applies. */
  quotaLeft?: QuotaLeft;
  /** When it is expected to start and be ready; undefined while the times are not known. */
  eta?: QueuedEta;
}

/** Something that follows submitted tasks (the poller registry). */
export interface TaskFollower {
  follow(task: Task, firstCheckInMs?: number): void;
}

/** A guild reached its daily budget (a command was refused, or the last credit was just spent). */
export interface BudgetReached {
  guildId: string;
  utcDay: string;
  spentCredits: number;
  budgetCredits: number;
  /** The guild's Discord locale as the refused or last command reported it. */
  locale?: string;
}

/** Outcome of a member's cancel: only the requester may cancel, and only while it is waiting or running. */
export type CancelOutcome =
  | { kind: 'not_found' }
  | { kind: 'not_yours'; task: Task }
  | { kind: 'too_late'; task: Task }
  /** `wasRunning`: the provider has no cancel, so the generation still runs and still counts. */
  | { kind: 'cancelled'; task: Task; wasRunning: boolean };

// Starts (quota reads and ledger writes) in flight at once across guilds. A burst waits here as
// small closures instead of piling hundreds of concurrent writes onto the store, where each would
// wait behind all the others and hold its command the whole time.
export const MAX_STARTS_IN_FLIGHT = 32;

// How many of a member's newest tasks are read at first for the quota and the cooldown.
const RECENT_PAGE = 100;

// Positions up to this are shown exactly; further back, a reply is edited once the position moved
// by a tenth (forward or back): with 10 000 waiting, one submit changes every position, and 10 000 edits per refresh
// would flood Discord (and hold the bot's memory in queued requests) for a change nobody needs.
const EXACT_POSITIONS = 10;
const POSITION_STEP = 0.1;
// The command's own reply estimates its start only while the queue is this short: the estimate is a
// pass over the whole queue, and in a burst of thousands of commands one per command would cost what
// walking for positions once did. With a longer queue the next refresh (one pass for all) adds it.
const ETA_IN_FIRST_REPLY_MAX_QUEUE = 500;
// Edits for a moved estimate alone, per refresh: when a model's time is first learned every waiting
// reply gains one at once; spread over refreshes (oldest replies first), thousands never go out together.
const MAX_ETA_ONLY_EDITS_PER_REFRESH = 100;

/** Whether a waiting member's reply should change from `shown` to `next` (-1: the account problem). */
export function positionWorthAnEdit(shown: number, next: number): boolean {
  if (next === shown) return false;
  if (next === -1 || shown === -1 || next <= EXACT_POSITIONS || shown <= EXACT_POSITIONS) return true;
  // Either way by a tenth: in a burst, newcomers from other guilds are served between a big guild's
  // tasks and push thousands of positions back by a few places each refresh.
  return Math.abs(next - shown) >= shown * POSITION_STEP;
}

/** The use cases behind the commands: start a generation, look one up, and resume after a restart. */
export class GenerationService {
  /** Waiting tasks whose reply can still be edited, with the position it shows (-1: account problem). */
  private readonly waitingWithLiveReply = new Map<string, { task: Task; shownPosition: number; shownStartAtMs?: number }>();
  private readonly startTails = new Map<string, Promise<unknown>>();
  private readonly admission = pLimit(MAX_STARTS_IN_FLIGHT);

  constructor(
    private readonly deps: {
      store: TaskStore;
      scheduler: SubmitScheduler;
      delivery: DeliveryService;
      follower: TaskFollower;
      breaker: CircuitBreaker;
      progress: ProgressReporter;
      clock: Clock;
      logger: Logger;
      /** `memberCooldownSeconds`: the default wait between two starts of a member (0 or absent: none). */
      limits: { memberDailyQuota: number; memberCooldownSeconds?: number };
      /** The quota, budget and cooldown that apply in a guild (its settings over the defaults); `limits` apply without it. */
      guildLimits?: (guildId: string) => Promise<AppliedStartLimits>;
      /** Needed for a daily budget; without it a budget is not enforced. */
      usage?: GuildUsageLog;
      onBudgetReached?: (event: BudgetReached) => void;
      /** Several processes: a new task is queued here only when this process owns its guild (else its owner loads it). */
      ownership?: { ensure(guildId: string): Promise<boolean> };
      /** Start and ready estimates from the learned generation times; without it, positions only. */
      etas?: QueueEtas;
    },
  ) {}

  /**
   * Checks the member's quota and cooldown and the guild's budget, records the task as `queued` and
   * hands it to the scheduler.
   */
  async start(input: NewGeneration): Promise<Enqueued> {
    // A guild's commands run one at a time, so two at once cannot both pass the quota, cooldown or budget check.
    const key = input.guildId;
    const run = (this.startTails.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.admission(() => this.startNow(input)));
    this.startTails.set(key, run);
    try {
      return await run;
    } finally {
      if (this.startTails.get(key) === run) this.startTails.delete(key);
    }
  }

  private async startNow(input: NewGeneration): Promise<Enqueued> {
    const { store, scheduler, clock, breaker, limits, usage } = this.deps;
    const guildLimits = (await this.deps.guildLimits?.(input.guildId)) ?? {
      ...limits,
      memberCooldownSeconds: limits.memberCooldownSeconds ?? 0,
    };
    const quota = guildLimits.memberDailyQuota;
    const cooldownSeconds = guildLimits.memberCooldownSeconds;
    // One read of the member's recent tasks serves both the quota and the cooldown.
    const recent = quota > 0 || cooldownSeconds > 0 ? await store.listByUser(input.guildId, input.userId, RECENT_PAGE) : [];
    let usedToday = 0;
    if (quota > 0) {
      usedToday = await this.usedToday(input.guildId, input.userId, recent);
      if (usedToday >= quota) {
        throw new UserFacingError('QUOTA_REACHED', 'error.quotaReached', { quota });
      }
    }
    const retryAt = memberCooldownEnd(recent[0], cooldownSeconds, clock.now());
    if (retryAt) {
      this.deps.logger.info({ guildId: input.guildId, userId: input.userId, cooldownSeconds }, 'refused: member cooldown');
      throw new UserFacingError(
        'MEMBER_COOLDOWN',
        'error.memberCooldown',
        // Unix seconds for Discord's relative timestamp, rounded up so "now" never shows before it is true.
        { retryAt: Math.ceil(retryAt.getTime() / 1000), seconds: cooldownSeconds },
      );
    }
    const day = utcDay(clock.now());
    const budget = guildLimits.dailyBudgetCredits ?? 0;
    if (budget > 0 && usage) await this.checkBudget(input, budget, day, usage);
    const now = clock.now().toISOString();
    const task: Task = {
      schemaVersion: 1,
      id: newTaskId(),
      guildId: input.guildId,
      channelId: input.channelId,
      userId: input.userId,
      request: input.request,
      state: 'queued',
      uploadLimitBytes: input.uploadLimitBytes,
      submitAttempts: 0,
      createdAt: now,
      updatedAt: now,
      ...(input.locale ? { locale: input.locale } : {}),
      ...(input.memberLocale ? { memberLocale: input.memberLocale } : {}),
      ...(input.interaction ? { interaction: input.interaction } : {}),
    };
    // Recorded before the task exists: a crash in between leaves an id that counts nothing.
    await usage?.recordStart(task.guildId, day, task.id);
    await store.create(task);
    this.deps.logger.info({ taskId: task.id, guildId: task.guildId, model: task.request.model }, 'task queued');
    // Another process still holds this guild (a restart before its lease expired): the task waits in
    // the ledger and is loaded with the rest of the guild's tasks when the lease comes here.
    const owned = (await this.deps.ownership?.ensure(task.guildId)) ?? true;
    this.deps.etas?.track(task);
    // Before the enqueue: a free slot submits at once, and its "generating" edit must follow the answer.
    if (input.answerShown) this.deps.progress.holdUntilShown?.(task, input.answerShown);
    const position = owned ? scheduler.enqueue(task) : 1;
    const accountProblem = breaker.isOpen();
    const eta =
      owned && !accountProblem && scheduler.queuedCount() <= ETA_IN_FIRST_REPLY_MAX_QUEUE
        ? this.deps.etas?.estimates(scheduler.queueView(), clock.now().getTime()).get(task.id)
        : undefined;
    // The command's own reply shows this position; later refreshes only send changes.
    if (task.interaction) {
      this.waitingWithLiveReply.set(task.id, {
        task,
        shownPosition: accountProblem ? -1 : position,
        ...(eta ? { shownStartAtMs: eta.startAtMs } : {}),
      });
    }
    const quotaLeft = quota > 0 ? { quota, left: Math.max(0, quota - usedToday - 1) } : undefined;
    return { task, position, accountProblem, ...(quotaLeft ? { quotaLeft } : {}), ...(eta ? { eta } : {}) };
  }

  /** What is left of a member's daily quota in a guild; undefined when the quota is unlimited. */
  async quotaLeft(guildId: string, userId: string): Promise<QuotaLeft | undefined> {
    const quota = (await this.deps.guildLimits?.(guildId))?.memberDailyQuota ?? this.deps.limits.memberDailyQuota;
    if (quota <= 0) return undefined;
    return { quota, left: Math.max(0, quota - (await this.usedToday(guildId, userId))) };
  }

  /**
   * Refreshes the ephemeral reply of every member still waiting in the queue (position, or the
   * account problem while submits are stopped). Only replies whose interaction token lives are kept.
   */
  refreshWaitingReplies(): void {
    const { scheduler, breaker, progress, clock } = this.deps;
    const nowMs = clock.now().getTime();
    const accountProblem = breaker.isOpen();
    const etas = this.deps.etas;
    // The estimates also forget tasks that left: run them even when no reply waits.
    if (this.waitingWithLiveReply.size === 0 && (!etas || etas.size === 0)) return;
    const view = etas ? scheduler.queueView() : undefined;
    const estimates = view && !accountProblem ? etas!.estimates(view, nowMs) : undefined;
    if (this.waitingWithLiveReply.size === 0) return;
    const positions = view ? new Map(view.waiting.map(({ taskId }, index) => [taskId, index + 1])) : scheduler.positions();
    let etaOnlyEdits = 0;
    for (const [id, waiting] of this.waitingWithLiveReply) {
      const position = positions.get(id);
      if (position === undefined || Date.parse(waiting.task.interaction!.expiresAt) <= nowMs) {
        this.waitingWithLiveReply.delete(id);
        continue;
      }
      const shown = accountProblem ? -1 : position;
      const eta = estimates?.get(id);
      const etaMoved = !accountProblem && etaWorthAnEdit(waiting.shownStartAtMs, eta?.startAtMs, nowMs);
      if (!positionWorthAnEdit(waiting.shownPosition, shown)) {
        if (!etaMoved || etaOnlyEdits >= MAX_ETA_ONLY_EDITS_PER_REFRESH) continue;
        etaOnlyEdits++;
      }
      waiting.shownPosition = shown;
      if (eta) waiting.shownStartAtMs = eta.startAtMs;
      else delete waiting.shownStartAtMs;
      void progress.report(
        waiting.task,
        accountProblem ? { kind: 'account_problem' } : { kind: 'queued', position, providerBusy: false, ...(eta ? { eta } : {}) },
      );
    }
  }

  /** Finds a task of this guild by our id or the provider's task id; another guild's task is "not found". */
  async find(guildId: string, id: string): Promise<Task | undefined> {
    const trimmed = id.trim();
    const task = (await this.deps.store.get(trimmed.toLowerCase())) ?? (await this.deps.store.getByProviderTaskId(trimmed));
    return task?.guildId === guildId ? task : undefined;
  }

  /**
   * Cancels a member's task: a queued one leaves the queue (nothing is spent); a running one is no
   * longer followed or posted (its slot is freed when the poller sees it end).
   */
  async cancel(guildId: string, taskId: string, userId: string): Promise<CancelOutcome> {
    const { store, scheduler, clock, logger } = this.deps;
    const found = await this.find(guildId, taskId);
    if (!found) return { kind: 'not_found' };
    if (found.userId !== userId) return { kind: 'not_yours', task: found };
    let wasRunning = false;
    let changed = false;
    let cancelled: Task;
    try {
      cancelled = await store.update(found.id, (t) => {
        changed = false;
        if (t.state !== 'queued' && t.state !== 'submitted' && t.state !== 'timed_out') return t;
        changed = true;
        wasRunning = t.state !== 'queued';
        return transition(t, 'cancelled', clock.now(), { finishedAt: clock.now().toISOString() });
      });
    } catch (err) {
      logger.warn({ err, taskId: found.id }, 'cancel refused by the ledger');
      return { kind: 'too_late', task: found };
    }
    if (!changed) return { kind: 'too_late', task: cancelled };
    // Once `cancelled` is stored the scheduler cannot submit it (its `submitting` write is refused).
    scheduler.dequeue(cancelled.id, cancelled.guildId);
    this.waitingWithLiveReply.delete(cancelled.id);
    logger.info({ taskId: cancelled.id, guildId, wasRunning }, 'task cancelled by the member');
    return { kind: 'cancelled', task: cancelled, wasRunning };
  }

  /** The member's recent tasks in a guild, newest first. */
  history(guildId: string, userId: string, limit: number): Promise<Task[]> {
    return this.deps.store.listByUser(guildId, userId, limit);
  }

  /** Queue position of a waiting task. */
  positionOf(taskId: string): number | undefined {
    return this.deps.scheduler.positionOf(taskId);
  }

  /**
   * Resumes every unfinished task after a restart (docs/crash-outcomes.md): queued tasks
   * return to the queue, submitted ones to their poller, a `submitting` one is never resubmitted
   * (it becomes `interrupted` and the member is told), and finished ones are published. With
   * `guildIds`, only those guilds' tasks (the guilds this process just took over).
   */
  async recover(guildIds?: ReadonlySet<string>): Promise<{ resumed: number }> {
    const { store, scheduler, delivery, follower, clock, logger } = this.deps;
    const tasks = (await store.listUnfinished()).filter((t) => !guildIds || guildIds.has(t.guildId));
    const log = logger.child({ component: 'recovery' });
    const toPublish: { id: string; recovered: boolean }[] = [];
    let resumed = 0;

    for (let task of tasks) {
      resumed++;
      if (task.state === 'queued' || task.state === 'submitted') this.deps.etas?.track(task);
      if (task.state === 'submitting') {
        task = await store.update(task.id, (t) =>
          transition(t, 'interrupted', clock.now(), { outcome: { kind: 'interrupted' }, finishedAt: clock.now().toISOString() }),
        );
        log.warn({ taskId: task.id, guildId: task.guildId }, 'submit interrupted by a restart; not resubmitted');
      }
      switch (task.state) {
        case 'submitted':
          follower.follow(task, 0);
          break;
        case 'timed_out':
          follower.follow(task, 0);
          if (!task.timeoutNoticePosted) toPublish.push({ id: task.id, recovered: false });
          break;
        case 'succeeded':
        case 'failed':
        case 'interrupted':
          toPublish.push({ id: task.id, recovered: false });
          break;
        case 'posting':
          toPublish.push({ id: task.id, recovered: true });
          // A timeout notice in flight still needs its slow check afterwards.
          if (task.outcome?.kind === 'timed_out') follower.follow({ ...task, state: 'timed_out' }, 0);
          break;
        case 'queued':
        case 'submitting':
        case 'delivered':
        case 'undeliverable':
        case 'expired':
        case 'cancelled':
          break;
      }
    }
    // Queued tasks (and the slots held by submitted ones) go to the scheduler in one step.
    scheduler.load(
      tasks.filter((t) => t.state === 'queued' || t.state === 'submitted'),
      guildIds,
    );
    for (const { id, recovered } of toPublish) delivery.deliver(id, { recovered });
    scheduler.pump();
    log.info({ resumed }, 'recovered unfinished tasks');
    return { resumed };
  }

  private async checkBudget(input: NewGeneration, budget: number, day: string, usage: GuildUsageLog): Promise<void> {
    const ids = await usage.startedOn(input.guildId, day);
    const tasks = await Promise.all(ids.map((id) => this.deps.store.get(id)));
    const spent = tasks.reduce((sum, task) => (task && countsAgainstBudget(task) ? sum + generationCredits(task.request) : sum), 0);
    const cost = generationCredits(input.request);
    const event: BudgetReached = {
      guildId: input.guildId,
      utcDay: day,
      spentCredits: spent,
      budgetCredits: budget,
      ...(input.locale ? { locale: input.locale } : {}),
    };
    if (spent + cost <= budget) {
      if (spent + cost === budget) this.deps.onBudgetReached?.({ ...event, spentCredits: budget });
      return;
    }
    this.deps.logger.info({ guildId: input.guildId, spent, budget, cost }, 'refused: over the guild daily budget');
    if (spent >= budget) {
      this.deps.onBudgetReached?.(event);
      throw new UserFacingError('BUDGET_REACHED', 'error.budgetReached', { spent: formatCredits(spent), budget: formatCredits(budget) });
    }
    throw new UserFacingError('BUDGET_REACHED', 'error.budgetTooLow', { left: formatCredits(budget - spent), cost: formatCredits(cost) });
  }

  /** `firstPage`: the member's newest RECENT_PAGE tasks when already read. */
  private async usedToday(guildId: string, userId: string, firstPage?: Task[]): Promise<number> {
    const now = this.deps.clock.now();
    const startOfUtcDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    // Newest first: read further back until a task from before today (or the end) is reached.
    for (let limit = RECENT_PAGE; ; limit *= 2) {
      const recent = limit === RECENT_PAGE && firstPage ? firstPage : await this.deps.store.listByUser(guildId, userId, limit);
      const today = recent.filter((t) => Date.parse(t.createdAt) >= startOfUtcDay);
      if (recent.length < limit || today.length < recent.length) return today.filter(countsAgainstBudget).length;
    }
  }
}
