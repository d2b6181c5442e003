import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createKeyvTaskStore, TASKS_NAMESPACE, taskRecordKey } from '../../src/store/keyv-task-store.js';
import { openStoreBackend } from '../../src/store/open-store.js';
import type { StoreBackend } from '../../src/store/open-store.js';
import { describeTaskStoreContract, makeTask } from './task-store.contract.js';
import type { MakeTaskStore } from './task-store.contract.js';
import { deleteRedisKeys, isRedisAvailable, REDIS_URL, uniqueRedisPrefix } from './redis-helpers.js';

function harnessFactory(openBackend: (scope: string) => StoreBackend): MakeTaskStore {
  return ({ scope, clock }) => {
    const backend = openBackend(scope);
    const store = createKeyvTaskStore(backend, { clock });
    return Promise.resolve({
      store,
      async plantRawTask(id, raw) {
        await backend.keyv<unknown>(TASKS_NAMESPACE).set(taskRecordKey(id), raw);
      },
      async close() {
        await store.close();
        await backend.close();
      },
    });
  };
}

describeTaskStoreContract(
  'memory',
  harnessFactory(() => openStoreBackend('memory://')),
  { persistent: false },
);

const sqliteDir = mkdtempSync(join(tmpdir(), 'sora-task-store-'));
afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }));

describeTaskStoreContract(
  'sqlite',
  harnessFactory((scope) => openStoreBackend(`sqlite://${join(sqliteDir, 'nested', `${scope}.sqlite`)}`)),
  { persistent: true },
);

const redisAvailable = await isRedisAvailable();
const redisPrefix = uniqueRedisPrefix('task-store');
const runRedis = redisAvailable || process.env.CI !== undefined;
if (!runRedis) console.warn(`Redis at ${REDIS_URL} does not answer: skipping the Redis task store tests (they fail under CI).`);

describe.skipIf(!runRedis)('redis', () => {
  afterAll(async () => {
    if (redisAvailable) await deleteRedisKeys(redisPrefix);
  });

  it(`Redis answers at ${REDIS_URL}`, () => {
    expect(redisAvailable).toBe(true);
  });

  describeTaskStoreContract(
    'redis',
    harnessFactory((scope) => openStoreBackend(REDIS_URL, { redis: { keyPrefix: `${redisPrefix}${scope}:` } })),
    { persistent: true },
  );
});

describe('keyv task store over many tasks', () => {
  it('lists 10 000 unfinished tasks with a handful of batched reads, not one read per task', async () => {
    const backend = openStoreBackend('memory://');
    const store = createKeyvTaskStore(backend);
    const keyv = backend.keyv<unknown>(TASKS_NAMESPACE);
    const tasks = Array.from({ length: 10_000 }, (_, index) =>
      makeTask({
        guildId: `g${index % 7}`,
        userId: `u${index % 50}`,
        createdAt: new Date(Date.UTC(2025, 0, 1) + (10_000 - index) * 1000).toISOString(),
      }),
    );
    for (let start = 0; start < tasks.length; start += 250) {
      await Promise.all(tasks.slice(start, start + 250).map((task) => store.create(task)));
    }
    const get = vi.spyOn(keyv, 'get');
    const getMany = vi.spyOn(keyv, 'getMany');

    const listed = await store.listUnfinished();

    expect(listed).toHaveLength(10_000);
    expect(listed[0]?.id).toBe(tasks.at(-1)?.id);
    expect(listed.at(-1)?.id).toBe(tasks[0]?.id);
    expect(get.mock.calls.length + getMany.mock.calls.length).toBeLessThanOrEqual(30);
    await store.close();
    await backend.close();
  });
});

describe('keyv task store during a store outage', () => {
  it('rejects every operation when Redis is unreachable, quickly, instead of answering "no task"', async () => {
    const backend = openStoreBackend('redis://127.0.0.1:1', {
      redis: { connectTimeoutMs: 500, commandTimeoutMs: 500, maxReconnectAttempts: 0 },
    });
    const store = createKeyvTaskStore(backend);
    const started = Date.now();

    await expect(store.get('t1')).rejects.toThrow();
    await expect(store.getByProviderTaskId('p1')).rejects.toThrow();
    await expect(store.listUnfinished()).rejects.toThrow();
    await expect(store.listByUser('g1', 'u1', 5)).rejects.toThrow();
    await expect(store.create(makeTask())).rejects.toThrow();
    await expect(store.update('t1', (t) => t)).rejects.toThrow();

    expect(Date.now() - started).toBeLessThan(3_000);
    await store.close();
    await backend.close();
  });
});

describe('keyv task store indexes', () => {
  it('keeps finished tasks out of the unfinished index, so listing reads only unfinished records', async () => {
    const backend = openStoreBackend('memory://');
    const store = createKeyvTaskStore(backend);
    const tasks = Array.from({ length: 10 }, () => makeTask());
    for (const task of tasks) await store.create(task);
    for (const task of tasks.slice(1)) await store.update(task.id, (t) => ({ ...t, state: 'cancelled' }));
    const getMany = vi.spyOn(backend.keyv<unknown>(TASKS_NAMESPACE), 'getMany');

    const listed = await store.listUnfinished();

    const taskKeysRead = getMany.mock.calls.flatMap(([keys]) => keys).filter((key) => key.startsWith('task:'));
    expect(listed.map((t) => t.id)).toEqual([tasks[0]?.id]);
    expect(taskKeysRead).toEqual([taskRecordKey(tasks[0]!.id)]);
    await store.close();
    await backend.close();
  });

  it('adds a burst of new guilds to the guild index in a few writes, not one write per guild after another', async () => {
    const backend = openStoreBackend('sqlite://:memory:');
    const store = createKeyvTaskStore(backend);
    const keyv = backend.keyv<unknown>(TASKS_NAMESPACE);
    const set = vi.spyOn(keyv, 'set');
    const guildIds = Array.from({ length: 200 }, (_, i) => String(700000000000000000n + BigInt(i)));
    const tasks = guildIds.map((guildId) => makeTask({ guildId }));

    await Promise.all(tasks.map((task) => store.create(task)));

    const guildListWrites = set.mock.calls.filter(([key]) => key === 'guilds').length;
    expect(guildListWrites).toBeGreaterThan(0);
    expect(guildListWrites).toBeLessThan(20);
    expect(
      String(await keyv.get('guilds'))
        .split(' ')
        .sort(),
    ).toEqual([...guildIds].sort());
    expect((await store.listUnfinished()).map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    await store.close();
    await backend.close();
  });

  it('prunes entries a crash left behind: a finished record, or none at all', async () => {
    const backend = openStoreBackend('memory://');
    const store = createKeyvTaskStore(backend);
    const keyv = backend.keyv<unknown>(TASKS_NAMESPACE);
    const [live, finishedBeforeIndexRemoval, neverWritten] = [makeTask(), makeTask(), makeTask({ guildId: 'g2' })];
    for (const task of [live, finishedBeforeIndexRemoval, neverWritten]) await store.create(task);
    await keyv.set(taskRecordKey(finishedBeforeIndexRemoval.id), { ...finishedBeforeIndexRemoval, state: 'delivered' });
    await keyv.delete(taskRecordKey(neverWritten.id));

    expect((await store.listUnfinished()).map((t) => t.id)).toEqual([live.id]);

    const getMany = vi.spyOn(keyv, 'getMany');
    expect((await store.listUnfinished()).map((t) => t.id)).toEqual([live.id]);
    const taskKeysRead = getMany.mock.calls.flatMap(([keys]) => keys).filter((key) => key.startsWith('task:'));
    expect(taskKeysRead).toEqual([taskRecordKey(live.id)]);
    await store.close();
    await backend.close();
  });
});
