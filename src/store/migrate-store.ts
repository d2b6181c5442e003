import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import type { Keyv } from 'keyv';
import { TASKS_NAMESPACE, USER_HISTORY_LENGTH, createKeyvTaskStore } from './keyv-task-store.js';
import { DEFAULT_REDIS_KEY_PREFIX, NAMESPACE_PATTERN, openStoreBackend, parseStoreUrl, type StoreLocation } from './open-store.js';
import { upgradeTask } from './task-record.js';

/** What `migrateStore` is asked to do. */
export interface MigrateStoreOptions {
  /** `STORE_URL` of the store to copy from (sqlite:// or redis://). */
  from: string;
  /** `STORE_URL` of the store to copy into. */
  to: string;
  /** Read and count everything, write nothing. */
  dryRun?: boolean;
  /** Copy into a target that already holds data (merging the ledger's indexes). */
  force?: boolean;
  /** Redis key prefix on both sides (default `sora-bot:`, as the bot uses). */
  redisKeyPrefix?: string;
}

/** What one namespace held in the source. */
export interface NamespaceSummary {
  namespace: string;
  keys: number;
  /** Tasks namespace only: task records by state (`unreadable` for a record this build cannot read). */
  tasksByState?: Record<string, number>;
  /** Tasks namespace only: index entries (guilds, unfinished, provider, user and created-per-day lists). */
  indexKeys?: number;
}

/** The outcome of a migration (or of a dry run). */
export interface MigrationSummary {
  dryRun: boolean;
  source: string;
  target: string;
  namespaces: NamespaceSummary[];
  /** Keys the target held before (in any namespace). */
  targetKeysBefore: number;
  /** Keys written (0 on a dry run). */
  keysWritten: number;
  /** Keys that existed on both sides and were merged or overwritten (with `force`). */
  keysMerged: number;
  /** Unfinished tasks the bot will resume from the target (checked by reading it back). */
  unfinishedTasksInTarget?: number;
}

/** The migration cannot or must not run; nothing was written. */
export class MigrationRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationRefusedError';
  }
}

const ID_SEPARATOR = ' ';
const WRITE_CHUNK_SIZE = 100;

/**
 * Copies every namespace of one store into another (task records, the ledger's indexes, guild
 * settings…), key by key. The bot must be stopped while it runs. Refuses a target that holds data
 * unless `force`; then the source's keys win, except that the ledger's id lists are merged and of a
 * task held on both sides the more recently updated copy is kept.
 */
export async function migrateStore(options: MigrateStoreOptions): Promise<MigrationSummary> {
  const source = parseStoreUrl(options.from);
  const target = parseStoreUrl(options.to);
  const redisKeyPrefix = options.redisKeyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
  const dryRun = options.dryRun ?? false;
  if (source.kind === 'memory' || target.kind === 'memory') {
    throw new MigrationRefusedError('memory:// keeps nothing to migrate; use sqlite:// or redis://');
  }
  if (sameStore(source, target)) throw new MigrationRefusedError('--from and --to name the same store');
  if (source.kind === 'sqlite' && !existsSync(source.path)) {
    throw new MigrationRefusedError(`the source sqlite file ${source.path} does not exist`);
  }

  const summary: MigrationSummary = {
    dryRun,
    source: describeStore(options.from),
    target: describeStore(options.to),
    namespaces: [],
    targetKeysBefore: 0,
    keysWritten: 0,
    keysMerged: 0,
  };
  const sourceNamespaces = await listNamespaces(source, redisKeyPrefix);
  // A sqlite target that does not exist yet is empty; opening it would create the file, even on a dry run.
  const targetExists = target.kind === 'redis' || existsSync(target.path);
  const targetNamespaces = targetExists ? await listNamespaces(target, redisKeyPrefix) : [];

  const backendOptions = { redis: { keyPrefix: redisKeyPrefix } };
  const sourceBackend = openStoreBackend(source, backendOptions);
  const targetBackend = targetExists || !dryRun ? openStoreBackend(target, backendOptions) : undefined;
  try {
    for (const namespace of targetNamespaces) {
      summary.targetKeysBefore += await countKeys(targetBackend!.keyv<unknown>(namespace));
    }
    if (summary.targetKeysBefore > 0 && !options.force) {
      throw new MigrationRefusedError(
        `the target already holds ${summary.targetKeysBefore} keys (in ${targetNamespaces.join(', ')}); ` +
          'nothing was copied. Run with --force to merge the source into it',
      );
    }

    for (const namespace of sourceNamespaces) {
      const into = dryRun ? undefined : targetBackend!.keyv<unknown>(namespace);
      const mergeWithTarget = summary.targetKeysBefore > 0 && targetNamespaces.includes(namespace);
      summary.namespaces.push(await copyNamespace(namespace, sourceBackend.keyv<unknown>(namespace), into, mergeWithTarget, summary));
    }

    if (!dryRun && sourceNamespaces.includes(TASKS_NAMESPACE)) {
      // Read back the way the bot will at its next start.
      const store = createKeyvTaskStore(targetBackend!);
      summary.unfinishedTasksInTarget = (await store.listUnfinished()).length;
      await store.close();
    }
    return summary;
  } finally {
    await Promise.allSettled([sourceBackend.close(), targetBackend?.close()]);
  }
}

async function countKeys(keyv: Keyv<unknown>): Promise<number> {
  let count = 0;
  for await (const entry of entries(keyv)) {
    void entry;
    count++;
  }
  return count;
}

async function* entries(keyv: Keyv<unknown>): AsyncGenerator<[string, unknown]> {
  if (!keyv.iterator) throw new MigrationRefusedError('this store cannot list its keys');
  for await (const [key, value] of keyv.iterator(undefined) as AsyncGenerator<[string, unknown]>) {
    if (typeof key === 'string' && value !== undefined) yield [key, value];
  }
}

async function copyNamespace(
  namespace: string,
  from: Keyv<unknown>,
  into: Keyv<unknown> | undefined,
  mergeWithTarget: boolean,
  summary: MigrationSummary,
): Promise<NamespaceSummary> {
  const result: NamespaceSummary = { namespace, keys: 0 };
  const isLedger = namespace === TASKS_NAMESPACE;
  if (isLedger) {
    result.tasksByState = {};
    result.indexKeys = 0;
  }
  let pending: [string, unknown][] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    if (!into) return;
    await Promise.all(
      batch.map(async ([key, value]) => {
        let toWrite = value;
        if (mergeWithTarget) {
          const existing = await into.get(key);
          if (existing !== undefined) {
            summary.keysMerged++;
            toWrite = isLedger ? mergeLedgerValue(key, value, existing) : value;
          }
        }
        await into.set(key, toWrite);
        summary.keysWritten++;
      }),
    );
  };

  for await (const [key, value] of entries(from)) {
    result.keys++;
    if (isLedger) {
      if (key.startsWith('task:')) {
        const state = stateOf(value);
        result.tasksByState![state] = (result.tasksByState![state] ?? 0) + 1;
      } else {
        result.indexKeys!++;
      }
    }
    pending.push([key, value]);
    if (pending.length >= WRITE_CHUNK_SIZE) await flush();
  }
  await flush();
  return result;
}

function stateOf(raw: unknown): string {
  try {
    return upgradeTask(raw).state;
  } catch {
    return 'unreadable';
  }
}

/** A key of the ledger held on both sides: id lists are merged, a task keeps its newer copy. */
function mergeLedgerValue(key: string, incoming: unknown, existing: unknown): unknown {
  if (key.startsWith('task:')) {
    try {
      const a = upgradeTask(incoming);
      const b = upgradeTask(existing);
      return Date.parse(b.updatedAt) > Date.parse(a.updatedAt) ? existing : incoming;
    } catch {
      return incoming;
    }
  }
  const isIdList = key === 'guilds' || key.startsWith('unfinished:') || key.startsWith('user:') || key.startsWith('created:');
  if (!isIdList || typeof incoming !== 'string' || typeof existing !== 'string') return incoming;
  const ids = [...new Set([...splitIds(incoming), ...splitIds(existing)])];
  return (key.startsWith('user:') ? ids.slice(0, USER_HISTORY_LENGTH) : ids).join(ID_SEPARATOR);
}

function splitIds(list: string): string[] {
  return list === '' ? [] : list.split(ID_SEPARATOR);
}

/** Namespaces a store holds: the tables of a sqlite file, the key segments under the Redis prefix. */
export async function listNamespaces(location: StoreLocation, redisKeyPrefix: string = DEFAULT_REDIS_KEY_PREFIX): Promise<string[]> {
  switch (location.kind) {
    case 'memory':
      return [];
    case 'sqlite': {
      // Every bot database has the ledger's table; naming it keeps the adapter from adding another.
      const adapter = new KeyvSqlite({ uri: `sqlite://${location.path}`, table: TASKS_NAMESPACE });
      try {
        const rows = (await adapter.query("SELECT name FROM sqlite_master WHERE type = 'table'")) as { name: string }[];
        return rows
          .map((row) => row.name)
          .filter((name) => NAMESPACE_PATTERN.test(name))
          .sort();
      } finally {
        await adapter.disconnect();
      }
    }
    case 'redis': {
      const client = createClient({ url: location.url, socket: { connectTimeout: 5_000, reconnectStrategy: false } });
      client.on('error', () => undefined);
      await client.connect();
      try {
        const found = new Set<string>();
        for await (const keys of client.scanIterator({ MATCH: `${escapeGlob(redisKeyPrefix)}*`, COUNT: 1_000 })) {
          for (const key of keys) {
            const rest = key.slice(redisKeyPrefix.length);
            const namespace = rest.slice(0, rest.indexOf('::'));
            if (NAMESPACE_PATTERN.test(namespace)) found.add(namespace);
          }
        }
        return [...found].sort();
      } finally {
        client.destroy();
      }
    }
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function sameStore(a: StoreLocation, b: StoreLocation): boolean {
  if (a.kind === 'sqlite' && b.kind === 'sqlite') return resolve(a.path) === resolve(b.path);
  if (a.kind === 'redis' && b.kind === 'redis') return describeStore(a.url) === describeStore(b.url);
  return false;
}

/** The store URL without credentials, for output. */
export function describeStore(storeUrl: string): string {
  const location = parseStoreUrl(storeUrl);
  if (location.kind !== 'redis') return storeUrl;
  const url = new URL(location.url);
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/$/, '');
}
