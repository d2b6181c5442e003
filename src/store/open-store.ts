import { mkdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv } from 'keyv';
import type { Logger } from 'pino';
import { parseStoreUrl, type StoreKind, type StoreLocation } from './store-location.js';

export { parseStoreUrl, StoreUrlError, type StoreKind, type StoreLocation } from './store-location.js';

/** Tuning for the Redis backend; the defaults fit production, tests shorten them. */
export interface RedisStoreOptions {
  /** Prepended to every namespace so several bots (or test runs) can share one Redis database. */
  keyPrefix?: string;
  /** Timeout of one TCP connect attempt. */
  connectTimeoutMs?: number;
  /** Timeout of one command, including the time it waits for a (re)connection. */
  commandTimeoutMs?: number;
  /** Reconnect attempts before a connection counts as failed; the next operation starts a fresh one. */
  maxReconnectAttempts?: number;
}

/** Options shared by `openKeyv` and `openStoreBackend`. */
export interface StoreOptions {
  logger?: Logger;
  redis?: RedisStoreOptions;
}

/** One storage backend from `STORE_URL`, handing out isolated keyv namespaces. */
export interface StoreBackend {
  readonly kind: StoreKind;
  /** The keyv for `namespace` (lowercase letters, digits, `_`), the same instance each time; `Value` is unchecked. */
  keyv<Value>(namespace: string): Keyv<Value>;
  /** Disconnects every namespace; `keyv()` throws afterwards. */
  close(): Promise<void>;
}

/** What a keyv namespace (a sqlite table, a Redis key segment) may be called. */
export const NAMESPACE_PATTERN = /^[a-z][a-z0-9_]{0,47}$/;
/** The Redis key prefix of every namespace unless `RedisStoreOptions.keyPrefix` says otherwise. */
export const DEFAULT_REDIS_KEY_PREFIX = 'sora-bot:';
const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/** How long a namespace keeps retrying the switch to WAL while other connections hold the file. */
const SQLITE_WAL_SWITCH_BUDGET_MS = 10_000;
const REDIS_DEFAULTS = {
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 5_000,
  maxReconnectAttempts: 5,
} as const;

/** Opens one keyv namespace on its own connection; errors reject the operation (`throwOnErrors`) and are logged. */
export function openKeyv<Value>(storeUrl: string, options: StoreOptions & { namespace: string }): Keyv<Value> {
  return openNamespace<Value>(parseStoreUrl(storeUrl), options.namespace, options);
}

/** Opens the backend `STORE_URL` names (parsed by the config, or a URL); namespaces connect lazily, on their first operation. */
export function openStoreBackend(store: StoreLocation | string, options: StoreOptions = {}): StoreBackend {
  const location = typeof store === 'string' ? parseStoreUrl(store) : store;
  const opened = new Map<string, Keyv<unknown>>();
  let closed = false;

  return {
    kind: location.kind,

    keyv<Value>(namespace: string): Keyv<Value> {
      if (closed) throw new Error('the store backend is closed');
      let keyv = opened.get(namespace);
      if (keyv === undefined) {
        keyv = openNamespace<unknown>(location, namespace, options);
        opened.set(namespace, keyv);
      }
      return keyv;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const results = await Promise.allSettled([...opened.values()].map((keyv) => keyv.disconnect()));
      opened.clear();
      const failure = results.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}

function openNamespace<Value>(location: StoreLocation, namespace: string, options: StoreOptions): Keyv<Value> {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`store namespace "${namespace}" must match ${String(NAMESPACE_PATTERN)}`);
  }
  const log = options.logger?.child({ component: 'store', store: location.kind, namespace });
  const keyv = createKeyv<Value>(location, namespace, options.redis ?? {}, log);
  // Without a listener an adapter's 'error' event would go unheard; the failing operation itself
  // rejects (throwOnErrors), so this is for connection trouble that happens between operations.
  keyv.on('error', (err: unknown) => log?.warn({ err }, 'store error'));
  return keyv;
}

function createKeyv<Value>(location: StoreLocation, namespace: string, redis: RedisStoreOptions, log: Logger | undefined): Keyv<Value> {
  switch (location.kind) {
    case 'memory':
      return new Keyv<Value>({ namespace, throwOnErrors: true });

    case 'sqlite': {
      if (location.path !== ':memory:') mkdirSync(dirname(resolve(location.path)), { recursive: true });
      // @keyv/sqlite ignores the namespace in get/set (keyv prefixes `namespace:` itself) and its
      // clear() matches with LIKE, where `_` is a wildcard; a table per namespace keeps them apart.
      const adapter = new KeyvSqlite({
        uri: `sqlite://${location.path}`,
        table: namespace,
        busyTimeout: SQLITE_BUSY_TIMEOUT_MS,
      });
      // WAL with synchronous=NORMAL: a commit still survives a crash of the bot (only a power cut
      // can lose the last ones), and a write no longer waits for fsync, which held the ledger to
      // about 50 creates a second. Querying at once also observes the adapter's connection promise,
      // which would otherwise be an unhandled rejection when the file cannot be opened; that
      // failure still reaches every later operation and the 'error' event.
      switchToWal(adapter).catch((err: unknown) => log?.warn({ err }, 'could not switch sqlite to WAL'));
      return new Keyv<Value>({ store: adapter, namespace, throwOnErrors: true });
    }

    case 'redis': {
      const connectTimeoutMs = redis.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs;
      const commandTimeoutMs = redis.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs;
      const maxReconnectAttempts = redis.maxReconnectAttempts ?? REDIS_DEFAULTS.maxReconnectAttempts;
      const prefixedNamespace = `${redis.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX}${namespace}`;
      const adapter = new KeyvRedis(
        {
          url: location.url,
          socket: {
            connectTimeout: connectTimeoutMs,
            // Give up after a few attempts so an operation fails instead of waiting for Redis
            // forever; @keyv/redis reconnects on the next operation.
            reconnectStrategy: (attempt: number) => (attempt >= maxReconnectAttempts ? false : Math.min(100 * 2 ** attempt, 2_000)),
          },
          // Bounds commands parked in the offline queue while the connection is down.
          commandOptions: { timeout: commandTimeoutMs },
        },
        // The adapter swallows its own errors unless told otherwise; keyv's throwOnErrors alone
        // does not reach it.
        { namespace: prefixedNamespace, throwOnErrors: true },
      );
      // @keyv/redis prefixes `namespace::` itself; keyv's own prefix on top would double it.
      return new Keyv<Value>({ store: adapter, namespace: prefixedNamespace, useKeyPrefix: false, throwOnErrors: true });
    }
  }
}

/**
 * Switches the file to WAL (it stays so: the mode is kept in the file) and this connection to
 * synchronous=NORMAL. On a fresh file, while another connection (another namespace creating its
 * table) holds the write lock, SQLite answers the journal-mode switch with SQLITE_BUSY at once:
 * the busy timeout is skipped because waiting could deadlock. So the switch is retried with a
 * backoff until it holds or the budget runs out.
 */
async function switchToWal(adapter: KeyvSqlite): Promise<void> {
  await adapter.query('PRAGMA synchronous = NORMAL');
  const deadline = Date.now() + SQLITE_WAL_SWITCH_BUDGET_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const rows = (await adapter.query('PRAGMA journal_mode = WAL')) as { journal_mode?: string }[];
      const mode = rows[0]?.journal_mode?.toLowerCase();
      // An in-memory database answers "memory": it has no WAL and needs none.
      if (mode === 'wal' || mode === 'memory') return;
      throw new Error(`sqlite kept journal_mode "${String(mode)}"`);
    } catch (err) {
      if (!isSqliteBusy(err) || Date.now() >= deadline) throw err;
      await delay(Math.min(10 * 2 ** attempt, 250));
    }
  }
}

function isSqliteBusy(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'SQLITE_BUSY';
}
