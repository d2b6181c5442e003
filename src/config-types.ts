import type { StoreLocation } from './store/store-location.js';

/** The bot's validated configuration, read once from the environment by `loadConfig`. */
export interface Config {
  discord: {
    token: string;
    /** REST base handed to discord.js `rest.api`; undefined means Discord's own. */
    apiUrl: string | undefined;
    /** `deploy-commands` registers to this guild only when set. */
    guildId: string | undefined;
  };
  acedata: {
    apiToken: string;
    baseUrl: string;
    /** Timeout for one HTTP request to the API. */
    requestTimeoutMs: number;
  };
  /** discord.js sharding and, with several processes on one Redis, guild ownership. */
  sharding: {
    /** Shards of the whole bot; `auto` takes Discord's recommendation (and runs every shard here). */
    shardCount: number | 'auto';
    /** The shards this process runs (sorted); undefined: every shard. */
    shardIds: readonly number[] | undefined;
    /** How long a process's claim on a guild's tasks lasts unless renewed (takeover delay after a crash). */
    guildLeaseTtlMs: number;
  };
  /** `STORE_URL` parsed: `sqlite://path`, `redis://host:port` (or `memory://`, tests only); a Redis URL may hold a password. */
  store: StoreLocation;
  /** Prepended to every Redis key, so several bots (or test runs) can share one Redis database. */
  redisKeyPrefix: string;
  pollIntervalMs: number;
  /** No checks between POLL_INTERVAL_MS beats: the endpoint's spare request is not spent near expected finishes. */
  pollOnBeatsOnly: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  logPretty: boolean;
  /** Guilds the bot serves; undefined means every guild (a warning is logged at start-up). */
  allowedGuildIds: ReadonlySet<string> | undefined;
  /** The video models members may use (catalogue ids, `VIDEO_MODELS`) and the bot's default. */
  models: {
    enabled: readonly string[];
    defaultModel: string;
    /** How long a model Ace Data Cloud said it does not serve waits before it is tried again. */
    retryCooldownMs: number;
  };
  limits: {
    maxActiveGenerations: number;
    guildMaxActiveGenerations: number;
    memberDailyQuota: number;
    /** Seconds a member waits between two generations in a guild (0 = off); a guild setting can change it. */
    memberCooldownSeconds: number;
    promptMaxChars: number;
    imageMaxBytes: number;
    /** Stop fast polling and tell the member after this long. */
    pollGiveUpMs: number;
    /** Keep a slow check for a late result this long after submit. */
    lateResultWindowMs: number;
    /** Minimum gap between two submits (the API allows about 0.5/s). */
    submitMinIntervalMs: number;
    /** How long submits stay stopped after invalid_token / used_up. */
    circuitBreakerCooldownMs: number;
  };
  /** The operations HTTP server (`/healthz`, `/readyz`, `/metrics`). */
  http: {
    host: string;
    /** undefined when `HTTP_PORT` is `off` or `0`: no server is started. */
    port: number | undefined;
    /** `GET /usage` also answers requests that come through `PUBLIC_URL` (a reverse proxy); off by default. */
    usageOnPublicUrl: boolean;
  };
  /** Where Ace Data Cloud reaches the HTTP server; when set, submits carry a per-task callback URL. */
  publicUrl: string | undefined;
  /** Fetching a finished video from the provider for its upload. */
  videoDownload: {
    /** One try, headers to last byte. */
    timeoutMs: number;
    /** Longest silence (no headers yet, or no new bytes) before a try is given up. */
    stallTimeoutMs: number;
  };
}
