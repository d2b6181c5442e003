import { Events } from 'discord.js';
import type { Logger as PinoLogger } from 'pino';
import { commands } from '../commands/index.js';
import type { Config } from './config-types.js';
import { CircuitBreaker } from './core/circuit-breaker.js';
import { DeliveryService } from './core/delivery.js';
import { GenerationService } from './core/generation-service.js';
import { systemClock, systemTimers, type Publisher } from './core/ports.js';
import { SubmitScheduler } from './core/submit-scheduler.js';
import { createDiscordClient } from './discord/client.js';
import { createDiscordPublisher } from './discord/publisher.js';
import { createProgressReporter } from './discord/progress-reporter.js';
import { InteractionRouter } from './discord/router.js';
import { PollerRegistry } from './poller/poller-registry.js';
import { StatusBatcher } from './poller/status-batcher.js';
import { createSoraClient } from './sora/sora-client.js';
import { MAX_BATCH_SIZE, createSoraVideoApi } from './sora/video-api.js';
import { createKeyvTaskStore } from './store/keyv-task-store.js';
import { openStoreBackend } from './store/open-store.js';

/** A running bot; `stop()` shuts it down gracefully. */
export interface RunningBot {
  stop(): Promise<void>;
}

// The documented polling limit is 60 requests/s per token; stay below it.
const MIN_STATUS_REQUEST_INTERVAL_MS = 20;
const STATUS_GATHER_MS = 25;
const SLOW_POLL_INTERVAL_MS = 5 * 60_000;
const MAX_POLL_BACKOFF_MS = 5 * 60_000;
const PROGRESS_MIN_INTERVAL_MS = 10_000;
const WAITING_REPLY_REFRESH_MS = 15_000;

/** The composition root: config → store → clients → core → pollers → router → login. */
export async function startBot(config: Config, logger: PinoLogger): Promise<RunningBot> {
  const clock = systemClock;
  const timers = systemTimers;

  if (!config.allowedGuildIds) {
    logger.warn({}, 'ALLOWED_GUILD_IDS is not set: any server that adds the bot can spend your Ace Data Cloud credits');
  }

  const backend = openStoreBackend(config.storeUrl, { logger });
  const store = createKeyvTaskStore(backend, { clock });

  const soraClient = createSoraClient({
    baseUrl: config.acedata.baseUrl,
    apiToken: config.acedata.apiToken,
    requestTimeoutMs: config.acedata.requestTimeoutMs,
  });
  const videoApi = createSoraVideoApi(soraClient);

  const client = createDiscordClient({ apiUrl: config.discord.apiUrl });
  const progress = createProgressReporter({
    rest: client.rest,
    clock,
    minIntervalMs: PROGRESS_MIN_INTERVAL_MS,
    logger: logger.child({ component: 'progress' }),
  });

  const breaker = new CircuitBreaker(clock, config.limits.circuitBreakerCooldownMs);
  const late: { publisher?: Publisher } = {};
  const delivery = new DeliveryService({
    store,
    // The publisher needs the bot's user id, known only after login; no task is published before.
    publisher: { publish: (task, options) => late.publisher!.publish(task, options) },
    progress,
    clock,
    timers,
    logger: logger.child({ component: 'delivery' }),
  });

  // eslint-disable-next-line prefer-const -- the scheduler and the pollers refer to each other.
  let pollers: PollerRegistry;
  const scheduler = new SubmitScheduler({
    store,
    api: videoApi,
    clock,
    timers,
    breaker,
    progress,
    logger: logger.child({ component: 'scheduler' }),
    limits: {
      maxActiveGenerations: config.limits.maxActiveGenerations,
      perGuildConcurrency: config.limits.perGuildConcurrency,
      submitMinIntervalMs: config.limits.submitMinIntervalMs,
    },
    events: {
      onSubmitted: (task) => pollers.follow(task),
      onFinishedWithoutGeneration: (task) => delivery.deliver(task.id),
      onAccountProblem: (code, _message, firstTime) => {
        // Said once per trip: every queued member would otherwise repeat it.
        if (firstTime) {
          generation.refreshWaitingReplies();
          logger.error(
            { code, cooldownMs: config.limits.circuitBreakerCooldownMs },
            'Ace Data Cloud refused the account; submits are stopped until the cool-down ends or the bot restarts',
          );
        }
      },
    },
  });

  const batcher = new StatusBatcher({
    api: videoApi,
    timers,
    maxBatchSize: MAX_BATCH_SIZE,
    gatherMs: STATUS_GATHER_MS,
    minRequestIntervalMs: MIN_STATUS_REQUEST_INTERVAL_MS,
  });
  pollers = new PollerRegistry({
    store,
    batcher,
    clock,
    timers,
    logger,
    schedule: {
      pollIntervalMs: config.pollIntervalMs,
      slowPollIntervalMs: Math.max(SLOW_POLL_INTERVAL_MS, config.pollIntervalMs),
      maxBackoffMs: MAX_POLL_BACKOFF_MS,
      pollGiveUpMs: config.limits.pollGiveUpMs,
      lateResultWindowMs: config.limits.lateResultWindowMs,
    },
    events: {
      onOutcome: (task) => {
        scheduler.release(task.id);
        delivery.deliver(task.id);
      },
      onStillRunning: (task) => {
        const elapsedMs = clock.now().getTime() - Date.parse(task.submittedAt ?? task.createdAt);
        void progress.report(task, { kind: 'generating', elapsedMs });
      },
    },
  });

  const generation = new GenerationService({
    store,
    scheduler,
    delivery,
    follower: pollers,
    breaker,
    progress,
    clock,
    logger,
    limits: { perMemberDailyQuota: config.limits.perMemberDailyQuota },
  });

  const replyRefresher = setInterval(() => generation.refreshWaitingReplies(), WAITING_REPLY_REFRESH_MS).unref();

  const router = new InteractionRouter(
    commands,
    {
      generation,
      clock,
      logger,
      preflightRules: {
        allowedGuildIds: config.allowedGuildIds,
        promptMaxChars: config.limits.promptMaxChars,
        imageMaxBytes: config.limits.imageMaxBytes,
        defaults: { model: 'sora-2', duration: 10, orientation: 'landscape', size: 'small' },
      },
    },
    logger.child({ component: 'router' }),
  );
  client.on(Events.InteractionCreate, (interaction) => void router.handle(interaction));
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(config.discord.token);
  await ready;
  late.publisher = createDiscordPublisher({
    rest: client.rest,
    botUserId: client.user!.id,
    logger: logger.child({ component: 'publisher' }),
  });
  logger.info({ user: client.user!.tag, guilds: client.guilds.cache.size }, 'logged in');
  await generation.recover();

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        router.beginShutdown();
        clearInterval(replyRefresher);
        pollers.stop();
        await scheduler.stop();
        await delivery.stop();
        await client.destroy();
        await soraClient.close();
        await store.close();
        await backend.close();
      })();
      return stopping;
    },
  };
}
