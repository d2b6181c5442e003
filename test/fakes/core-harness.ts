import { CircuitBreaker } from '../../src/core/circuit-breaker.js';
import { DeliveryService } from '../../src/core/delivery.js';
import { GenerationService, type BudgetReached, type GuildStartLimits } from '../../src/core/generation-service.js';
import { systemClock, systemTimers, type DeliveryCheck, type GenerationTimes, type GuildUsageLog } from '../../src/core/ports.js';
import { QueueEtas } from '../../src/core/queue-etas.js';
import { SubmitScheduler, type SubmitLimits } from '../../src/core/submit-scheduler.js';
import type { Task } from '../../src/core/task.js';
import { PollerRegistry } from '../../src/poller/poller-registry.js';
import type { PollSchedule } from '../../src/poller/guild-poller.js';
import { StatusBatcher } from '../../src/poller/status-batcher.js';
import { FakeVideoApi } from './fake-video-api.js';
import { MemoryPublisher } from './memory-publisher.js';
import { MemoryTaskStore } from './memory-task-store.js';
import { RecordingProgress } from './recording-progress.js';
import { SilentLogger, type LogLine } from './silent-logger.js';

/** Options of the wired core. */
export interface CoreHarnessOptions {
  store?: MemoryTaskStore;
  api?: FakeVideoApi;
  limits?: Partial<SubmitLimits>;
  schedule?: Partial<PollSchedule>;
  perMemberDailyQuota?: number;
  /** The default member cooldown; 0 (off) unless a test asks. */
  memberCooldownSeconds?: number;
  breakerCooldownMs?: number;
  gatherMs?: number;
  /** Guild settings as the core sees them. */
  guildLimits?: (guildId: string) => Promise<GuildStartLimits>;
  usage?: GuildUsageLog;
  perGuildConcurrencyOf?: (guildId: string) => number | undefined;
  /** Learned generation times: with them, waiting replies carry start and ready estimates. */
  times?: GenerationTimes;
  /** The last look before each submit (the bot's view of Discord). */
  deliveryCheck?: DeliveryCheck;
}

/** The poll schedule the core tests use unless they say otherwise. */
export const TEST_SCHEDULE: PollSchedule = {
  pollIntervalMs: 5_000,
  slowPollIntervalMs: 60_000,
  maxBackoffMs: 120_000,
  pollGiveUpMs: 30 * 60_000,
  lateResultWindowMs: 24 * 60 * 60_000,
};

/**
 * The core wired as the composition root wires it (scheduler → pollers → delivery), over fakes,
 * on the system clock and timers (drive them with `vi.useFakeTimers()`).
 */
export function createCoreHarness(options: CoreHarnessOptions = {}) {
  const store = options.store ?? new MemoryTaskStore();
  const api = options.api ?? new FakeVideoApi();
  const publisher = new MemoryPublisher(store);
  const progress = new RecordingProgress();
  const logLines: LogLine[] = [];
  const logger = new SilentLogger(logLines);
  const clock = systemClock;
  const timers = systemTimers;
  const breaker = new CircuitBreaker(clock, options.breakerCooldownMs ?? 60_000);
  const accountProblems: { code: string; firstTime: boolean }[] = [];
  const budgetsReached: BudgetReached[] = [];
  const outcomes: Task[] = [];

  const delivery = new DeliveryService({
    store,
    publisher,
    progress,
    clock,
    timers,
    logger,
    ...(options.deliveryCheck ? { deliveryCheck: options.deliveryCheck } : {}),
  });
  const batcher = new StatusBatcher({
    api,
    timers,
    maxBatchSize: 50,
    gatherMs: options.gatherMs ?? 100,
    minRequestIntervalMs: 20,
  });
  const schedulerRef: { current?: SubmitScheduler } = {};
  const registry = new PollerRegistry({
    store,
    batcher,
    clock,
    timers,
    logger,
    schedule: { ...TEST_SCHEDULE, ...options.schedule },
    events: {
      onOutcome: (task) => {
        outcomes.push(task);
        schedulerRef.current?.release(task.id);
        delivery.deliver(task.id);
      },
    },
  });
  const scheduler = new SubmitScheduler({
    store,
    api,
    clock,
    timers,
    breaker,
    progress,
    logger,
    limits: { maxActiveGenerations: 5, perGuildConcurrency: 3, submitMinIntervalMs: 2_000, ...options.limits },
    ...(options.perGuildConcurrencyOf ? { perGuildConcurrencyOf: options.perGuildConcurrencyOf } : {}),
    ...(options.deliveryCheck ? { deliveryCheck: options.deliveryCheck } : {}),
    events: {
      onSubmitted: (task) => registry.follow(task),
      onFinishedWithoutGeneration: (task) => delivery.deliver(task.id),
      onAccountProblem: (code, _message, firstTime) => accountProblems.push({ code, firstTime }),
    },
  });
  schedulerRef.current = scheduler;
  const service = new GenerationService({
    store,
    scheduler,
    delivery,
    follower: registry,
    breaker,
    progress,
    clock,
    logger,
    limits: { perMemberDailyQuota: options.perMemberDailyQuota ?? 10, memberCooldownSeconds: options.memberCooldownSeconds ?? 0 },
    ...(options.guildLimits ? { guildLimits: options.guildLimits } : {}),
    ...(options.usage ? { usage: options.usage } : {}),
    onBudgetReached: (event) => budgetsReached.push(event),
    ...(options.times ? { etas: new QueueEtas(options.times) } : {}),
  });

  return {
    store,
    api,
    publisher,
    progress,
    logLines,
    breaker,
    batcher,
    registry,
    scheduler,
    delivery,
    service,
    accountProblems,
    budgetsReached,
    outcomes,
    /** Stops timers and waits for work in flight. */
    async stop(): Promise<void> {
      registry.stop();
      await scheduler.stop();
      await delivery.stop();
    },
  };
}

/** A preflighted request for `service.start`. */
export function newGeneration(guildId: string, userId: string, prompt = `a video for ${userId} in ${guildId}`) {
  return {
    guildId,
    channelId: `${guildId}-channel`,
    userId,
    uploadLimitBytes: 10 * 1024 * 1024,
    request: { prompt, model: 'sora-2' as const, duration: 10 as const, orientation: 'landscape' as const, size: 'small' as const },
  };
}
