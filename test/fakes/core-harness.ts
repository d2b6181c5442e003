import type { BudgetReached, GuildStartLimits } from '../../src/core/generation-service.js';
import {
  systemClock,
  systemTimers,
  type DeliveryCheck,
  type GenerationTimes,
  type GuildLeases,
  type GuildUsageLog,
  type SlotPool,
} from '../../src/core/ports.js';
import { QueueEtas } from '../../src/core/queue-etas.js';
import type { SubmitLimits } from '../../src/core/submit-scheduler.js';
import type { Task } from '../../src/core/task.js';
import type { Showcase } from '../../src/discord/command.js';
import { createEngine } from '../../src/engine.js';
import type { PollSchedule } from '../../src/poller/guild-poller.js';
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
  memberDailyQuota?: number;
  /** The default member cooldown; 0 (off) unless a test asks. */
  memberCooldownSeconds?: number;
  breakerCooldownMs?: number;
  gatherMs?: number;
  /** Guild settings as the core sees them. */
  guildLimits?: (guildId: string) => Promise<GuildStartLimits>;
  usage?: GuildUsageLog;
  guildMaxActiveGenerationsOf?: (guildId: string) => number | undefined;
  /** Several processes: shared slots and guild leases (e.g. `createMemoryCoordination()`). */
  coordination?: { slots: SlotPool; leases: GuildLeases; renewEveryMs: number };
  /** Auto-showcase, as a guild that turned it on has it. */
  autoShowcase?: { showcase: Showcase; enabledIn: (guildId: string) => boolean };
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
 * The core wired by the bot's own engine (`src/engine.ts`) over fakes, on the system clock and
 * timers (drive them with `vi.useFakeTimers()`).
 */
export function createCoreHarness(options: CoreHarnessOptions = {}) {
  const store = options.store ?? new MemoryTaskStore();
  const api = options.api ?? new FakeVideoApi();
  const publisher = new MemoryPublisher(store);
  const progress = new RecordingProgress();
  const logLines: LogLine[] = [];
  const logger = new SilentLogger(logLines);
  const accountProblems: { code: string; firstTime: boolean }[] = [];
  const budgetsReached: BudgetReached[] = [];
  const outcomes: Task[] = [];

  const engine = createEngine({
    store,
    api,
    publisher,
    progress,
    clock: systemClock,
    timers: systemTimers,
    logger,
    limits: {
      maxActiveGenerations: 5,
      guildMaxActiveGenerations: 3,
      submitMinIntervalMs: 2_000,
      ...options.limits,
      memberDailyQuota: options.memberDailyQuota ?? 10,
      memberCooldownSeconds: options.memberCooldownSeconds ?? 0,
      circuitBreakerCooldownMs: options.breakerCooldownMs ?? 60_000,
      modelRetryCooldownMs: 10 * 60_000,
    },
    schedule: { ...TEST_SCHEDULE, ...options.schedule },
    statusBatching: { maxBatchSize: 50, gatherMs: options.gatherMs ?? 100, minRequestIntervalMs: 20 },
    ...(options.guildLimits ? { guildLimits: options.guildLimits } : {}),
    ...(options.guildMaxActiveGenerationsOf ? { guildMaxActiveGenerationsOf: options.guildMaxActiveGenerationsOf } : {}),
    ...(options.usage ? { usage: options.usage } : {}),
    ...(options.coordination ? { coordination: options.coordination } : {}),
    ...(options.autoShowcase ? { autoShowcase: options.autoShowcase } : {}),
    ...(options.times ? { etas: new QueueEtas(options.times) } : {}),
    ...(options.deliveryCheck ? { deliveryCheck: options.deliveryCheck } : {}),
  });
  engine.events.outcome.connect((task) => void outcomes.push(task));
  engine.events.accountProblem.connect((code, firstTime) => void accountProblems.push({ code, firstTime }));
  engine.events.budgetReached.connect((event) => void budgetsReached.push(event));

  return {
    engine,
    store,
    api,
    publisher,
    progress,
    logLines,
    breaker: engine.breaker,
    batcher: engine.batcher,
    registry: engine.pollers,
    scheduler: engine.scheduler,
    delivery: engine.delivery,
    service: engine.generation,
    accountProblems,
    budgetsReached,
    outcomes,
    /** Stops timers and waits for work in flight. */
    stop: () => engine.stop(),
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
