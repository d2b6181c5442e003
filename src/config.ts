import { isIP } from 'node:net';
import { z } from 'zod';
import type { Config } from './config-types.js';
import { DEFAULT_ENABLED_MODEL_IDS, DEFAULT_MODEL_ID, MODEL_IDS } from './core/models/catalogue.js';
import { parseStoreUrl, storeKindOf } from './store/store-location.js';

export type { Config } from './config-types.js';

/** Every missing or invalid variable at once; the message lists them, never a value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(formatConfigError(problems));
    this.problems = Object.freeze([...problems]);
  }
}

/** The text shown to the admin: a heading and one indented line per problem. */
export function formatConfigError(problems: readonly string[]): string {
  return ['Configuration problems:', ...problems.map((problem) => `  - ${problem}`)].join('\n');
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const STORE_SCHEMES = ['sqlite', 'redis', 'rediss', 'memory'] as const;
const SNOWFLAKE = /^\d{17,20}$/;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Defaults of the optional variables, as documented in `.env.example`. */
export const CONFIG_DEFAULTS = Object.freeze({
  ACEDATA_BASE_URL: 'https://api.acedata.cloud',
  ACEDATA_REQUEST_TIMEOUT_MS: 30_000,
  STORE_URL: 'sqlite://data/sora-bot.sqlite',
  POLL_INTERVAL_MS: 5_000,
  POLL_ON_BEATS_ONLY: false,
  LOG_LEVEL: 'info',
  LOG_PRETTY: false,
  MAX_ACTIVE_GENERATIONS: 5,
  GUILD_MAX_ACTIVE_GENERATIONS: 3,
  MEMBER_DAILY_QUOTA: 10,
  MEMBER_COOLDOWN_SECONDS: 10,
  PROMPT_MAX_CHARS: 2_000,
  IMAGE_MAX_BYTES: 25 * 1024 * 1024,
  POLL_GIVE_UP_MS: 30 * MINUTE_MS,
  LATE_RESULT_WINDOW_MS: DAY_MS,
  SUBMIT_MIN_INTERVAL_MS: 2_000,
  CIRCUIT_BREAKER_COOLDOWN_MS: 10 * MINUTE_MS,
  VIDEO_MODELS: DEFAULT_ENABLED_MODEL_IDS.join(','),
  DEFAULT_VIDEO_MODEL: DEFAULT_MODEL_ID,
  MODEL_RETRY_COOLDOWN_MS: 30 * MINUTE_MS,
  HTTP_PORT: 8080,
  DISCORD_SHARD_COUNT: 'auto',
  GUILD_LEASE_TTL_MS: 15_000,
  REDIS_KEY_PREFIX: 'sora-bot:',
  // Loopback: on a bare host /metrics stays private; the Docker image sets 0.0.0.0 so ports can be published.
  HTTP_HOST: '127.0.0.1',
  VIDEO_DOWNLOAD_TIMEOUT_MS: 120_000,
  VIDEO_DOWNLOAD_STALL_TIMEOUT_MS: 30_000,
});

function secretToken(prefix: string, what: string) {
  return z.string({ error: `is required (${what})` }).check((ctx) => {
    if (new RegExp(`^${prefix}\\s`, 'i').test(ctx.value)) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `give the token alone, without the "${prefix} " prefix`,
      });
    } else if (/\s/.test(ctx.value)) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: 'must not contain spaces' });
    }
  });
}

function httpUrl(expected: string) {
  return z
    .string()
    .refine(
      (value) => {
        const url = parseUrl(value);
        return url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:');
      },
      { error: `must be an http:// or https:// URL (${expected})` },
    )
    .transform((value) => value.replace(/\/+$/, ''));
}

interface IntegerRule {
  min: number;
  max: number;
  fallback: number;
  unit: string;
  note?: string;
}

function integer({ min, max, fallback, unit, note }: IntegerRule) {
  const expected = `must be a whole number of ${unit} from ${min} to ${max} (default ${fallback}${note === undefined ? '' : `; ${note}`})`;
  return (
    z
      .string()
      // Digits only: `5s`, `1e3`, `-1` and `1.5` are mistakes, not numbers to round.
      .regex(/^\d+$/, { error: expected })
      .transform(Number)
      .refine((value) => value >= min && value <= max, { error: expected })
      .optional()
      .default(fallback)
  );
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

const booleanFlag = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(
    z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
      error: 'must be true or false (default false)',
    }),
  )
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value))
  .optional()
  .default(CONFIG_DEFAULTS.LOG_PRETTY);

const storeUrl = z
  .string()
  .check((ctx) => {
    const scheme = /^([a-z]+):\/\//i.exec(ctx.value)?.[1]?.toLowerCase();
    const rest = ctx.value.slice((scheme?.length ?? 0) + 3);
    let message: string | undefined;
    if (scheme === undefined || !(STORE_SCHEMES as readonly string[]).includes(scheme)) {
      message = `must start with sqlite://, redis://, rediss:// or memory:// (default ${CONFIG_DEFAULTS.STORE_URL})`;
    } else if (scheme === 'sqlite' && rest === '') {
      message = 'sqlite:// needs a file path, e.g. sqlite://data/sora-bot.sqlite';
    } else if ((scheme === 'redis' || scheme === 'rediss') && !parseUrl(ctx.value)?.hostname) {
      message = `${scheme}:// needs a host, e.g. ${scheme}://127.0.0.1:6379`;
    }
    if (message !== undefined) ctx.issues.push({ code: 'custom', input: ctx.value, message });
  })
  .optional()
  .default(CONFIG_DEFAULTS.STORE_URL);

// Model ids are catalogue ids, not secrets: a wrong one is named, with the ids there are.
const videoModelList = z
  .string()
  .transform((value, ctx) => {
    const ids = [
      ...new Set(
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== ''),
      ),
    ];
    const unknown = ids.filter((id) => !MODEL_IDS.includes(id));
    if (ids.length === 0 || unknown.length > 0) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `${ids.length === 0 ? 'lists no model' : `unknown model${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}`}; known: ${MODEL_IDS.join(', ')}`,
      });
      return z.NEVER;
    }
    return ids;
  })
  .optional()
  .default([...DEFAULT_ENABLED_MODEL_IDS]);

const guildIdList = z
  .string()
  .transform((value, ctx) => {
    const entries = value.split(',').map((entry) => entry.trim());
    const ids = entries.filter((entry) => entry !== '');
    if (ids.length === 0) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: 'lists no guild id; leave it unset to serve every guild',
      });
      return z.NEVER;
    }
    // Positions, not values: a token pasted into the wrong variable must not be echoed.
    const bad = ids.flatMap((id, index) => (SNOWFLAKE.test(id) ? [] : [index + 1]));
    if (bad.length > 0) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `entr${bad.length === 1 ? 'y' : 'ies'} ${bad.join(', ')} of ${ids.length} ${bad.length === 1 ? 'is not a guild id' : 'are not guild ids'} (17–20 digits, comma-separated)`,
      });
      return z.NEVER;
    }
    return ids;
  })
  .optional();

const httpPort = z
  .string()
  .transform((value) => value.toLowerCase())
  .check((ctx) => {
    if (ctx.value === 'off' || ctx.value === '0') return;
    if (/^\d+$/.test(ctx.value) && Number(ctx.value) >= 1 && Number(ctx.value) <= 65_535) return;
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `must be a port from 1 to 65535, or off (or 0) to disable the HTTP server (default ${CONFIG_DEFAULTS.HTTP_PORT})`,
    });
  })
  // null, not undefined: zod would replace an undefined output with the default.
  .transform((value) => (value === 'off' || value === '0' ? null : Number(value)))
  .optional()
  .default(CONFIG_DEFAULTS.HTTP_PORT);

const httpHost = z
  .string()
  .refine((value) => isIP(value) !== 0 || /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(value), {
    error: `must be an IP address or a host name to listen on, e.g. 0.0.0.0 or 127.0.0.1 (default ${CONFIG_DEFAULTS.HTTP_HOST})`,
  })
  .optional()
  .default(CONFIG_DEFAULTS.HTTP_HOST);

// Discord recommends one shard per ~1000 guilds; this bound only catches typos.
const MAX_SHARDS = 10_000;

const shardCount = z
  .string()
  .transform((value) => value.toLowerCase())
  .check((ctx) => {
    if (ctx.value === 'auto' || (/^\d+$/.test(ctx.value) && Number(ctx.value) >= 1 && Number(ctx.value) <= MAX_SHARDS)) return;
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `must be auto or a number of shards from 1 to ${MAX_SHARDS} (default ${CONFIG_DEFAULTS.DISCORD_SHARD_COUNT})`,
    });
  })
  .transform((value) => (value === 'auto' ? ('auto' as const) : Number(value)))
  .optional()
  .default(CONFIG_DEFAULTS.DISCORD_SHARD_COUNT);

/** `0,2,5` or ranges `0-3`, comma-separated: the shards this process runs. */
const shardIdList = z
  .string()
  .transform((value, ctx) => {
    const ids = new Set<number>();
    for (const entry of value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')) {
      const range = /^(\d+)(?:-(\d+))?$/.exec(entry);
      const from = Number(range?.[1]);
      const to = Number(range?.[2] ?? range?.[1]);
      if (!range || to < from || to >= MAX_SHARDS) {
        ctx.issues.push({ code: 'custom', input: value, message: 'must list shard ids or ranges, e.g. 0,1 or 0-3' });
        return z.NEVER;
      }
      for (let id = from; id <= to; id++) ids.add(id);
    }
    if (ids.size === 0) {
      ctx.issues.push({ code: 'custom', input: value, message: 'lists no shard; leave it unset to run every shard' });
      return z.NEVER;
    }
    return [...ids].sort((a, b) => a - b);
  })
  .optional();

/** The variables `npm run deploy-commands` reads: the Discord token and where to register, no more. */
const deployFields = {
  DISCORD_TOKEN: secretToken('Bot', "the bot's token from the Discord developer portal"),
  DISCORD_API_URL: httpUrl("Discord's REST base, e.g. http://127.0.0.1:3001/api").optional(),
  DISCORD_GUILD_ID: z.string().regex(SNOWFLAKE, { error: 'must be a guild id (17–20 digits)' }).optional(),
  LOG_LEVEL: z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(
      z.enum(LOG_LEVELS, {
        error: `must be one of ${LOG_LEVELS.join(', ')} (default ${CONFIG_DEFAULTS.LOG_LEVEL})`,
      }),
    )
    .optional()
    .default(CONFIG_DEFAULTS.LOG_LEVEL),
  LOG_PRETTY: booleanFlag,
};

const envSchema = z
  .object({
    DISCORD_TOKEN: deployFields.DISCORD_TOKEN,
    DISCORD_API_URL: deployFields.DISCORD_API_URL,
    DISCORD_GUILD_ID: deployFields.DISCORD_GUILD_ID,
    ACEDATA_API_TOKEN: secretToken('Bearer', 'your Ace Data Cloud API token'),
    ACEDATA_BASE_URL: httpUrl(`default ${CONFIG_DEFAULTS.ACEDATA_BASE_URL}`).optional().default(CONFIG_DEFAULTS.ACEDATA_BASE_URL),
    ACEDATA_REQUEST_TIMEOUT_MS: integer({
      min: 100,
      max: 10 * MINUTE_MS,
      fallback: CONFIG_DEFAULTS.ACEDATA_REQUEST_TIMEOUT_MS,
      unit: 'milliseconds',
    }),
    STORE_URL: storeUrl,
    POLL_INTERVAL_MS: integer({
      min: 100,
      max: 10 * MINUTE_MS,
      fallback: CONFIG_DEFAULTS.POLL_INTERVAL_MS,
      unit: 'milliseconds',
    }),
    LOG_LEVEL: deployFields.LOG_LEVEL,
    LOG_PRETTY: deployFields.LOG_PRETTY,
    POLL_ON_BEATS_ONLY: booleanFlag,
    ALLOWED_GUILD_IDS: guildIdList,
    VIDEO_MODELS: videoModelList,
    DEFAULT_VIDEO_MODEL: z.string().optional(),
    MODEL_RETRY_COOLDOWN_MS: integer({
      min: 1_000,
      max: 7 * DAY_MS,
      fallback: CONFIG_DEFAULTS.MODEL_RETRY_COOLDOWN_MS,
      unit: 'milliseconds',
      note: 'how long a model Ace Data Cloud does not serve waits before it is tried again',
    }),
    MAX_ACTIVE_GENERATIONS: integer({
      min: 1,
      max: 1000,
      fallback: CONFIG_DEFAULTS.MAX_ACTIVE_GENERATIONS,
      unit: 'generations',
    }),
    GUILD_MAX_ACTIVE_GENERATIONS: integer({
      min: 1,
      max: 1000,
      fallback: CONFIG_DEFAULTS.GUILD_MAX_ACTIVE_GENERATIONS,
      unit: 'generations',
    }),
    MEMBER_DAILY_QUOTA: integer({
      min: 0,
      max: 1_000_000,
      fallback: CONFIG_DEFAULTS.MEMBER_DAILY_QUOTA,
      unit: 'generations a day',
      note: '0 means unlimited',
    }),
    MEMBER_COOLDOWN_SECONDS: integer({
      min: 0,
      max: 3600,
      fallback: CONFIG_DEFAULTS.MEMBER_COOLDOWN_SECONDS,
      unit: 'seconds',
      note: '0 turns the cooldown off',
    }),
    // A modal text input holds at most 4000 characters.
    PROMPT_MAX_CHARS: integer({
      min: 1,
      max: 4000,
      fallback: CONFIG_DEFAULTS.PROMPT_MAX_CHARS,
      unit: 'characters',
    }),
    IMAGE_MAX_BYTES: integer({
      min: 1,
      max: 1024 * 1024 * 1024,
      fallback: CONFIG_DEFAULTS.IMAGE_MAX_BYTES,
      unit: 'bytes',
    }),
    // Upper bounds stay below 2^31 - 1 ms so any of these can be handed to setTimeout.
    POLL_GIVE_UP_MS: integer({
      min: 1_000,
      max: 7 * DAY_MS,
      fallback: CONFIG_DEFAULTS.POLL_GIVE_UP_MS,
      unit: 'milliseconds',
    }),
    LATE_RESULT_WINDOW_MS: integer({
      min: 1_000,
      max: 7 * DAY_MS,
      fallback: CONFIG_DEFAULTS.LATE_RESULT_WINDOW_MS,
      unit: 'milliseconds',
    }),
    SUBMIT_MIN_INTERVAL_MS: integer({
      min: 0,
      max: 10 * MINUTE_MS,
      fallback: CONFIG_DEFAULTS.SUBMIT_MIN_INTERVAL_MS,
      unit: 'milliseconds',
    }),
    CIRCUIT_BREAKER_COOLDOWN_MS: integer({
      min: 100,
      max: DAY_MS,
      fallback: CONFIG_DEFAULTS.CIRCUIT_BREAKER_COOLDOWN_MS,
      unit: 'milliseconds',
    }),
    HTTP_PORT: httpPort,
    HTTP_HOST: httpHost,
    USAGE_ON_PUBLIC_URL: booleanFlag,
    VIDEO_DOWNLOAD_TIMEOUT_MS: integer({
      min: 1_000,
      max: 30 * MINUTE_MS,
      fallback: CONFIG_DEFAULTS.VIDEO_DOWNLOAD_TIMEOUT_MS,
      unit: 'milliseconds',
    }),
    VIDEO_DOWNLOAD_STALL_TIMEOUT_MS: integer({
      min: 100,
      max: 30 * MINUTE_MS,
      fallback: CONFIG_DEFAULTS.VIDEO_DOWNLOAD_STALL_TIMEOUT_MS,
      unit: 'milliseconds',
    }),
    PUBLIC_URL: httpUrl("the address where Ace Data Cloud reaches this bot's HTTP server, e.g. https://bot.example.com").optional(),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,64}$/, {
        error: `must be 1–64 letters, digits or : _ . - (default ${CONFIG_DEFAULTS.REDIS_KEY_PREFIX})`,
      })
      .optional()
      .default(CONFIG_DEFAULTS.REDIS_KEY_PREFIX),
    DISCORD_SHARD_COUNT: shardCount,
    DISCORD_SHARDS: shardIdList,
    GUILD_LEASE_TTL_MS: integer({
      min: 1_000,
      max: 10 * MINUTE_MS,
      fallback: CONFIG_DEFAULTS.GUILD_LEASE_TTL_MS,
      unit: 'milliseconds',
    }),
  })
  .superRefine(
    (env, ctx) => {
      // Runs even when other fields failed (`when`), so the one error lists every problem.
      const interval = env.POLL_INTERVAL_MS;
      const giveUp = env.POLL_GIVE_UP_MS;
      const lateWindow = env.LATE_RESULT_WINDOW_MS;
      if (isNumber(interval) && isNumber(giveUp) && giveUp <= interval) {
        ctx.addIssue({
          code: 'custom',
          path: ['POLL_GIVE_UP_MS'],
          message: 'must be longer than POLL_INTERVAL_MS',
        });
      }
      if (env.PUBLIC_URL !== undefined && env.HTTP_PORT === null) {
        ctx.addIssue({
          code: 'custom',
          path: ['PUBLIC_URL'],
          message: 'needs the HTTP server: provider callbacks arrive on it (HTTP_PORT is off)',
        });
      }
      // A field that failed holds its raw input here, so check the shape before using it.
      const shards = env.DISCORD_SHARDS;
      if (Array.isArray(shards)) {
        const count = env.DISCORD_SHARD_COUNT;
        if (!isNumber(count)) {
          ctx.addIssue({
            code: 'custom',
            path: ['DISCORD_SHARDS'],
            message: 'needs DISCORD_SHARD_COUNT set to the total number of shards',
          });
        } else if (shards.some((id) => id >= count)) {
          ctx.addIssue({ code: 'custom', path: ['DISCORD_SHARDS'], message: `shard ids must be below DISCORD_SHARD_COUNT (${count})` });
        } else if (shards.length < count && typeof env.STORE_URL === 'string' && storeKindOf(env.STORE_URL) !== 'redis') {
          ctx.addIssue({
            code: 'custom',
            path: ['DISCORD_SHARDS'],
            message: 'runs only some shards, so other processes run the rest: they must share STORE_URL=redis://…',
          });
        }
      }
      const models = env.VIDEO_MODELS;
      const defaultModel = env.DEFAULT_VIDEO_MODEL;
      if (Array.isArray(models) && typeof defaultModel === 'string' && !models.includes(defaultModel)) {
        ctx.addIssue({
          code: 'custom',
          path: ['DEFAULT_VIDEO_MODEL'],
          message: `must be one of VIDEO_MODELS (${models.join(', ')})`,
        });
      }
      if (isNumber(giveUp) && isNumber(lateWindow) && lateWindow < giveUp) {
        ctx.addIssue({
          code: 'custom',
          path: ['LATE_RESULT_WINDOW_MS'],
          message: 'must not be shorter than POLL_GIVE_UP_MS',
        });
      }
    },
    { when: () => true },
  );

/** Our own messages only: zod's defaults could quote the input, and inputs may be secrets. */
function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const name = typeof issue.path[0] === 'string' ? issue.path[0] : 'environment';
    return `${name}: ${issue.message}`;
  });
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Trimmed values of the variables we read; blank counts as unset (`FOO=` in a .env file). */
/** Every variable `loadConfig` reads: the keys of its schema, so the list cannot drift from it. */
export const CONFIG_ENV_NAMES = Object.freeze(Object.keys(envSchema.shape)) as readonly (keyof typeof envSchema.shape)[];

function pickEnv(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const picked: Record<string, string | undefined> = {};
  for (const name of CONFIG_ENV_NAMES) {
    const value = env[name]?.trim();
    picked[name] = value === '' ? undefined : value;
  }
  return picked;
}

/** Parses and validates the environment; returns a deep-frozen Config or throws one ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const result = envSchema.safeParse(pickEnv(env));
  if (!result.success) {
    throw new ConfigError(problemsOf(result.error));
  }
  const e = result.data;
  const config: Config = {
    discord: { token: e.DISCORD_TOKEN, apiUrl: e.DISCORD_API_URL, guildId: e.DISCORD_GUILD_ID },
    acedata: {
      apiToken: e.ACEDATA_API_TOKEN,
      baseUrl: e.ACEDATA_BASE_URL,
      requestTimeoutMs: e.ACEDATA_REQUEST_TIMEOUT_MS,
    },
    sharding: {
      shardCount: e.DISCORD_SHARD_COUNT,
      shardIds: e.DISCORD_SHARDS === undefined ? undefined : Object.freeze([...e.DISCORD_SHARDS]),
      guildLeaseTtlMs: e.GUILD_LEASE_TTL_MS,
    },
    // Validated above, so it parses; every "is this Redis?" asks this.
    store: parseStoreUrl(e.STORE_URL),
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    pollOnBeatsOnly: e.POLL_ON_BEATS_ONLY,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY,
    allowedGuildIds: e.ALLOWED_GUILD_IDS === undefined ? undefined : frozenSet(e.ALLOWED_GUILD_IDS),
    models: {
      enabled: Object.freeze([...e.VIDEO_MODELS]),
      // Unset: the catalogue's default when enabled, else the first enabled model.
      defaultModel: e.DEFAULT_VIDEO_MODEL ?? (e.VIDEO_MODELS.includes(DEFAULT_MODEL_ID) ? DEFAULT_MODEL_ID : e.VIDEO_MODELS[0]!),
      retryCooldownMs: e.MODEL_RETRY_COOLDOWN_MS,
    },
    limits: {
      maxActiveGenerations: e.MAX_ACTIVE_GENERATIONS,
      guildMaxActiveGenerations: e.GUILD_MAX_ACTIVE_GENERATIONS,
      memberDailyQuota: e.MEMBER_DAILY_QUOTA,
      memberCooldownSeconds: e.MEMBER_COOLDOWN_SECONDS,
      promptMaxChars: e.PROMPT_MAX_CHARS,
      imageMaxBytes: e.IMAGE_MAX_BYTES,
      pollGiveUpMs: e.POLL_GIVE_UP_MS,
      lateResultWindowMs: e.LATE_RESULT_WINDOW_MS,
      submitMinIntervalMs: e.SUBMIT_MIN_INTERVAL_MS,
      circuitBreakerCooldownMs: e.CIRCUIT_BREAKER_COOLDOWN_MS,
    },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT ?? undefined, usageOnPublicUrl: e.USAGE_ON_PUBLIC_URL },
    publicUrl: e.PUBLIC_URL,
    videoDownload: { timeoutMs: e.VIDEO_DOWNLOAD_TIMEOUT_MS, stallTimeoutMs: e.VIDEO_DOWNLOAD_STALL_TIMEOUT_MS },
  };
  return deepFreeze(config);
}

/** What `npm run deploy-commands` needs: `DISCORD_TOKEN`, and `DISCORD_GUILD_ID` to register in one guild. */
export type DeployConfig = Pick<Config, 'logLevel' | 'logPretty'> & { discord: Config['discord'] };

/** Parses only the variables of `npm run deploy-commands`; throws one ConfigError. */
export function loadDeployConfig(env: NodeJS.ProcessEnv): DeployConfig {
  const result = z.object(deployFields).safeParse(pickEnv(env));
  if (!result.success) throw new ConfigError(problemsOf(result.error));
  const e = result.data;
  return deepFreeze({
    discord: { token: e.DISCORD_TOKEN, apiUrl: e.DISCORD_API_URL, guildId: e.DISCORD_GUILD_ID },
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY,
  });
}

/** Where `readConfigOrExit` writes; `process.stderr` in main. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * Loads the config for main: on a ConfigError prints the problems (no stack trace) to `stderr` and
 * returns the exit code 1, leaving the exit to the caller. Any other error is a bug and is rethrown.
 */
export function readConfigOrExit(env: NodeJS.ProcessEnv, stderr: TextSink): Config | 1 {
  return readOrExit(() => loadConfig(env), stderr);
}

/** `readConfigOrExit` for `npm run deploy-commands`: only its own variables are read. */
export function readDeployConfigOrExit(env: NodeJS.ProcessEnv, stderr: TextSink): DeployConfig | 1 {
  return readOrExit(() => loadDeployConfig(env), stderr);
}

function readOrExit<T>(load: () => T, stderr: TextSink): T | 1 {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    stderr.write(`${error.message}\nSee .env.example for every variable and its default.\n`);
    return 1;
  }
}

function frozenSet<T>(values: Iterable<T>): ReadonlySet<T> {
  const set = new Set(values);
  // Object.freeze does not stop Set#add; make the mutators throw like a frozen object's setters.
  const readOnly = (): never => {
    throw new TypeError('Cannot modify a frozen set');
  };
  Object.defineProperties(set, {
    add: { value: readOnly },
    delete: { value: readOnly },
    clear: { value: readOnly },
  });
  return Object.freeze(set);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
