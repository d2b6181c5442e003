import { DEFAULT_ENABLED_MODEL_IDS } from '../src/core/models/catalogue.js';
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  loadDeployConfig,
  CONFIG_DEFAULTS,
  CONFIG_ENV_NAMES,
  ConfigError,
  formatConfigError,
  loadConfig,
  readConfigOrExit,
} from '../src/config.js';

const DISCORD_TOKEN = 'discord-token-value-for-tests';
const ACEDATA_API_TOKEN = 'acedata-token-value-for-tests';
const REQUIRED = { DISCORD_TOKEN, ACEDATA_API_TOKEN };
const GUILD_A = '123456789012345678';
const GUILD_B = '98765432109876543';

function problemsFor(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig defaults', () => {
  it('fills every optional variable with its documented default', () => {
    expect(loadConfig(REQUIRED)).toEqual({
      discord: { token: DISCORD_TOKEN, apiUrl: undefined, guildId: undefined },
      acedata: {
        apiToken: ACEDATA_API_TOKEN,
        baseUrl: 'https://api.acedata.cloud',
        requestTimeoutMs: 30_000,
      },
      store: { kind: 'sqlite', path: 'data/sora-bot.sqlite' },
      redisKeyPrefix: 'sora-bot:',
      pollIntervalMs: 5_000,
      pollOnBeatsOnly: false,
      logLevel: 'info',
      logPretty: false,
      allowedGuildIds: undefined,
      models: { enabled: [...DEFAULT_ENABLED_MODEL_IDS], defaultModel: 'veo31-fast', retryCooldownMs: 1_800_000 },
      limits: {
        maxActiveGenerations: 5,
        guildMaxActiveGenerations: 3,
        memberDailyQuota: 10,
        memberCooldownSeconds: 10,
        promptMaxChars: 2_000,
        imageMaxBytes: 26_214_400,
        pollGiveUpMs: 1_800_000,
        lateResultWindowMs: 86_400_000,
        submitMinIntervalMs: 2_000,
        circuitBreakerCooldownMs: 600_000,
      },
      http: { host: '127.0.0.1', port: 8080, usageOnPublicUrl: false },
      sharding: { shardCount: 'auto', shardIds: undefined, guildLeaseTtlMs: 15_000 },
      videoDownload: { timeoutMs: 120_000, stallTimeoutMs: 30_000 },
    });
  });

  it('treats blank and whitespace-only values as unset', () => {
    const config = loadConfig({
      ...REQUIRED,
      POLL_INTERVAL_MS: '',
      LOG_LEVEL: '   ',
      ALLOWED_GUILD_IDS: '',
      DISCORD_GUILD_ID: '',
      STORE_URL: '',
    });
    expect(config.pollIntervalMs).toBe(CONFIG_DEFAULTS.POLL_INTERVAL_MS);
    expect(config.logLevel).toBe('info');
    expect(config.allowedGuildIds).toBeUndefined();
    expect(config.discord.guildId).toBeUndefined();
    expect(config.store).toEqual({ kind: 'sqlite', path: CONFIG_DEFAULTS.STORE_URL.slice('sqlite://'.length) });
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ ...REQUIRED, PATH: '/usr/bin', SORA_API_KEY: 'x' })).not.toThrow();
  });
});

describe('loadConfig with every variable set', () => {
  it('maps each variable to its field', () => {
    const config = loadConfig({
      DISCORD_TOKEN: `  ${DISCORD_TOKEN}\n`,
      DISCORD_API_URL: 'http://127.0.0.1:3001/api/',
      DISCORD_GUILD_ID: GUILD_A,
      ACEDATA_API_TOKEN,
      ACEDATA_BASE_URL: 'http://127.0.0.1:4010//',
      ACEDATA_REQUEST_TIMEOUT_MS: '1500',
      STORE_URL: 'redis://127.0.0.1:6379',
      POLL_INTERVAL_MS: '250',
      LOG_LEVEL: 'DEBUG',
      LOG_PRETTY: 'yes',
      ALLOWED_GUILD_IDS: ` ${GUILD_A} , ${GUILD_B},`,
      MAX_ACTIVE_GENERATIONS: '7',
      GUILD_MAX_ACTIVE_GENERATIONS: '2',
      MEMBER_DAILY_QUOTA: '0',
      MEMBER_COOLDOWN_SECONDS: '0',
      PROMPT_MAX_CHARS: '4000',
      IMAGE_MAX_BYTES: '10485760',
      POLL_GIVE_UP_MS: '60000',
      LATE_RESULT_WINDOW_MS: '120000',
      SUBMIT_MIN_INTERVAL_MS: '0',
      CIRCUIT_BREAKER_COOLDOWN_MS: '5000',
    });
    expect(config.discord).toEqual({
      token: DISCORD_TOKEN,
      apiUrl: 'http://127.0.0.1:3001/api',
      guildId: GUILD_A,
    });
    expect(config.acedata).toEqual({
      apiToken: ACEDATA_API_TOKEN,
      baseUrl: 'http://127.0.0.1:4010',
      requestTimeoutMs: 1500,
    });
    expect(config.store).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379' });
    expect(config.pollIntervalMs).toBe(250);
    expect(config.logLevel).toBe('debug');
    expect(config.logPretty).toBe(true);
    expect([...(config.allowedGuildIds ?? [])]).toEqual([GUILD_A, GUILD_B]);
    expect(config.limits).toEqual({
      maxActiveGenerations: 7,
      guildMaxActiveGenerations: 2,
      memberDailyQuota: 0,
      memberCooldownSeconds: 0,
      promptMaxChars: 4000,
      imageMaxBytes: 10_485_760,
      pollGiveUpMs: 60_000,
      lateResultWindowMs: 120_000,
      submitMinIntervalMs: 0,
      circuitBreakerCooldownMs: 5000,
    });
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['Off', false],
  ])('reads LOG_PRETTY=%s as %s', (value, expected) => {
    expect(loadConfig({ ...REQUIRED, LOG_PRETTY: value }).logPretty).toBe(expected);
  });

  it('reads USAGE_ON_PUBLIC_URL as a flag (off unless set)', () => {
    expect(loadConfig({ ...REQUIRED, USAGE_ON_PUBLIC_URL: 'true' }).http.usageOnPublicUrl).toBe(true);
    expect(loadConfig(REQUIRED).http.usageOnPublicUrl).toBe(false);
  });

  it.each([
    ['sqlite://data/sora-bot.sqlite', { kind: 'sqlite', path: 'data/sora-bot.sqlite' }],
    ['sqlite:///data/sora-bot.sqlite', { kind: 'sqlite', path: '/data/sora-bot.sqlite' }],
    ['redis://127.0.0.1:6379', { kind: 'redis', url: 'redis://127.0.0.1:6379' }],
    ['redis://:pass@cache:6379/2', { kind: 'redis', url: 'redis://:pass@cache:6379/2' }],
    ['rediss://cache.example:6380', { kind: 'redis', url: 'rediss://cache.example:6380' }],
    ['memory://', { kind: 'memory' }],
  ])('accepts STORE_URL=%s', (storeUrl, location) => {
    expect(loadConfig({ ...REQUIRED, STORE_URL: storeUrl }).store).toEqual(location);
  });
});

describe('loadConfig problems', () => {
  it('lists both missing tokens in one error', () => {
    expect(problemsFor({})).toEqual([
      "DISCORD_TOKEN: is required (the bot's token from the Discord developer portal)",
      'ACEDATA_API_TOKEN: is required (your Ace Data Cloud API token)',
    ]);
  });

  it('lists every invalid variable at once, one problem each', () => {
    const env = {
      DISCORD_API_URL: 'ftp://discord.local',
      DISCORD_GUILD_ID: '12345',
      ACEDATA_BASE_URL: 'not a url',
      ACEDATA_REQUEST_TIMEOUT_MS: '30s',
      STORE_URL: 'postgres://db/sora',
      POLL_INTERVAL_MS: '50',
      LOG_LEVEL: 'verbose',
      LOG_PRETTY: 'maybe',
      ALLOWED_GUILD_IDS: `${GUILD_A},general`,
      MAX_ACTIVE_GENERATIONS: '0',
      GUILD_MAX_ACTIVE_GENERATIONS: '-1',
      MEMBER_DAILY_QUOTA: '1.5',
      MEMBER_COOLDOWN_SECONDS: '3601',
      PROMPT_MAX_CHARS: '4001',
      IMAGE_MAX_BYTES: '25MB',
      POLL_GIVE_UP_MS: '1e6',
      LATE_RESULT_WINDOW_MS: 'a day',
      SUBMIT_MIN_INTERVAL_MS: '0x10',
      CIRCUIT_BREAKER_COOLDOWN_MS: '99',
    };
    const problems = problemsFor(env);
    const named = problems.map((problem) => problem.split(':')[0]);
    expect(named.sort()).toEqual(['DISCORD_TOKEN', 'ACEDATA_API_TOKEN', ...Object.keys(env)].sort());
  });

  it('builds a message with a heading and one line per problem', () => {
    let caught: unknown;
    try {
      loadConfig({ DISCORD_TOKEN, POLL_INTERVAL_MS: 'fast' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toBe(
      [
        'Configuration problems:',
        '  - ACEDATA_API_TOKEN: is required (your Ace Data Cloud API token)',
        '  - POLL_INTERVAL_MS: must be a whole number of milliseconds from 100 to 600000 (default 5000)',
      ].join('\n'),
    );
    expect((caught as ConfigError).name).toBe('ConfigError');
  });

  it.each(['5s', '1e3', '-1', '1.5', '0x10', '+5', '5 000', '١٢٣'])('rejects the non-integer %j', (value) => {
    expect(problemsFor({ ...REQUIRED, MAX_ACTIVE_GENERATIONS: value })).toEqual([
      'MAX_ACTIVE_GENERATIONS: must be a whole number of generations from 1 to 1000 (default 5)',
    ]);
  });

  it.each([
    ['POLL_INTERVAL_MS', '99', false],
    ['POLL_INTERVAL_MS', '100', true],
    ['POLL_INTERVAL_MS', '600000', true],
    ['POLL_INTERVAL_MS', '600001', false],
    ['MAX_ACTIVE_GENERATIONS', '1000', true],
    ['MAX_ACTIVE_GENERATIONS', '1001', false],
    ['PROMPT_MAX_CHARS', '0', false],
    ['PROMPT_MAX_CHARS', '1', true],
    ['MEMBER_DAILY_QUOTA', '0', true],
    ['MEMBER_COOLDOWN_SECONDS', '0', true],
    ['MEMBER_COOLDOWN_SECONDS', '3600', true],
    ['MEMBER_COOLDOWN_SECONDS', '3601', false],
    ['MEMBER_COOLDOWN_SECONDS', '-1', false],
    ['POLL_INTERVAL_MS', '99999999999999999999999', false],
  ])('checks the range of %s=%s (accepted: %s)', (name, value, accepted) => {
    const load = () => loadConfig({ ...REQUIRED, [name]: value });
    if (accepted) expect(load).not.toThrow();
    else expect(load).toThrow(ConfigError);
  });

  it.each([
    ['postgres://db/sora', 'must start with sqlite://, redis://, rediss:// or memory://'],
    ['data/sora-bot.sqlite', 'must start with sqlite://'],
    ['sqlite://', 'sqlite:// needs a file path'],
    ['redis://', 'redis:// needs a host'],
  ])('rejects STORE_URL=%s', (storeUrl, expected) => {
    const problems = problemsFor({ ...REQUIRED, STORE_URL: storeUrl });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`STORE_URL: ${expected}`);
  });

  it('names the positions of bad ALLOWED_GUILD_IDS entries', () => {
    expect(problemsFor({ ...REQUIRED, ALLOWED_GUILD_IDS: `${GUILD_A},abc,${GUILD_B},12` })).toEqual([
      'ALLOWED_GUILD_IDS: entries 2, 4 of 4 are not guild ids (17–20 digits, comma-separated)',
    ]);
  });

  it('rejects an ALLOWED_GUILD_IDS that lists nothing but commas', () => {
    expect(problemsFor({ ...REQUIRED, ALLOWED_GUILD_IDS: ' , ,' })).toEqual([
      'ALLOWED_GUILD_IDS: lists no guild id; leave it unset to serve every guild',
    ]);
  });

  it.each([
    ['DISCORD_TOKEN', `Bot ${DISCORD_TOKEN}`, 'give the token alone, without the "Bot " prefix'],
    ['ACEDATA_API_TOKEN', `Bearer ${ACEDATA_API_TOKEN}`, 'give the token alone, without the "Bearer " prefix'],
    ['DISCORD_TOKEN', 'two words', 'must not contain spaces'],
  ])('explains a malformed %s', (name, value, expected) => {
    expect(problemsFor({ ...REQUIRED, [name]: value })).toEqual([`${name}: ${expected}`]);
  });

  it('checks the polling durations against each other, alongside other problems', () => {
    expect(
      problemsFor({
        ...REQUIRED,
        LOG_LEVEL: 'loud',
        POLL_INTERVAL_MS: '60000',
        POLL_GIVE_UP_MS: '60000',
        LATE_RESULT_WINDOW_MS: '30000',
      }),
    ).toEqual([
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (default info)',
      'POLL_GIVE_UP_MS: must be longer than POLL_INTERVAL_MS',
      'LATE_RESULT_WINDOW_MS: must not be shorter than POLL_GIVE_UP_MS',
    ]);
  });

  it('never echoes a value, even a secret put in the wrong variable', () => {
    const secret = 'SECRETxVALUEx0123456789';
    const env: NodeJS.ProcessEnv = { DISCORD_TOKEN: `Bot ${secret}`, ACEDATA_API_TOKEN: `a ${secret}` };
    for (const name of [
      'DISCORD_API_URL',
      'DISCORD_GUILD_ID',
      'ACEDATA_BASE_URL',
      'ACEDATA_REQUEST_TIMEOUT_MS',
      'STORE_URL',
      'POLL_INTERVAL_MS',
      'LOG_LEVEL',
      'LOG_PRETTY',
      'ALLOWED_GUILD_IDS',
      'MEMBER_DAILY_QUOTA',
    ]) {
      env[name] = secret;
    }
    let message = '';
    try {
      loadConfig(env);
    } catch (error) {
      message = `${String(error)}\n${(error as ConfigError).problems.join('\n')}`;
    }
    expect(message).toContain('DISCORD_TOKEN');
    expect(message).toContain('MEMBER_DAILY_QUOTA');
    expect(message).not.toContain(secret);
    expect(message).not.toContain('SECRET');
  });
});

describe('the loaded config', () => {
  it('is deeply frozen, its guild set included', () => {
    const config = loadConfig({ ...REQUIRED, ALLOWED_GUILD_IDS: GUILD_A });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.discord)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
    expect(() => {
      (config.limits as { promptMaxChars: number }).promptMaxChars = 1;
    }).toThrow(TypeError);
    const guilds = config.allowedGuildIds as Set<string>;
    expect(() => guilds.add(GUILD_B)).toThrow(TypeError);
    expect(() => guilds.delete(GUILD_A)).toThrow(TypeError);
    expect(() => guilds.clear()).toThrow(TypeError);
    expect(guilds.has(GUILD_A)).toBe(true);
    expect(guilds.size).toBe(1);
  });
});

describe('formatConfigError', () => {
  it('indents each problem under the heading', () => {
    expect(formatConfigError(['A: x', 'B: y'])).toBe('Configuration problems:\n  - A: x\n  - B: y');
  });
});

describe('readConfigOrExit', () => {
  function sink() {
    const chunks: string[] = [];
    return { chunks, write: (text: string) => chunks.push(text) };
  }

  it('returns the config and writes nothing when the environment is valid', () => {
    const stderr = sink();
    const result = readConfigOrExit(REQUIRED, stderr);
    expect(result).toEqual(loadConfig(REQUIRED));
    expect(stderr.chunks).toEqual([]);
  });

  it('prints the problems without a stack trace and returns exit code 1', () => {
    const stderr = sink();
    expect(readConfigOrExit({ DISCORD_TOKEN }, stderr)).toBe(1);
    const output = stderr.chunks.join('');
    expect(output).toBe(
      'Configuration problems:\n' +
        '  - ACEDATA_API_TOKEN: is required (your Ace Data Cloud API token)\n' +
        'See .env.example for every variable and its default.\n',
    );
    expect(output).not.toMatch(/\n\s+at /);
  });
});

describe('HTTP_PORT and HTTP_HOST', () => {
  it.each([
    ['off', undefined],
    ['OFF', undefined],
    ['0', undefined],
    ['1', 1],
    ['9464', 9464],
    ['65535', 65_535],
  ])('reads HTTP_PORT=%s as %s', (value, port) => {
    expect(loadConfig({ ...REQUIRED, HTTP_PORT: value }).http.port).toBe(port);
  });

  it.each(['65536', '-1', '80.5', 'on', 'true', ':8080'])('refuses HTTP_PORT=%s', (value) => {
    expect(problemsFor({ ...REQUIRED, HTTP_PORT: value })).toEqual([
      'HTTP_PORT: must be a port from 1 to 65535, or off (or 0) to disable the HTTP server (default 8080)',
    ]);
  });

  it.each(['0.0.0.0', '127.0.0.1', '::', '::1', 'localhost', 'bot.internal'])('accepts HTTP_HOST=%s', (value) => {
    expect(loadConfig({ ...REQUIRED, HTTP_HOST: value }).http.host).toBe(value);
  });

  it.each(['http://0.0.0.0', '0.0.0.0:8080', 'two words', '-host'])('refuses HTTP_HOST=%s', (value) => {
    expect(problemsFor({ ...REQUIRED, HTTP_HOST: value })).toEqual([
      'HTTP_HOST: must be an IP address or a host name to listen on, e.g. 0.0.0.0 or 127.0.0.1 (default 127.0.0.1)',
    ]);
  });
});

describe('.env.example', () => {
  const lines = readFileSync(new URL('../.env.example', import.meta.url), 'utf8').split('\n');
  const entries = lines.flatMap((line) => {
    const match = /^#? ?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    return match ? [[match[1] ?? '', match[2] ?? ''] as const] : [];
  });

  it('lists every variable loadConfig reads, once, each after a comment line', () => {
    expect(entries.map(([name]) => name).sort()).toEqual([...CONFIG_ENV_NAMES].sort());
    for (const [name] of entries) {
      const index = lines.findIndex((line) => new RegExp(`^#? ?${name}=`).test(line));
      expect(lines[index - 1], name).toMatch(/^# \S/);
    }
  });

  it('shows the real defaults', () => {
    const env: NodeJS.ProcessEnv = Object.fromEntries(entries);
    expect(loadConfig({ ...env, ...REQUIRED })).toEqual(loadConfig(REQUIRED));
    expect(Object.keys(env).filter((name) => env[name] !== '').length).toBeGreaterThanOrEqual(15);
  });
});

describe('README configuration table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = new Map(
    readme.split('\n').flatMap((line) => {
      const match = /^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|/.exec(line);
      return match ? [[match[1] ?? '', match[2] ?? ''] as const] : [];
    }),
  );

  it('has a row for every variable loadConfig reads, showing its default', () => {
    expect([...rows.keys()].sort()).toEqual([...CONFIG_ENV_NAMES].sort());
    // VIDEO_MODELS' default is the whole served list: the row names it in words.
    for (const [name, value] of Object.entries(CONFIG_DEFAULTS)) {
      if (name === 'VIDEO_MODELS') continue;
      expect(rows.get(name), name).toContain(`\`${String(value)}\``);
    }
  });
});

describe('VIDEO_MODELS and DEFAULT_VIDEO_MODEL', () => {
  it('defaults to the served models, with a non-Sora default, and reads a list', () => {
    const config = loadConfig(REQUIRED);
    expect(config.models.enabled).not.toContain('sora-2');
    expect(config.models.enabled).toContain(config.models.defaultModel);
    const picked = loadConfig({ ...REQUIRED, VIDEO_MODELS: ' sora-2, kling-v2-6 ,sora-2' });
    expect(picked.models.enabled).toEqual(['sora-2', 'kling-v2-6']);
    // Unset default, catalogue default not enabled: the first enabled model.
    expect(picked.models.defaultModel).toBe('sora-2');
    expect(loadConfig({ ...REQUIRED, VIDEO_MODELS: 'sora-2,kling-v2-6', DEFAULT_VIDEO_MODEL: 'kling-v2-6' }).models.defaultModel).toBe(
      'kling-v2-6',
    );
  });

  it('names unknown models and a default outside the list', () => {
    expect(() => loadConfig({ ...REQUIRED, VIDEO_MODELS: 'sora-2,sora-9' })).toThrow(/VIDEO_MODELS: unknown model sora-9; known: /);
    expect(() => loadConfig({ ...REQUIRED, VIDEO_MODELS: ' , ' })).toThrow(/VIDEO_MODELS: lists no model/);
    expect(() => loadConfig({ ...REQUIRED, VIDEO_MODELS: 'sora-2', DEFAULT_VIDEO_MODEL: 'luma' })).toThrow(
      /DEFAULT_VIDEO_MODEL: must be one of VIDEO_MODELS \(sora-2\)/,
    );
  });
});

describe('PUBLIC_URL (provider callbacks)', () => {
  const base = { DISCORD_TOKEN: 'discord.token.value', ACEDATA_API_TOKEN: 'ace-token-value' };

  it('is optional, and kept without a trailing slash', () => {
    expect(loadConfig(base).publicUrl).toBeUndefined();
    expect(loadConfig({ ...base, PUBLIC_URL: 'https://bot.example.com/' }).publicUrl).toBe('https://bot.example.com');
  });

  it('must be an http(s) URL and needs the HTTP server', () => {
    expect(() => loadConfig({ ...base, PUBLIC_URL: 'bot.example.com' })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ ...base, PUBLIC_URL: 'https://bot.example.com', HTTP_PORT: 'off' })).toThrow(
      /PUBLIC_URL: needs the HTTP server/,
    );
  });
});

describe('DISCORD_SHARD_COUNT, DISCORD_SHARDS and GUILD_LEASE_TTL_MS (several processes)', () => {
  const redis = { ...REQUIRED, STORE_URL: 'redis://127.0.0.1:6379' };

  it('reads a shard count, shard ids and ranges, and the lease TTL', () => {
    const config = loadConfig({ ...redis, DISCORD_SHARD_COUNT: '4', DISCORD_SHARDS: '3, 0-1', GUILD_LEASE_TTL_MS: '5000' });
    expect(config.sharding).toEqual({ shardCount: 4, shardIds: [0, 1, 3], guildLeaseTtlMs: 5000 });
    expect(loadConfig({ ...REQUIRED, DISCORD_SHARD_COUNT: 'AUTO' }).sharding.shardCount).toBe('auto');
  });

  it('runs every shard of a fixed count in one process on sqlite', () => {
    const config = loadConfig({ ...REQUIRED, DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: '0-1' });
    expect(config.sharding.shardIds).toEqual([0, 1]);
  });

  it.each([
    [{ DISCORD_SHARD_COUNT: '0' }, /DISCORD_SHARD_COUNT: must be auto or a number of shards/],
    [{ DISCORD_SHARD_COUNT: 'two' }, /DISCORD_SHARD_COUNT: must be auto/],
    [{ DISCORD_SHARDS: '0' }, /DISCORD_SHARDS: needs DISCORD_SHARD_COUNT/],
    [{ DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: '2' }, /DISCORD_SHARDS: shard ids must be below DISCORD_SHARD_COUNT \(2\)/],
    [{ DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: '1-0' }, /DISCORD_SHARDS: must list shard ids or ranges/],
    [{ DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: 'x' }, /DISCORD_SHARDS: must list shard ids or ranges/],
    [{ REDIS_KEY_PREFIX: 'has space' }, /REDIS_KEY_PREFIX: must be 1–64 letters/],
    [{ GUILD_LEASE_TTL_MS: '10' }, /GUILD_LEASE_TTL_MS: must be a whole number of milliseconds from 1000/],
  ])('refuses %o', (vars, message) => {
    expect(() => loadConfig({ ...redis, ...vars })).toThrow(message);
  });

  it('refuses a subset of the shards without Redis: the other processes could not share the ledger', () => {
    expect(() => loadConfig({ ...REQUIRED, DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: '1' })).toThrow(
      /DISCORD_SHARDS: runs only some shards, so other processes run the rest: they must share STORE_URL=redis/,
    );
    expect(loadConfig({ ...redis, DISCORD_SHARD_COUNT: '2', DISCORD_SHARDS: '1' }).sharding.shardIds).toEqual([1]);
  });
});

describe('loadDeployConfig (npm run deploy-commands)', () => {
  it('needs only DISCORD_TOKEN and ignores the bot-only variables, even invalid ones', () => {
    const config = loadDeployConfig({ DISCORD_TOKEN, STORE_URL: 'postgres://nope', POLL_INTERVAL_MS: 'soon' });
    expect(config).toEqual({
      discord: { token: DISCORD_TOKEN, apiUrl: undefined, guildId: undefined },
      logLevel: 'info',
      logPretty: false,
    });
    expect(loadDeployConfig({ DISCORD_TOKEN, DISCORD_GUILD_ID: GUILD_A }).discord.guildId).toBe(GUILD_A);
  });

  it('names what is missing or wrong among its own variables, never ACEDATA_API_TOKEN', () => {
    let error: unknown;
    try {
      loadDeployConfig({ DISCORD_GUILD_ID: 'general' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('DISCORD_TOKEN');
    expect(message).toContain('DISCORD_GUILD_ID');
    expect(message).not.toContain('ACEDATA_API_TOKEN');
  });
});
