import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Events } from 'discord.js';
import type { Logger as PinoLogger } from 'pino';
import { commands, componentHandler, messageCommands } from '../commands/index.js';
import type { Config } from './config-types.js';
import { CircuitBreaker } from './core/circuit-breaker.js';
import { DeliveryService } from './core/delivery.js';
import { GenerationService } from './core/generation-service.js';
import { GuildOwnership } from './core/guild-ownership.js';
import { ModelAvailability } from './core/model-availability.js';
import { systemClock, systemTimers, type Publisher } from './core/ports.js';
import { SubmitScheduler } from './core/submit-scheduler.js';
import { AdminLog } from './discord/admin-log.js';
import { createDiscordActions } from './discord/discord-actions.js';
import { createDiscordClient, createInteractionRest, holdsGuildShard, isGatewayReady, routeInteractionRequests } from './discord/client.js';
import { createDiscordPublisher } from './discord/publisher.js';
import { createProgressReporter } from './discord/progress-reporter.js';
import { InteractionRouter } from './discord/router.js';
import { createShowcase } from './discord/showcase.js';
import { createHttpServer, type HttpServer } from './http/http-server.js';
import { callbackUrl, registerCallbackRoute } from './http/callback-route.js';
import { registerOpsRoutes } from './http/ops-routes.js';
import { instrumentDiscordRest } from './metrics/discord-metrics.js';
import { BotMetrics, instrumentPublisher, instrumentVideoApi } from './metrics/metrics.js';
import { CallbackReceiver, newCallbackSecret } from './poller/callback-receiver.js';
import type { PollerEvents } from './poller/guild-poller.js';
import { GenerationTimeEstimator } from './poller/poll-cadence.js';
import { PollerRegistry } from './poller/poller-registry.js';
import { StatusBatchers } from './poller/status-batcher.js';
import { guildLimitsOf } from './settings/guild-settings.js';
import { createSettingsStore } from './settings/settings-store.js';
import { createUsageLog } from './settings/usage-log.js';
import { createAceDataClient } from './sora/sora-client.js';
import { MAX_BATCH_SIZE, createAceDataVideoApi } from './sora/video-api.js';
import { createKeyvTaskStore } from './store/keyv-task-store.js';
import { openStoreBackend } from './store/open-store.js';
import { createRedisCoordination } from './store/redis-coordination.js';

/** A running bot; `stop()` shuts it down gracefully. */
export interface RunningBot {
  stop(): Promise<void>;
}

// The documented polling limit is 60 requests/s per token; stay below it.
const MIN_STATUS_REQUEST_INTERVAL_MS = 20;
// Every guild's poller fires on the same beat: their ids arrive within a few ms of each other.
const STATUS_GATHER_MS = 5;
const SLOW_POLL_INTERVAL_MS = 5 * 60_000;
const MAX_POLL_BACKOFF_MS = 5 * 60_000;
// Adaptive cadence: early in a generation poll 3× less often; a generation far past its expected
// time is checked at most every 30 s (both relative to POLL_INTERVAL_MS).
const EARLY_POLL_FACTOR = 3;
const MAX_POLL_INTERVAL_MS = 30_000;
const CALLBACK_SAFETY_NET_FACTOR = 6;
const PROGRESS_MIN_INTERVAL_MS = 10_000;
const WAITING_REPLY_REFRESH_MS = 15_000;

/** The composition root: config → store → clients → core → pollers → router → login. */
export async function startBot(config: Config, logger: PinoLogger): Promise<RunningBot> {
  const clock = systemClock;
  const timers = systemTimers;

  if (!config.allowedGuildIds) {
    logger.warn({}, 'ALLOWED_GUILD_IDS is not set: any server that adds the bot can spend your Ace Data Cloud credits');
  }

  const backend = openStoreBackend(config.storeUrl, { logger, redis: { keyPrefix: config.redisKeyPrefix } });
  const { shardCount, shardIds, guildLeaseTtlMs } = config.sharding;
  const holdsShardOf = (guildId: string) => holdsGuildShard(guildId, shardCount, shardIds);
  // On Redis, several processes may share the ledger: guild leases and account-wide slots keep
  // them from following one guild twice or running more generations than the account allows.
  const coordination =
    backend.kind === 'redis'
      ? createRedisCoordination({
          url: config.storeUrl,
          keyPrefix: `${config.redisKeyPrefix}coord:`,
          instanceId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          leaseTtlMs: guildLeaseTtlMs,
          maxActiveGenerations: config.limits.maxActiveGenerations,
          submitMinIntervalMs: config.limits.submitMinIntervalMs,
          logger: logger.child({ component: 'coordination' }),
        })
      : undefined;
  await coordination?.connect();
  const store = createKeyvTaskStore(backend, { clock });
  // A raised per-guild cap must let waiting tasks through at once, not at the next submit.
  const settings = createSettingsStore(backend, {
    logger: logger.child({ component: 'settings' }),
    onChange: (guildId) => {
      scheduler.pump();
      coordination
        ?.settingsChanged(guildId)
        .catch((err: unknown) => logger.warn({ err, guildId }, 'could not tell the other processes about a settings change'));
    },
  });
  // Normally only the process serving a guild's shard changes its settings; during a rolling restart
  // two may, so each reads a guild's settings again when another process changed them.
  coordination?.onSettingsChanged((guildId) => {
    settings.reload(guildId).then(
      () => scheduler.pump(),
      (err: unknown) => logger.warn({ err, guildId }, 'could not read changed guild settings'),
    );
  });
  const usage = createUsageLog(backend);
  // Read once here, so the scheduler's per-guild lookups and the admin log need no I/O later.
  logger.info({ guilds: await settings.load() }, 'guild settings loaded');

  // One client (one connection pool, one token) for every Ace Data Cloud service.
  const aceClient = createAceDataClient({
    baseUrl: config.acedata.baseUrl,
    apiToken: config.acedata.apiToken,
    requestTimeoutMs: config.acedata.requestTimeoutMs,
  });
  const metrics = new BotMetrics();
  const videoApi = instrumentVideoApi(createAceDataVideoApi(aceClient), metrics);

  const client = createDiscordClient({ apiUrl: config.discord.apiUrl, shardCount, shardIds });
  instrumentDiscordRest(client.rest, metrics);
  const interactionRest = createInteractionRest(config.discord.apiUrl);
  instrumentDiscordRest(interactionRest, metrics);
  routeInteractionRequests(client.rest, interactionRest);
  const progress = createProgressReporter({
    // Interaction webhooks are not bound by the bot's global rate limit (50 requests/s): on their own
    // REST instance, thousands of progress edits never hold up result posts.
    rest: interactionRest,
    clock,
    minIntervalMs: PROGRESS_MIN_INTERVAL_MS,
    logger: logger.child({ component: 'progress' }),
  });

  const adminLog = new AdminLog({
    rest: client.rest,
    settings,
    // The guild's own language, as the gateway reported it (the same as an interaction's guildLocale).
    guildLocale: (guildId) => client.guilds.cache.get(guildId)?.preferredLocale,
    logger: logger.child({ component: 'admin-log' }),
  });
  const showcase = createShowcase({ rest: client.rest, settings, backend, logger: logger.child({ component: 'showcase' }) });
  const breaker = new CircuitBreaker(clock, config.limits.circuitBreakerCooldownMs);
  const modelAvailability = new ModelAvailability(clock, config.models.retryCooldownMs);
  const offeredIn = (guildId: string, modelId: string) => {
    const allowed = settings.peek(guildId).allowedModels;
    return config.models.enabled.includes(modelId) && (allowed.length === 0 || allowed.includes(modelId));
  };
  const late: { publisher?: Publisher } = {};
  const delivery = new DeliveryService({
    store,
    // The publisher needs the bot's user id, known only after login; no task is published before.
    publisher: instrumentPublisher({ publish: (task, options) => late.publisher!.publish(task, options) }, metrics),
    onPublished: (task) => {
      metrics.recordPublished(task);
      adminLog.taskPublished(task);
      if (task.state === 'delivered' && task.outcome?.kind === 'succeeded' && settings.peek(task.guildId).autoShowcase) {
        void showcase.share(task).then(
          (outcome) => logger.debug({ taskId: task.id, outcome: outcome.kind }, 'auto-showcase'),
          (err: unknown) => logger.warn({ err, taskId: task.id }, 'auto-showcase failed'),
        );
      }
    },
    progress,
    clock,
    timers,
    logger: logger.child({ component: 'delivery' }),
  });

  const publicUrl = config.publicUrl;
  // With callbacks, polling is only the safety net for a lost callback: it can run much slower.
  const pollIntervalMs = publicUrl ? config.pollIntervalMs * CALLBACK_SAFETY_NET_FACTOR : config.pollIntervalMs;

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
    perGuildConcurrencyOf: (guildId) => settings.peek(guildId).maxActiveGenerations ?? undefined,
    availability: modelAvailability,
    ...(coordination ? { slots: coordination.slots } : {}),
    ...(publicUrl
      ? { callbacks: { newSecret: newCallbackSecret, urlFor: (id: string, secret: string) => callbackUrl(publicUrl, id, secret) } }
      : {}),
    events: {
      onSubmitted: (task) => pollers.follow(task),
      onFinishedWithoutGeneration: (task) => delivery.deliver(task.id),
      onModelUnavailable: (task, code, firstTime) => {
        // Once per cool-down: every other waiting task of the model ends without a submit too.
        if (!firstTime) return;
        const health = modelAvailability.health(task.request.model);
        const retryAt = health.state === 'unavailable' ? health.retryAt : new Date(clock.now().getTime() + config.models.retryCooldownMs);
        adminLog.modelUnavailable(task.request.model, code, retryAt, (guildId) => offeredIn(guildId, task.request.model));
      },
      onAccountProblem: (code, _message, firstTime) => {
        // Said once per trip: every queued member would otherwise repeat it.
        if (firstTime) {
          generation.refreshWaitingReplies();
          adminLog.accountProblem(code);
          logger.error(
            { code, cooldownMs: config.limits.circuitBreakerCooldownMs },
            'Ace Data Cloud refused the account; submits are stopped until the cool-down ends or the bot restarts',
          );
        }
      },
    },
  });

  const pollerEvents: PollerEvents = {
    onOutcome: (task) => {
      scheduler.release(task.id);
      delivery.deliver(task.id);
    },
    onStillRunning: (task) => {
      const elapsedMs = clock.now().getTime() - Date.parse(task.submittedAt ?? task.createdAt);
      void progress.report(task, { kind: 'generating', elapsedMs });
    },
  };
  // One batcher per tasks endpoint (`/<service>/tasks`): a request can only ask one service.
  const batcher = new StatusBatchers({
    api: videoApi,
    timers,
    maxBatchSize: MAX_BATCH_SIZE,
    gatherMs: STATUS_GATHER_MS,
    minRequestIntervalMs: MIN_STATUS_REQUEST_INTERVAL_MS,
    // ≤ ceil(followed / 50) + 1 requests per poll interval per endpoint; the spare one checks tasks near their finish.
    ...(config.pollOnBeatsOnly ? {} : { budgetWindowMs: pollIntervalMs }),
  });
  pollers = new PollerRegistry({
    store,
    batcher,
    clock,
    timers,
    logger,
    schedule: {
      pollIntervalMs,
      slowPollIntervalMs: Math.max(SLOW_POLL_INTERVAL_MS, pollIntervalMs),
      maxBackoffMs: MAX_POLL_BACKOFF_MS,
      cadence: {
        baseIntervalMs: pollIntervalMs,
        earlyFactor: EARLY_POLL_FACTOR,
        maxIntervalMs: Math.max(MAX_POLL_INTERVAL_MS, pollIntervalMs),
        // Until a model has finished a few generations, its catalogue time places the dense checks.
        seedFromCatalogue: true,
      },
      pollGiveUpMs: config.limits.pollGiveUpMs,
      lateResultWindowMs: config.limits.lateResultWindowMs,
    },
    estimator: new GenerationTimeEstimator(),
    events: pollerEvents,
  });

  const ownership = coordination
    ? new GuildOwnership({
        leases: coordination.leases,
        timers,
        logger: logger.child({ component: 'ownership' }),
        renewEveryMs: Math.floor(guildLeaseTtlMs / 3),
        events: {
          onAcquired: async (guildIds) => void (await generation.recover(new Set(guildIds))),
          onLost: (guildId) => {
            scheduler.forgetGuild(guildId);
            pollers.forgetGuild(guildId);
          },
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
    limits: { perMemberDailyQuota: config.limits.perMemberDailyQuota, memberCooldownSeconds: config.limits.memberCooldownSeconds },
    guildLimits: async (guildId) => guildLimitsOf(await settings.get(guildId)),
    usage,
    onBudgetReached: (event) => adminLog.budgetReached(event),
    ...(ownership ? { ownership } : {}),
  });

  const replyRefresher = setInterval(() => generation.refreshWaitingReplies(), WAITING_REPLY_REFRESH_MS).unref();

  const router = new InteractionRouter(
    commands,
    {
      generation,
      clock,
      logger,
      settings,
      modelAvailability,
      discord: createDiscordActions(client.rest),
      showcase,
      limitDefaults: {
        memberDailyQuota: config.limits.perMemberDailyQuota,
        perGuildConcurrency: config.limits.perGuildConcurrency,
        memberCooldownSeconds: config.limits.memberCooldownSeconds,
      },
      preflightRules: {
        allowedGuildIds: config.allowedGuildIds,
        promptMaxChars: config.limits.promptMaxChars,
        imageMaxBytes: config.limits.imageMaxBytes,
        // Duration, orientation and size: each model's own default unless a server sets one.
        defaults: { model: config.models.defaultModel },
        offeredModelIds: config.models.enabled,
      },
    },
    logger.child({ component: 'router' }),
    { components: componentHandler, messageCommands },
  );
  client.on(Events.InteractionCreate, (interaction) => void router.handle(interaction));
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));

  let shuttingDown = false;
  metrics.watch({
    queuedCount: () => scheduler.queuedCount(),
    runningCount: () => scheduler.runningCount(),
    followedCount: () => pollers.followedCount(),
    circuitOpen: () => breaker.isOpen(),
    gatewayReady: () => isGatewayReady(client),
    ...(ownership ? { guildLeases: () => ownership.counts() } : {}),
  });
  // Started before login so /healthz answers while the gateway connects (Docker's start period).
  let httpServer: HttpServer | undefined;
  if (config.http.port !== undefined) {
    httpServer = createHttpServer({ host: config.http.host, port: config.http.port, logger: logger.child({ component: 'http' }) });
    registerOpsRoutes(httpServer, {
      readiness: {
        gatewayReady: () => isGatewayReady(client),
        // With several processes, the coordination connection must answer too: no slot, no submit.
        storeAnswers: async () => void (await Promise.all([store.get('readyz-probe'), coordination?.ping()])),
        shuttingDown: () => shuttingDown,
      },
      renderMetrics: () => metrics.render(),
      onStoreError: (err) => logger.warn({ err }, 'readiness: the store did not answer'),
    });
    if (publicUrl) {
      registerCallbackRoute(
        httpServer,
        new CallbackReceiver({
          store,
          clock,
          logger: logger.child({ component: 'callbacks' }),
          follower: pollers,
          events: pollerEvents,
          ...(ownership ? { ownsGuild: (guildId: string) => ownership.owns(guildId) } : {}),
        }),
      );
    }
    const address = await httpServer.listen();
    logger.info({ url: address.url }, 'http server listening (/healthz, /readyz, /metrics)');
  }

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(config.discord.token);
  await ready;
  late.publisher = createDiscordPublisher({
    rest: client.rest,
    botUserId: client.user!.id,
    logger: logger.child({ component: 'publisher' }),
  });
  logger.info({ user: client.user!.tag, guilds: client.guilds.cache.size }, 'logged in');
  if (ownership) {
    // Guilds of our shards with unfinished work, or whose only trace is a slot a crash left behind.
    const candidates = new Set([
      ...(await store.listUnfinished()).map((task) => task.guildId),
      ...(await coordination!.slots.guildsHoldingSlots()),
    ]);
    await ownership.start([...candidates].filter(holdsShardOf));
  } else {
    await generation.recover();
  }
  logger.info({ shards: shardIds ?? 'all', ...ownership?.counts() }, 'ready to serve commands');

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        shuttingDown = true;
        router.beginShutdown();
        clearInterval(replyRefresher);
        pollers.stop();
        // Every step runs even when one fails: the store must still be closed (sqlite flushes its WAL).
        const failures: unknown[] = [];
        const step = async (name: string, work: () => Promise<unknown>) => {
          try {
            await work();
          } catch (err) {
            failures.push(err);
            logger.error({ err, step: name }, 'shutdown step failed');
          }
        };
        // Submits already sent and posts under way are recorded before anything closes.
        await step('scheduler', () => scheduler.stop());
        await step('delivery', () => delivery.stop());
        // Released only now, when nothing of ours runs any more: a successor takes over at once.
        await step('guild leases', async () => ownership?.stop());
        await step('http', async () => httpServer?.close());
        await step('discord', () => client.destroy());
        await step('acedata', () => aceClient.close());
        await step('store', () => store.close());
        await step('settings', async () => {
          await adminLog.idle();
          await settings.close();
          await usage.close();
        });
        await step('store backend', () => backend.close());
        await step('coordination', async () => coordination?.close());
        if (failures.length > 0) throw new AggregateError(failures, 'shutdown finished with errors');
      })();
      return stopping;
    },
  };
}
