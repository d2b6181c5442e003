import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import sqlite3 from 'sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openKeyv, openStoreBackend, parseStoreUrl, StoreUrlError } from '../../src/store/open-store.js';
import type { StoreBackend } from '../../src/store/open-store.js';
import { deleteRedisKeys, isRedisAvailable, listRedisKeys, REDIS_URL, uniqueRedisPrefix } from './redis-helpers.js';

const tempDir = mkdtempSync(join(tmpdir(), 'sora-open-store-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('parseStoreUrl', () => {
  it.each([
    ['sqlite://data/sora-bot.sqlite', { kind: 'sqlite', path: 'data/sora-bot.sqlite' }],
    ['sqlite:///var/lib/sora/bot.sqlite', { kind: 'sqlite', path: '/var/lib/sora/bot.sqlite' }],
    ['sqlite://:memory:', { kind: 'sqlite', path: ':memory:' }],
    ['memory://', { kind: 'memory' }],
    ['redis://127.0.0.1:6379', { kind: 'redis', url: 'redis://127.0.0.1:6379' }],
    ['redis://:secret@redis.internal:6380/2', { kind: 'redis', url: 'redis://:secret@redis.internal:6380/2' }],
    ['rediss://redis.internal:6380', { kind: 'redis', url: 'rediss://redis.internal:6380' }],
  ])('parses %s', (url, expected) => {
    expect(parseStoreUrl(url)).toEqual(expected);
  });

  it.each([
    ['postgres://user:hunter2@db/sora', /scheme "postgres:" is not supported/],
    ['data/sora-bot.sqlite', /must start with sqlite:\/\/, redis:\/\/ or memory:\/\//],
    ['sqlite://', /needs a file path/],
    ['redis://user:hunter2@[bad', /not a valid redis:\/\/ URL/],
  ])('rejects %s with a clear error that does not repeat the URL', (url, message) => {
    let error: unknown;
    try {
      parseStoreUrl(url);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StoreUrlError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('is what openKeyv and openStoreBackend use', () => {
    expect(() => openKeyv('mongodb://db', { namespace: 'tasks' })).toThrow(StoreUrlError);
    expect(() => openStoreBackend('mongodb://db')).toThrow(StoreUrlError);
  });
});

describe('openKeyv on sqlite', () => {
  it('creates missing parent directories and keeps data across reopening', async () => {
    const path = join(tempDir, 'deep', 'er', 'store.sqlite');
    const first = openKeyv<{ n: number }>(`sqlite://${path}`, { namespace: 'things' });
    await first.set('a', { n: 1 });
    await first.disconnect();

    const second = openKeyv<{ n: number }>(`sqlite://${path}`, { namespace: 'things' });
    expect(await second.get('a')).toEqual({ n: 1 });
    await second.disconnect();
  });

  it('rejects operations and logs when the file cannot be opened, instead of reading "missing"', async () => {
    const directory = join(tempDir, 'a-directory.sqlite');
    mkdirSync(directory);
    const { logger, lines } = capturingLogger();
    const keyv = openKeyv(`sqlite://${directory}`, { namespace: 'things', logger });

    await expect(keyv.get('a')).rejects.toThrow();
    await expect(keyv.set('a', 1)).rejects.toThrow();
    expect(lines.some((line) => line.level === 40 && line.component === 'store' && line.namespace === 'things')).toBe(true);
  });
});

describe('openKeyv rejects bad namespaces', () => {
  it.each(['', 'Tasks', 'has:colon', 'has-dash', '9lives', 'x'.repeat(49)])('rejects %j', (namespace) => {
    expect(() => openKeyv('memory://', { namespace })).toThrow(/namespace/);
  });
});

async function expectIsolatedNamespaces(backend: StoreBackend): Promise<void> {
  const alpha = backend.keyv<string>('alpha');
  const alphaLonger = backend.keyv<string>('alpha_x');
  const beta = backend.keyv<string>('beta');
  await alpha.set('k', 'from alpha');
  await alphaLonger.set('k', 'from alpha_x');
  await beta.set('k', 'from beta');
  await alpha.set('x:k', 'colon key');

  expect(await alpha.get('k')).toBe('from alpha');
  expect(await alphaLonger.get('k')).toBe('from alpha_x');
  expect(await beta.get('k')).toBe('from beta');
  expect(await beta.get('x:k')).toBeUndefined();
  expect(await alphaLonger.get('x:k')).toBeUndefined();
  expect(backend.keyv('alpha')).toBe(alpha);
}

describe('openStoreBackend', () => {
  it('keeps namespaces apart in memory', async () => {
    const backend = openStoreBackend('memory://');
    await expectIsolatedNamespaces(backend);
    await backend.close();
  });

  it('keeps namespaces apart in one sqlite file', async () => {
    const backend = openStoreBackend(`sqlite://${join(tempDir, 'namespaces.sqlite')}`);
    await expectIsolatedNamespaces(backend);
    await backend.close();
  });

  it('refuses new namespaces once closed, and closing twice is harmless', async () => {
    const backend = openStoreBackend('memory://');
    backend.keyv('tasks');
    await backend.close();
    await backend.close();

    expect(() => backend.keyv('tasks')).toThrow(/closed/);
  });

  it('rejects operations quickly when Redis is unreachable, and logs why', async () => {
    const { logger, lines } = capturingLogger();
    const backend = openStoreBackend('redis://127.0.0.1:1', {
      logger,
      redis: { connectTimeoutMs: 500, commandTimeoutMs: 500, maxReconnectAttempts: 0 },
    });
    const keyv = backend.keyv('tasks');
    const started = Date.now();

    await expect(keyv.get('a')).rejects.toThrow();
    await expect(keyv.set('a', 1)).rejects.toThrow();
    await expect(keyv.getMany(['a', 'b'])).rejects.toThrow();
    await expect(keyv.delete('a')).rejects.toThrow();

    expect(Date.now() - started).toBeLessThan(3_000);
    expect(lines.some((line) => line.level === 40 && line.store === 'redis')).toBe(true);
    await backend.close();
  });
});

const redisAvailable = await isRedisAvailable();
const runRedis = redisAvailable || process.env.CI !== undefined;
if (!runRedis) console.warn(`Redis at ${REDIS_URL} does not answer: skipping the Redis backend tests (they fail under CI).`);

describe.skipIf(!runRedis)('openStoreBackend on Redis', () => {
  const prefix = uniqueRedisPrefix('open-store');
  afterAll(async () => {
    if (redisAvailable) await deleteRedisKeys(prefix);
  });

  it(`Redis answers at ${REDIS_URL}`, () => {
    expect(redisAvailable).toBe(true);
  });

  it('keeps namespaces apart and prefixes each key once', async () => {
    const backend = openStoreBackend(REDIS_URL, { redis: { keyPrefix: `${prefix}ns:` } });
    await expectIsolatedNamespaces(backend);
    await backend.close();

    expect(await listRedisKeys(`${prefix}ns:`)).toEqual([
      `${prefix}ns:alpha::k`,
      `${prefix}ns:alpha::x:k`,
      `${prefix}ns:alpha_x::k`,
      `${prefix}ns:beta::k`,
    ]);
  });

  it('keeps two key prefixes apart and keeps data across reopening', async () => {
    const one = openStoreBackend(REDIS_URL, { redis: { keyPrefix: `${prefix}one:` } });
    const two = openStoreBackend(REDIS_URL, { redis: { keyPrefix: `${prefix}two:` } });
    await one.keyv('tasks').set('k', 'one');
    await two.keyv('tasks').set('k', 'two');
    await one.close();
    await two.close();

    const reopened = openStoreBackend(REDIS_URL, { redis: { keyPrefix: `${prefix}one:` } });
    expect(await reopened.keyv('tasks').get('k')).toBe('one');
    await reopened.close();
  });
});

describe('openStoreBackend on a fresh sqlite file', () => {
  type Adapter = { query(sql: string): Promise<Record<string, unknown>[]> };
  const run = (db: sqlite3.Database, sql: string) =>
    new Promise<void>((resolve, reject) => db.run(sql, (err) => (err ? reject(err) : resolve())));

  it('switches to WAL with a busy timeout even while another connection holds the write lock', async () => {
    const { logger, lines } = capturingLogger();
    const path = join(tempDir, 'fresh-locked.sqlite');
    // Another connection (as another namespace creating its table) holds the write lock: SQLite
    // answers the journal-mode switch with SQLITE_BUSY at once, without waiting for the busy timeout.
    const other = new sqlite3.Database(path);
    await run(other, 'CREATE TABLE tasks(key VARCHAR(255) PRIMARY KEY, value TEXT)');
    await run(other, 'BEGIN IMMEDIATE');
    await run(other, 'CREATE TABLE other_namespace(a)');
    const backend = openStoreBackend(`sqlite://${path}`, { logger });
    const keyv = backend.keyv<number>('tasks');
    await keyv.get('k');
    await delay(200);
    await run(other, 'COMMIT');
    await new Promise<void>((resolve, reject) => other.close((err) => (err ? reject(err) : resolve())));

    await keyv.set('k', 1);
    const adapter = keyv.store as Adapter;
    await expect.poll(async () => (await adapter.query('PRAGMA journal_mode'))[0]?.journal_mode, { timeout: 5_000 }).toBe('wal');
    const [busy] = await adapter.query('PRAGMA busy_timeout');
    const [sync] = await adapter.query('PRAGMA synchronous');
    await backend.close();

    expect(Number(Object.values(busy ?? {})[0])).toBeGreaterThanOrEqual(1_000);
    expect(Number(Object.values(sync ?? {})[0])).toBe(1); // NORMAL
    expect(lines.filter((line) => Number(line.level) >= 40)).toEqual([]);
  });
});
