import { CircuitBreaker } from './core/circuit-breaker.js';
import { DeliveryService } from './core/delivery.js';
import { GenerationService, type BudgetReached } from './core/generation-service.js';
import { GuildOwnership } from './core/guild-ownership.js';
import { ModelAvailability } from './core/model-availability.js';
import type { QueueEtas } from './core/queue-etas.js';
import type {
  Clock,
  DeliveryCheck,
  GuildLeases,
  GuildUsageLog,
  Logger,
  ProgressReporter,
  Publisher,
  SlotPool,
  TaskStore,
  Timers,
  VideoApi,
} from './core/ports.js';
import { SubmitScheduler, type SubmitLimits } from './core/submit-scheduler.js';
import type { Task } from './core/task.js';
import type { Showcase } from './discord/command.js';
import { autoShowcase } from './discord/showcase.js';
import { CallbackReceiver } from './poller/callback-receiver.js';
import type { PollSchedule, PollerEvents } from './poller/guild-poller.js';
import type { GenerationTimeEstimator } from './poller/poll-cadence.js';
import { PollerRegistry } from './poller/poller-registry.js';
import { StatusBatchers, type StatusBatcherSettings } from './poller/status-batcher.js';
import { effectiveLimits, type LimitDefaults, type OwnLimits } from './settings/effective-limits.js';

/**
 * Listeners connected after construction. The services report to each other in a cycle (submits go
 * to the pollers, whose outcomes free the scheduler's slots; a taken-over guild is recovered by the
 * generation service, which asks ownership first), so each one is built with a signal and the
 * signals are connected once every service exists: no service is used before it is declared.
 */
export class Signal<Args extends unknown[], Result = void> {
  private readonly listeners: ((...args: Args) => Result)[] = [];

  connect(listener: (...args: Args) => Result): void {
    this.listeners.push(listener);
  }

  /** Calls every listener in the order they were connected; their results. */
  emit(...args: Args): Result[] {
    return this.listeners.map((listener) => listener(...args));
  }
}

/** What the engine needs: the adapters (store, provider, Discord's publisher and progress) and the limits. */
export interface EngineOptions {
  store: TaskStore;
  api: VideoApi;
  /** Posts results; asked only after the bot is logged in (nothing is published before). */
  publisher: Publisher;
  progress: ProgressReporter;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  limits: SubmitLimits & {
    memberDailyQuota: number;
    memberCooldownSeconds?: number;
    circuitBreakerCooldownMs: number;
    modelRetryCooldownMs: number;
  };
  schedule: PollSchedule;
  statusBatching: Omit<StatusBatcherSettings, 'api' | 'timers'>;
  estimator?: GenerationTimeEstimator;
  /** A guild's own quota, budget and cooldown (its settings); null or absent values: `limits`. */
  guildLimits?: (guildId: string) => Promise<OwnLimits>;
  /** A guild's own cap on running generations (its settings); synchronous; null or absent: `limits`. */
  guildMaxActiveGenerationsOf?: (guildId: string) => number | null | undefined;
  usage?: GuildUsageLog;
  /** When the provider can reach the bot: per-task callbacks, applied by `engine.callbacks`. */
  callbacks?: { newSecret(): string; urlFor(taskId: string, secret: string): string };
  /** Several processes on one Redis: shared slots and guild leases. */
  coordination?: { slots: SlotPool; leases: GuildLeases; renewEveryMs: number };
  /** Delivered videos shared to the guild's showcase channel when the guild turned it on. */
  autoShowcase?: { showcase: Showcase; enabledIn: (guildId: string) => boolean };
  /** The last look before each submit and each post (the bot's live view of Discord). */
  deliveryCheck?: DeliveryCheck;
  /** Start and ready estimates for waiting and running tasks (from the learned generation times). */
  etas?: QueueEtas;
  /** Waiting members' replies (queue position) refreshed this often; off without it. */
  waitingReplyRefreshMs?: number;
}

/** A shutdown step: runs `work`, records a failure and lets the next step run (the app's log). */
export type StopStep = (name: string, work: () => Promise<unknown>) => Promise<void>;

/** The core services and the pollers, wired as the bot runs them. */
export type Engine = ReturnType<typeof createEngine>;

/**
 * The bot's engine: scheduler → pollers (and callbacks) → delivery, the generation service in front,
 * guild ownership when several processes share the ledger. The composition root hands it Discord,
 * Ace Data Cloud and the store; the core tests hand it fakes, so both run this one wiring.
 */
export function createEngine(options: EngineOptions) {
  const { store, api, progress, clock, timers, logger, limits, deliveryCheck, etas } = options;
  const events = {
    /** A task reached `delivered`, `undeliverable` or a posted timeout notice (once). */
    published: new Signal<[Task]>(),
    submitted: new Signal<[Task]>(),
    finishedWithoutGeneration: new Signal<[Task]>(),
    outcome: new Signal<[Task]>(),
    /** The account failed; `firstTime` once per trip of the circuit breaker. */
    accountProblem: new Signal<[code: string, firstTime: boolean]>(),
    /** A model is not served; `firstTime` once per cool-down. */
    modelUnavailable: new Signal<[task: Task, code: string, firstTime: boolean]>(),
    budgetReached: new Signal<[BudgetReached]>(),
    guildsAcquired: new Signal<[readonly string[]], Promise<void>>(),
    guildLost: new Signal<[string]>(),
  };

  const breaker = new CircuitBreaker(clock, limits.circuitBreakerCooldownMs);
  const modelAvailability = new ModelAvailability(clock, limits.modelRetryCooldownMs);
  const delivery = new DeliveryService({
    store,
    publisher: options.publisher,
    ...(deliveryCheck ? { deliveryCheck } : {}),
    onPublished: (task) => void events.published.emit(task),
    progress,
    clock,
    timers,
    logger: logger.child({ component: 'delivery' }),
  });
  const coordination = options.coordination;
  const defaults: LimitDefaults = {
    memberDailyQuota: limits.memberDailyQuota,
    guildMaxActiveGenerations: limits.guildMaxActiveGenerations,
    memberCooldownSeconds: limits.memberCooldownSeconds ?? 0,
  };
  const { guildLimits, guildMaxActiveGenerationsOf } = options;
  const scheduler = new SubmitScheduler({
    store,
    api,
    clock,
    timers,
    breaker,
    progress,
    logger: logger.child({ component: 'scheduler' }),
    limits: {
      maxActiveGenerations: limits.maxActiveGenerations,
      guildMaxActiveGenerations: limits.guildMaxActiveGenerations,
      submitMinIntervalMs: limits.submitMinIntervalMs,
    },
    guildMaxActiveGenerationsOf: (guildId) =>
      effectiveLimits({ guildMaxActiveGenerations: guildMaxActiveGenerationsOf?.(guildId) }, defaults).guildMaxActiveGenerations,
    availability: modelAvailability,
    ...(deliveryCheck ? { deliveryCheck } : {}),
    ...(coordination ? { slots: coordination.slots } : {}),
    ...(options.callbacks ? { callbacks: options.callbacks } : {}),
    events: {
      onSubmitted: (task) => void events.submitted.emit(task),
      onFinishedWithoutGeneration: (task) => void events.finishedWithoutGeneration.emit(task),
      onAccountProblem: (code, _message, firstTime) => void events.accountProblem.emit(code, firstTime),
      onModelUnavailable: (task, code, firstTime) => void events.modelUnavailable.emit(task, code, firstTime),
    },
  });

  const pollerEvents: PollerEvents = {
    onOutcome: (task) => void events.outcome.emit(task),
    onStillRunning: (task) => {
      const elapsedMs = clock.now().getTime() - Date.parse(task.submittedAt ?? task.createdAt);
      const readyAtMs = etas?.readyAtMs(task);
      void progress.report(task, { kind: 'generating', elapsedMs, ...(readyAtMs !== undefined ? { readyAtMs } : {}) });
    },
  };
  // One batcher per tasks endpoint (`/<service>/tasks`): a request can only ask one service.
  const batcher = new StatusBatchers({ api, timers, ...options.statusBatching });
  const pollers = new PollerRegistry({
    store,
    batcher,
    clock,
    timers,
    logger,
    schedule: options.schedule,
    ...(options.estimator ? { estimator: options.estimator } : {}),
    events: pollerEvents,
  });

  const ownership = coordination
    ? new GuildOwnership({
        leases: coordination.leases,
        timers,
        logger: logger.child({ component: 'ownership' }),
        renewEveryMs: coordination.renewEveryMs,
        events: {
          onAcquired: async (guildIds) => void (await Promise.all(events.guildsAcquired.emit(guildIds))),
          onLost: (guildId) => void events.guildLost.emit(guildId),
        },
      })
    : undefined;

  const generation = new GenerationService({
    store,
    scheduler,
    delivery,
    follower: pollers,
    breaker,
    progress,
    clock,
    logger,
    limits: { memberDailyQuota: limits.memberDailyQuota, memberCooldownSeconds: limits.memberCooldownSeconds ?? 0 },
    guildLimits: async (guildId) => effectiveLimits((await guildLimits?.(guildId)) ?? {}, defaults),
    ...(options.usage ? { usage: options.usage } : {}),
    onBudgetReached: (event) => void events.budgetReached.emit(event),
    ...(ownership ? { ownership } : {}),
    ...(etas ? { etas } : {}),
  });

  const callbacks = options.callbacks
    ? new CallbackReceiver({
        store,
        clock,
        logger: logger.child({ component: 'callbacks' }),
        follower: pollers,
        events: pollerEvents,
        ...(ownership ? { ownsGuild: (guildId: string) => ownership.owns(guildId) } : {}),
      })
    : undefined;

  // Every service exists: connect what each reports to the services that act on it.
  events.submitted.connect((task) => pollers.follow(task));
  events.finishedWithoutGeneration.connect((task) => delivery.deliver(task.id));
  events.outcome.connect((task) => {
    scheduler.release(task.id);
    delivery.deliver(task.id);
  });
  // Said once per trip: every queued member's reply now says submits are stopped.
  events.accountProblem.connect((_code, firstTime) => {
    if (firstTime) generation.refreshWaitingReplies();
  });
  events.guildsAcquired.connect(async (guildIds) => void (await generation.recover(new Set(guildIds))));
  events.guildLost.connect((guildId) => {
    scheduler.forgetGuild(guildId);
    pollers.forgetGuild(guildId);
  });
  if (options.autoShowcase) {
    const { showcase, enabledIn } = options.autoShowcase;
    events.published.connect(autoShowcase(showcase, enabledIn, logger.child({ component: 'showcase' })));
  }
  const replyRefresher =
    options.waitingReplyRefreshMs === undefined
      ? undefined
      : setInterval(() => generation.refreshWaitingReplies(), options.waitingReplyRefreshMs).unref();

  return {
    events,
    breaker,
    modelAvailability,
    delivery,
    scheduler,
    batcher,
    pollers,
    ownership,
    generation,
    /** Applies provider callbacks (only with `callbacks`). */
    callbacks,

    /**
     * Picks up the ledger's unfinished tasks at boot. Several processes: claims the guilds of our
     * shards with unfinished work, or whose only trace is a slot a crash left behind.
     */
    async recover(holdsShardOf: (guildId: string) => boolean = () => true): Promise<void> {
      if (!ownership || !coordination) {
        await generation.recover();
        return;
      }
      const candidates = new Set([
        ...(await store.listUnfinished()).map((task) => task.guildId),
        ...(await coordination.slots.guildsHoldingSlots()),
      ]);
      await ownership.start([...candidates].filter(holdsShardOf));
    },

    /** Stops polling, then waits for submits and posts under way; releases guild leases last. */
    async stop(step: StopStep = async (_name, work) => void (await work())): Promise<void> {
      if (replyRefresher) clearInterval(replyRefresher);
      pollers.stop();
      // Submits already sent and posts under way are recorded before anything closes.
      await step('scheduler', () => scheduler.stop());
      await step('delivery', () => delivery.stop());
      // Released only now, when nothing of ours runs any more: a successor takes over at once.
      await step('guild leases', async () => ownership?.stop());
    },
  };
}
