import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Events, type Client, type REST } from 'discord.js';
import type { Logger as PinoLogger } from 'pino';
import { commands, componentHandler, messageCommands } from '../commands/index.js';
import type { Config } from './config-types.js';
import { systemClock, systemTimers, type Clock, type TaskStore } from './core/ports.js';
import { QueueEtas } from './core/queue-etas.js';
import { allGuildsUsageReport, guildUsageReport } from './core/usage-report.js';
import { AdminLog } from './discord/admin-log.js';
import { createDiscordActions } from './discord/discord-actions.js';
import { commandDefinitions, registerCommandsIfChanged, registersCommands } from './discord/command-registration.js';
import { createDeliveryCheck } from './discord/delivery-check.js';
import { registerGatewayEvents } from './discord/gateway-events.js';
import { createDiscordClient, createInteractionRest, holdsGuildShard, isGatewayReady, routeInteractionRequests } from './discord/client.js';
import { createDiscordPublisher } from './discord/publisher.js';
import { createProgressReporter } from './discord/progress-reporter.js';
import { InteractionRouter } from './discord/router.js';
import { createShowcase } from './discord/showcase.js';
import { Signal, createEngine, type Engine, type StopStep } from './engine.js';
import type { Showcase } from './discord/command.js';
import { createHttpServer, type HttpServer } from './http/http-server.js';
import { callbackUrl, registerCallbackRoute } from './http/callback-route.js';
import { registerOpsRoutes } from './http/ops-routes.js';
import { instrumentDiscordRest } from './metrics/discord-metrics.js';
import { BotMetrics, instrumentPublisher, instrumentVideoApi } from './metrics/metrics.js';
import { newCallbackSecret } from './poller/callback-receiver.js';
import { cadenceKey, GenerationTimeEstimator } from './poller/poll-cadence.js';
import { guildLimitsOf } from './settings/guild-settings.js';
import { createSettingsStore, type SettingsStore } from './settings/settings-store.js';
import { createUsageLog } from './settings/usage-log.js';
import { createAceDataClient } from './sora/sora-client.js';
import { MAX_BATCH_SIZE, createAceDataVideoApi } from './sora/video-api.js';
import { createKeyvTaskStore } from './store/keyv-task-store.js';
import { createKeyvRegisteredCommands } from './store/keyv-registered-commands.js';
import { openStoreBackend, type StoreBackend } from './store/open-store.js';
import { createRedisCoordination } from './store/redis-coordination.js';
import { lockStore } from './store/store-lock.js';

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

/** The engine's limits and cadences, from the configuration. */
function engineSettings(config: Config) {
  const publicUrl = config.publicUrl;
  // With callbacks, polling is only the safety net for a lost callback: it can run much slower.
  const pollIntervalMs = publicUrl ? config.pollIntervalMs * CALLBACK_SAFETY_NET_FACTOR : config.pollIntervalMs;
  return {
    limits: {
      maxActiveGenerations: config.limits.maxActiveGenerations,
      guildMaxActiveGenerations: config.limits.guildMaxActiveGenerations,
      submitMinIntervalMs: config.limits.submitMinIntervalMs,
      memberDailyQuota: config.limits.memberDailyQuota,
      memberCooldownSeconds: config.limits.memberCooldownSeconds,
      circuitBreakerCooldownMs: config.limits.circuitBreakerCooldownMs,
      modelRetryCooldownMs: config.models.retryCooldownMs,
    },
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
    statusBatching: {
      maxBatchSize: MAX_BATCH_SIZE,
      gatherMs: STATUS_GATHER_MS,
      minRequestIntervalMs: MIN_STATUS_REQUEST_INTERVAL_MS,
      // ≤ ceil(followed / 50) + 1 requests per poll interval per endpoint; the spare one checks tasks near their finish.
      ...(config.pollOnBeatsOnly ? {} : { budgetWindowMs: pollIntervalMs }),
    },
    ...withEtas(new GenerationTimeEstimator()),
    ...(publicUrl
      ? { callbacks: { newSecret: newCallbackSecret, urlFor: (id: string, secret: string) => callbackUrl(publicUrl, id, secret) } }
      : {}),
    waitingReplyRefreshMs: WAITING_REPLY_REFRESH_MS,
  };
}

/** What the pollers learn of generation times also estimates the waiting members' start and ready times. */
function withEtas(estimator: GenerationTimeEstimator) {
  return { estimator, etas: new QueueEtas({ expectedMs: (request) => estimator.expectedMs(cadenceKey(request)) }) };
}

/** The bot's Discord client, and a REST instance of its own for interaction webhooks; both measured. */
function createDiscordClients(config: Config, metrics: BotMetrics) {
  const { shardCount, shardIds } = config.sharding;
  const client = createDiscordClient({ apiUrl: config.discord.apiUrl, shardCount, shardIds });
  instrumentDiscordRest(client.rest, metrics);
  const interactionRest = createInteractionRest(config.discord.apiUrl);
  instrumentDiscordRest(interactionRest, metrics);
  routeInteractionRequests(client.rest, interactionRest);
  return { client, interactionRest };
}

/** Where the engine's results and progress go: channel posts (bot token) and interaction webhooks. */
function discordOutputs(
  config: Config,
  client: Client,
  interactionRest: REST,
  deps: { metrics: BotMetrics; clock: Clock; logger: PinoLogger; downloadsStopping: AbortSignal },
) {
  const { metrics, clock, logger } = deps;
  return {
    publisher: instrumentPublisher(
      createDiscordPublisher({
        rest: client.rest,
        // Known once logged in; no task is published before.
        botUserId: () => client.user?.id,
        fetchTimeoutMs: config.videoDownload.timeoutMs,
        stallTimeoutMs: config.videoDownload.stallTimeoutMs,
        // Ends video downloads and the waits between their retries on shutdown (the task stays `posting`).
        signal: deps.downloadsStopping,
        logger: logger.child({ component: 'publisher' }),
      }),
      metrics,
    ),
    progress: createProgressReporter({
      // Interaction webhooks are not bound by the bot's global rate limit (50 requests/s): on their own
      // REST instance, thousands of progress edits never hold up result posts.
      rest: interactionRest,
      clock,
      minIntervalMs: PROGRESS_MIN_INTERVAL_MS,
      logger: logger.child({ component: 'progress' }),
    }),
  };
}

/** The gauges of /metrics, read from the engine at each scrape. */
function watchEngine(metrics: BotMetrics, engine: Engine, gatewayReady: () => boolean): void {
  const { scheduler, pollers, breaker, ownership } = engine;
  metrics.watch({
    queuedCount: () => scheduler.queuedCount(),
    runningCount: () => scheduler.runningCount(),
    followedCount: () => pollers.followedCount(),
    circuitOpen: () => breaker.isOpen(),
    gatewayReady,
    ...(ownership ? { guildLeases: () => ownership.counts() } : {}),
  });
}

/** What admins and metrics hear from the engine: posts, budgets, account and model problems. */
function wireAdminNotices(
  engine: Engine,
  deps: { adminLog: AdminLog; metrics: BotMetrics; settings: SettingsStore; config: Config; clock: Clock; logger: PinoLogger },
): void {
  const { adminLog, metrics, settings, config, clock, logger } = deps;
  engine.events.published.connect((task) => {
    metrics.recordPublished(task);
    adminLog.taskPublished(task);
  });
  engine.events.budgetReached.connect((event) => adminLog.budgetReached(event));
  const offeredIn = (guildId: string, modelId: string) => {
    const allowed = settings.peek(guildId).allowedModels;
    return config.models.enabled.includes(modelId) && (allowed.length === 0 || allowed.includes(modelId));
  };
  engine.events.modelUnavailable.connect((task, code, firstTime) => {
    // Once per cool-down: every other waiting task of the model ends without a submit too.
    if (!firstTime) return;
    const health = engine.modelAvailability.health(task.request.model);
    const retryAt = health.state === 'unavailable' ? health.retryAt : new Date(clock.now().getTime() + config.models.retryCooldownMs);
    adminLog.modelUnavailable(task.request.model, code, retryAt, (guildId) => offeredIn(guildId, task.request.model));
  });
  engine.events.accountProblem.connect((code, firstTime) => {
    // Said once per trip: every queued member would otherwise repeat it.
    if (!firstTime) return;
    adminLog.accountProblem(code);
    logger.error(
      { code, cooldownMs: config.limits.circuitBreakerCooldownMs },
      'Ace Data Cloud refused the account; submits are stopped until the cool-down ends or the bot restarts',
    );
  });
}

/**
 * On Redis, several processes may share the ledger: guild leases and account-wide slots keep them
 * from following one guild twice or running more generations than the account allows.
 */
function openCoordination(config: Config, url: string, logger: PinoLogger) {
  return createRedisCoordination({
    url,
    keyPrefix: `${config.redisKeyPrefix}coord:`,
    instanceId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseTtlMs: config.sharding.guildLeaseTtlMs,
    maxActiveGenerations: config.limits.maxActiveGenerations,
    submitMinIntervalMs: config.limits.submitMinIntervalMs,
    logger: logger.child({ component: 'coordination' }),
  });
}

/** The slash commands, buttons and message commands, over the engine. */
function createRouter(
  config: Config,
  engine: Engine,
  deps: { settings: SettingsStore; showcase: Showcase; rest: REST; store: TaskStore; clock: Clock; logger: PinoLogger },
): InteractionRouter {
  const { settings, showcase, rest, store, clock, logger } = deps;
  return new InteractionRouter(
    commands,
    {
      generation: engine.generation,
      clock,
      logger,
      settings,
      modelAvailability: engine.modelAvailability,
      discord: createDiscordActions(rest),
      showcase,
      usageReports: { forGuild: (guildId, days) => guildUsageReport(store, clock, guildId, days) },
      limitDefaults: {
        memberDailyQuota: config.limits.memberDailyQuota,
        guildMaxActiveGenerations: config.limits.guildMaxActiveGenerations,
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
}

/** /healthz, /readyz, /metrics and, with a public URL, the provider's callbacks. */
async function startHttpServer(
  config: Config,
  port: number,
  engine: Engine,
  deps: {
    store: TaskStore;
    clock: Clock;
    metrics: BotMetrics;
    logger: PinoLogger;
    gatewayReady: () => boolean;
    storeAnswers: () => Promise<void>;
    shuttingDown: () => boolean;
  },
): Promise<HttpServer> {
  const { store, clock, metrics, logger, gatewayReady, storeAnswers, shuttingDown } = deps;
  const { host, usageOnPublicUrl } = config.http;
  const httpServer = createHttpServer({ host, port, logger: logger.child({ component: 'http' }) });
  registerOpsRoutes(httpServer, {
    readiness: { gatewayReady, storeAnswers, shuttingDown },
    renderMetrics: () => metrics.render(),
    onStoreError: (err) => logger.warn({ err }, 'readiness: the store did not answer'),
    usage: {
      report: (days) => allGuildsUsageReport(store, clock, days),
      ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
      allowPublic: usageOnPublicUrl,
    },
  });
  if (engine.callbacks) registerCallbackRoute(httpServer, engine.callbacks);
  const address = await httpServer.listen();
  logger.info({ url: address.url }, 'http server listening (/healthz, /readyz, /metrics, /usage)');
  return httpServer;
}

/**
 * Commands appear by themselves: registered in the background when they differ from the last
 * registration. With several processes only the one running shard 0 registers.
 */
function registerCommandsInBackground(
  config: Config,
  client: Client,
  backend: StoreBackend,
  logger: PinoLogger,
): Promise<unknown> | undefined {
  if (!registersCommands(config.sharding.shardIds)) return undefined;
  return registerCommandsIfChanged({
    rest: client.rest,
    record: createKeyvRegisteredCommands(backend),
    guildId: config.discord.guildId,
    definitions: commandDefinitions(commands, messageCommands),
    logger: logger.child({ component: 'commands' }),
    ...(client.application ? { applicationId: client.application.id } : {}),
  });
}

/** Runs a shutdown: every step runs even when one fails (the store must still be closed: sqlite flushes its WAL). */
async function stopInSteps(logger: PinoLogger, steps: (step: StopStep) => Promise<void>): Promise<void> {
  const failures: unknown[] = [];
  await steps(async (name, work) => {
    try {
      await work();
    } catch (err) {
      failures.push(err);
      logger.error({ err, step: name }, 'shutdown step failed');
    }
  });
  if (failures.length > 0) throw new AggregateError(failures, 'shutdown finished with errors');
}

/**
 * The ledger, guild settings and usage log on one backend (with the sqlite file locked to this
 * process), and on Redis the coordination between processes.
 */
async function openStorage(config: Config, clock: Clock, logger: PinoLogger) {
  // One process per sqlite file: refuses to start (StoreLockedError) while another one runs on it.
  const storeLock = await lockStore(config.store);
  const backend = openStoreBackend(config.store, { logger, redis: { keyPrefix: config.redisKeyPrefix } });
  const coordination = config.store.kind === 'redis' ? openCoordination(config, config.store.url, logger) : undefined;
  await coordination?.connect();
  const store = createKeyvTaskStore(backend, { clock });
  // A raised per-guild cap must let waiting tasks through at once, not at the next submit.
  const settingsChanged = new Signal<[guildId: string]>();
  const settings = createSettingsStore(backend, {
    logger: logger.child({ component: 'settings' }),
    onChange: (guildId) => {
      settingsChanged.emit(guildId);
      coordination
        ?.settingsChanged(guildId)
        .catch((err: unknown) => logger.warn({ err, guildId }, 'could not tell the other processes about a settings change'));
    },
  });
  const usage = createUsageLog(backend);
  // Read once here, so the scheduler's per-guild lookups and the admin log need no I/O later.
  logger.info({ guilds: await settings.load() }, 'guild settings loaded');
  return { storeLock, backend, coordination, store, settings, usage, settingsChanged };
}

/** The composition root: config → store → clients → engine → router → login. */
export async function startBot(config: Config, logger: PinoLogger): Promise<RunningBot> {
  const clock = systemClock;
  const timers = systemTimers;
  if (!config.allowedGuildIds) {
    logger.warn({}, 'ALLOWED_GUILD_IDS is not set: any server that adds the bot can spend your Ace Data Cloud credits');
  }

  const { storeLock, backend, coordination, store, settings, usage, settingsChanged } = await openStorage(config, clock, logger);
  const { shardCount, shardIds, guildLeaseTtlMs } = config.sharding;
  const holdsShardOf = (guildId: string) => holdsGuildShard(guildId, shardCount, shardIds);

  // One client (one connection pool, one token) for every Ace Data Cloud service.
  const { baseUrl, apiToken, requestTimeoutMs } = config.acedata;
  const aceClient = createAceDataClient({ baseUrl, apiToken, requestTimeoutMs });
  const metrics = new BotMetrics();

  const { client, interactionRest } = createDiscordClients(config, metrics);
  const adminLog = new AdminLog({
    rest: client.rest,
    settings,
    // The guild's own language, as the gateway reported it (the same as an interaction's guildLocale).
    guildLocale: (guildId) => client.guilds.cache.get(guildId)?.preferredLocale,
    logger: logger.child({ component: 'admin-log' }),
  });
  const showcase = createShowcase({ rest: client.rest, settings, backend, logger: logger.child({ component: 'showcase' }) });

  const downloadsStopping = new AbortController();
  const engine = createEngine({
    ...engineSettings(config),
    store,
    api: instrumentVideoApi(createAceDataVideoApi(aceClient), metrics),
    ...discordOutputs(config, client, interactionRest, { metrics, clock, logger, downloadsStopping: downloadsStopping.signal }),
    // The bot's live view of Discord: nothing is submitted, or posted, where a result cannot arrive.
    deliveryCheck: createDeliveryCheck(client),
    clock,
    timers,
    logger,
    guildLimits: async (guildId) => guildLimitsOf(await settings.get(guildId)),
    guildMaxActiveGenerationsOf: (guildId) => settings.peek(guildId).guildMaxActiveGenerations,
    usage,
    ...(coordination ? { coordination: { ...coordination, renewEveryMs: Math.floor(guildLeaseTtlMs / 3) } } : {}),
    autoShowcase: { showcase, enabledIn: (guildId) => settings.peek(guildId).autoShowcase },
  });
  const { scheduler, ownership } = engine;
  wireAdminNotices(engine, { adminLog, metrics, settings, config, clock, logger });
  settingsChanged.connect(() => scheduler.pump());
  // Normally only the process serving a guild's shard changes its settings; during a rolling restart
  // two may, so each reads a guild's settings again when another process changed them.
  coordination?.onSettingsChanged((guildId) => {
    settings.reload(guildId).then(
      () => scheduler.pump(),
      (err: unknown) => logger.warn({ err, guildId }, 'could not read changed guild settings'),
    );
  });

  const router = createRouter(config, engine, { settings, showcase, rest: client.rest, store, clock, logger });
  client.on(Events.InteractionCreate, (interaction) => void router.handle(interaction));
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));
  const gatewayEvents = registerGatewayEvents(client, {
    recheckGuild: (guildId) => scheduler.recheckGuild(guildId),
    allowedGuildIds: config.allowedGuildIds,
    logger: logger.child({ component: 'gateway-events' }),
  });

  let shuttingDown = false;
  watchEngine(metrics, engine, () => isGatewayReady(client));
  // Started before login so /healthz answers while the gateway connects (Docker's start period).
  const httpServer =
    config.http.port === undefined
      ? undefined
      : await startHttpServer(config, config.http.port, engine, {
          store,
          clock,
          metrics,
          logger,
          gatewayReady: () => isGatewayReady(client),
          // With several processes, the coordination connection must answer too: no slot, no submit.
          storeAnswers: async () => void (await Promise.all([store.get('readyz-probe'), coordination?.ping()])),
          shuttingDown: () => shuttingDown,
        });

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(config.discord.token);
  await ready;
  logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'logged in');
  await gatewayEvents.leaveOutsiders();
  await engine.recover(holdsShardOf);
  logger.info({ shards: shardIds ?? 'all', ...ownership?.counts() }, 'ready to serve commands');
  const commandRegistration = registerCommandsInBackground(config, client, backend, logger);
  // Channels deleted, permissions changed or servers left while the bot was down.
  void scheduler.recheckAll().catch((err: unknown) => logger.warn({ err }, 'could not re-check waiting tasks'));

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= stopInSteps(logger, async (step) => {
        shuttingDown = true;
        downloadsStopping.abort();
        router.beginShutdown();
        await engine.stop(step);
        await step('http', async () => httpServer?.close());
        await step('discord', () => client.destroy());
        await step('acedata', () => aceClient.close());
        await step('command registration', async () => commandRegistration);
        await step('store', () => store.close());
        await step('settings', async () => {
          await adminLog.idle();
          await settings.close();
          await usage.close();
        });
        await step('store backend', () => backend.close());
        await step('coordination', async () => coordination?.close());
        await step('store lock', () => storeLock.release());
      });
      return stopping;
    },
  };
}
