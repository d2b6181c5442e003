import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisCoordination, type RedisCoordination, type RedisCoordinationOptions } from '../../src/store/redis-coordination.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { deleteRedisKeys, isRedisAvailable, REDIS_URL, uniqueRedisPrefix } from './redis-helpers.js';

const redisAvailable = await isRedisAvailable();
const redisPrefix = uniqueRedisPrefix('coordination');
const runRedis = redisAvailable || process.env.CI !== undefined;
if (!runRedis) console.warn(`Redis at ${REDIS_URL} does not answer: skipping the Redis coordination tests (they fail under CI).`);

type Settings = Partial<Pick<RedisCoordinationOptions, 'leaseTtlMs' | 'maxActiveGenerations' | 'submitMinIntervalMs' | 'offerStaleMs'>>;

/** Resolves with how many times `onFreed` fired once it fired `count` times, or rejects after `timeoutMs`. */
function freedNotices(coordination: RedisCoordination, count = 1, timeoutMs = 3_000) {
  let fired = 0;
  let resolve: () => void = () => undefined;
  const reached = new Promise<void>((r) => (resolve = r));
  coordination.slots.onFreed(() => {
    fired++;
    if (fired >= count) resolve();
  });
  return {
    get fired() {
      return fired;
    },
    wait: () =>
      Promise.race([
        reached,
        sleep(timeoutMs).then(() => {
          throw new Error(`onFreed fired ${fired} times, expected ${count}`);
        }),
      ]),
  };
}

describe.skipIf(!runRedis)('redis coordination (two processes on one Redis)', () => {
  const opened: RedisCoordination[] = [];
  let scope = 0;

  /** Two processes, A and B, on a key prefix of their own (so every test starts from an empty Redis). */
  async function pair(settings: Settings = {}): Promise<{ a: RedisCoordination; b: RedisCoordination; prefix: string }> {
    const prefix = `${redisPrefix}${++scope}:`;
    const open = async (instanceId: string) => {
      const coordination = createRedisCoordination({
        url: REDIS_URL,
        keyPrefix: prefix,
        instanceId,
        leaseTtlMs: 30_000,
        maxActiveGenerations: 2,
        submitMinIntervalMs: 0,
        logger: new SilentLogger(),
        ...settings,
      });
      opened.push(coordination);
      await coordination.connect();
      return coordination;
    };
    return { a: await open('process-A'), b: await open('process-B'), prefix };
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((coordination) => coordination.close()));
  });
  afterAll(async () => {
    if (redisAvailable) await deleteRedisKeys(redisPrefix);
  });

  it(`Redis answers at ${REDIS_URL}`, () => {
    expect(redisAvailable).toBe(true);
  });

  describe('guild leases', () => {
    it('a lease is exclusive: the holder may claim it again, the other process may not', async () => {
      const { a, b } = await pair();
      expect(await a.leases.claim('g1')).toBe(true);
      expect(await b.leases.claim('g1')).toBe(false);
      expect(await a.leases.claim('g1')).toBe(true);
      expect(await b.leases.claim('g2')).toBe(true);
      expect(await a.leases.claim('g2')).toBe(false);
    });

    it("the holder's claim extends its lease", async () => {
      const { a, b } = await pair({ leaseTtlMs: 1_000 });
      expect(await a.leases.claim('g1')).toBe(true);
      await sleep(600);
      expect(await a.leases.claim('g1')).toBe(true);
      // 1 200 ms after the first claim: without the extension the lease would be gone.
      await sleep(600);
      expect(await b.leases.claim('g1')).toBe(false);
      await sleep(600);
      expect(await b.leases.claim('g1')).toBe(true);
    });

    it('renew extends the leases still held, takes back expired ones nobody took, and reports the ones another process holds', async () => {
      const { a, b } = await pair({ leaseTtlMs: 200 });
      expect(await a.leases.claim('g1')).toBe(true);
      expect(await a.leases.claim('g2')).toBe(true);
      await sleep(300);
      // g1 expired and B took it over; g2 expired and nobody took it.
      expect(await b.leases.claim('g1')).toBe(true);

      expect(await a.leases.renew(['g1', 'g2', 'never-held'])).toEqual(['g1']);
      expect(await b.leases.claim('g2')).toBe(false);
      expect(await b.leases.claim('never-held')).toBe(false);
      expect(await a.leases.renew([])).toEqual([]);
      expect(await b.leases.renew(['g1'])).toEqual([]);
      // A's renewal of g1 did not touch B's lease.
      expect(await a.leases.claim('g1')).toBe(false);
    });

    it('renew keeps a lease alive past its TTL', async () => {
      const { a, b } = await pair({ leaseTtlMs: 400 });
      expect(await a.leases.claim('g1')).toBe(true);
      for (let i = 0; i < 4; i++) {
        await sleep(150);
        expect(await a.leases.renew(['g1'])).toEqual([]);
      }
      expect(await b.leases.claim('g1')).toBe(false);
    });

    it('release deletes only the leases this process holds', async () => {
      const { a, b } = await pair();
      expect(await a.leases.claim('g1')).toBe(true);
      expect(await b.leases.claim('g2')).toBe(true);

      await a.leases.release(['g1', 'g2']);
      expect(await b.leases.claim('g1')).toBe(true);
      // B's lease on g2 survived A's release.
      expect(await a.leases.claim('g2')).toBe(false);
      await a.leases.release([]);
    });

    it('takes over a lease once the holder stopped renewing it for a TTL', async () => {
      const { a, b } = await pair({ leaseTtlMs: 200 });
      expect(await a.leases.claim('g1')).toBe(true);
      expect(await b.leases.claim('g1')).toBe(false);
      await sleep(300);
      expect(await b.leases.claim('g1')).toBe(true);
      expect(await a.leases.claim('g1')).toBe(false);
      expect(await a.leases.renew(['g1'])).toEqual(['g1']);
    });

    it('keeps leases under its own key prefix', async () => {
      const { a, prefix } = await pair();
      expect(await a.leases.claim('g-prefixed')).toBe(true);
      const other = await pair();
      // Another prefix (another deployment on the same Redis) sees no lease.
      expect(await other.b.leases.claim('g-prefixed')).toBe(true);
      expect(prefix).not.toBe(other.prefix);
    });
  });

  describe('shared slots', () => {
    it('holds the cap across both processes and tells the refused one to ask again in about a second', async () => {
      const { a, b } = await pair({ maxActiveGenerations: 2 });
      expect(await a.slots.tryTake([{ taskId: 't1', guildId: 'g1' }])).toMatchObject({ taken: true });
      expect(await b.slots.tryTake([{ taskId: 't2', guildId: 'g2' }])).toMatchObject({ taken: true });
      expect(await a.slots.tryTake([{ taskId: 't3', guildId: 'g1' }])).toEqual({ taken: false, retryInMs: 1_000 });
      expect(await b.slots.tryTake([{ taskId: 't4', guildId: 'g2' }])).toEqual({ taken: false, retryInMs: 1_000 });
      // A task that holds a slot may ask again (idempotent), even when the pool is full.
      expect(await a.slots.tryTake([{ taskId: 't1', guildId: 'g1' }])).toMatchObject({ taken: true });
      expect(await b.slots.tryTake([{ taskId: 't1', guildId: 'g1' }])).toMatchObject({ taken: true });
      expect((await a.slots.guildsHoldingSlots()).sort()).toEqual(['g1', 'g2']);
    });

    it('taking the same task twice holds one slot', async () => {
      const { a, b } = await pair({ maxActiveGenerations: 2 });
      expect(await a.slots.tryTake([{ taskId: 't1', guildId: 'g1' }])).toMatchObject({ taken: true });
      expect(await a.slots.tryTake([{ taskId: 't1', guildId: 'g1' }])).toMatchObject({ taken: true });
      expect(await b.slots.tryTake([{ taskId: 't2', guildId: 'g2' }])).toMatchObject({ taken: true });
      expect(await b.slots.tryTake([{ taskId: 't3', guildId: 'g2' }])).toEqual({ taken: false, retryInMs: 1_000 });
    });

    it("a release frees the slot and fires the other process's onFreed", async () => {
      const { a, b } = await pair({ maxActiveGenerations: 1 });
      const freedAtB = freedNotices(b);
      expect(await a.slots.tryTake([{ taskId: 't1', guildId: 'g1' }])).toMatchObject({ taken: true });
      expect(await b.slots.tryTake([{ taskId: 't2', guildId: 'g2' }])).toMatchObject({ taken: false });

      await a.slots.release('t1');
      await freedAtB.wait();
      expect(freedAtB.fired).toBe(1);
      expect(await b.slots.tryTake([{ taskId: 't2', guildId: 'g2' }])).toMatchObject({ taken: true });
      expect(await a.slots.guildsHoldingSlots()).toEqual(['g2']);
    });

    it('releasing a task that holds no slot sends no notice', async () => {
      const { a, b } = await pair();
      const freedAtB = freedNotices(b);
      await a.slots.release('never-taken');
      await sleep(200);
      expect(freedAtB.fired).toBe(0);
    });

    it('paces submits across both processes', async () => {
      const { a, b } = await pair({ maxActiveGenerations: 5, submitMinIntervalMs: 300 });
      expect(await a.slots.tryTake([{ taskId: 't1', guildId: 'g1' }])).toMatchObject({ taken: true });
      const answer = await b.slots.tryTake([{ taskId: 't2', guildId: 'g2' }]);
      expect(answer.taken).toBe(false);
      const retryInMs = answer.taken ? 0 : answer.retryInMs;
      expect(retryInMs).toBeGreaterThan(0);
      expect(retryInMs).toBeLessThanOrEqual(300);
      // A refused take does not hold a slot.
      expect(await a.slots.guildsHoldingSlots()).toEqual(['g1']);

      await sleep(retryInMs + 20);
      expect(await b.slots.tryTake([{ taskId: 't2', guildId: 'g2' }])).toMatchObject({ taken: true });
      expect((await a.slots.guildsHoldingSlots()).sort()).toEqual(['g1', 'g2']);
    });

    it('a pause (429) holds every process, and a shorter pause never shortens a longer one', async () => {
      const { a, b } = await pair({ maxActiveGenerations: 5, submitMinIntervalMs: 0 });
      await a.slots.pause(600);
      await a.slots.pause(100);
      const answer = await b.slots.tryTake([{ taskId: 't1', guildId: 'g1' }]);
      expect(answer.taken).toBe(false);
      const retryInMs = answer.taken ? 0 : answer.retryInMs;
      expect(retryInMs).toBeGreaterThan(300);
      expect(retryInMs).toBeLessThanOrEqual(600);
      expect(await a.slots.guildsHoldingSlots()).toEqual([]);

      await sleep(retryInMs + 20);
      expect(await b.slots.tryTake([{ taskId: 't1', guildId: 'g1' }])).toMatchObject({ taken: true });
    });

    it("reconcile drops a guild's leaked slots, adds its running tasks and keeps other guilds' slots", async () => {
      const { a, b } = await pair({ maxActiveGenerations: 5 });
      expect(await a.slots.tryTake([{ taskId: 'leak-1', guildId: 'g1' }])).toMatchObject({ taken: true });
      expect(await a.slots.tryTake([{ taskId: 'kept-1', guildId: 'g1' }])).toMatchObject({ taken: true });
      expect(await a.slots.tryTake([{ taskId: 'other-1', guildId: 'g2' }])).toMatchObject({ taken: true });
      // A has nothing more to offer: its guilds leave the round-robin.
      await a.slots.withdraw();
      const freedAtA = freedNotices(a);

      // B took g1 over: kept-1 and running-2 run, leak-1 was left by A's crash.
      await b.slots.reconcile('g1', ['kept-1', 'running-2']);
      await freedAtA.wait();
      // Exactly 3 slots held now (kept-1, running-2, other-1): two more fit, a third does not.
      expect(await b.slots.tryTake([{ taskId: 'new-1', guildId: 'g3' }])).toMatchObject({ taken: true });
      expect(await b.slots.tryTake([{ taskId: 'new-2', guildId: 'g3' }])).toMatchObject({ taken: true });
      expect(await b.slots.tryTake([{ taskId: 'new-3', guildId: 'g3' }])).toEqual({ taken: false, retryInMs: 1_000 });
      // leak-1 holds no slot any more (taking it again needs a free slot); the others still hold theirs.
      expect(await a.slots.tryTake([{ taskId: 'leak-1', guildId: 'g1' }])).toEqual({ taken: false, retryInMs: 1_000 });
      for (const [task, guild] of [
        ['kept-1', 'g1'],
        ['running-2', 'g1'],
        ['other-1', 'g2'],
      ] as const) {
        expect(await a.slots.tryTake([{ taskId: task, guildId: guild }])).toMatchObject({ taken: true });
      }

      // A guild with nothing running gives every slot back.
      await b.slots.reconcile('g3', []);
      expect((await a.slots.guildsHoldingSlots()).sort()).toEqual(['g1', 'g2']);
      await b.slots.reconcile('g1', []);
      expect(await a.slots.guildsHoldingSlots()).toEqual(['g2']);
    });

    it('guildsHoldingSlots lists each guild holding a slot once', async () => {
      const { a, b } = await pair({ maxActiveGenerations: 5 });
      expect(await a.slots.guildsHoldingSlots()).toEqual([]);
      await a.slots.tryTake([{ taskId: 't1', guildId: 'g1' }]);
      await a.slots.tryTake([{ taskId: 't2', guildId: 'g1' }]);
      await b.slots.tryTake([{ taskId: 't3', guildId: 'g2' }]);
      expect((await b.slots.guildsHoldingSlots()).sort()).toEqual(['g1', 'g2']);
      await a.slots.release('t1');
      await a.slots.release('t2');
      expect(await b.slots.guildsHoldingSlots()).toEqual(['g2']);
    });

    it('twenty takes at once from both processes take exactly the cap', async () => {
      const { a, b } = await pair({ maxActiveGenerations: 3, submitMinIntervalMs: 0 });
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).slots.tryTake([{ taskId: `t${i}`, guildId: `g${i % 4}` }])),
      );
      expect(answers.filter((answer) => answer.taken)).toHaveLength(3);
      expect(answers.filter((answer) => !answer.taken)).toHaveLength(17);
      const holding = await a.slots.guildsHoldingSlots();
      expect(holding.length).toBeGreaterThanOrEqual(1);
      expect(holding.length).toBeLessThanOrEqual(3);
    });
  });
  describe("one round-robin over every process's guilds", () => {
    it("serves guilds in turn whichever process owns them: one process's single guild gets a guild's share, not half", async () => {
      const { a, b } = await pair({ maxActiveGenerations: 100, submitMinIntervalMs: 0 });
      let n = 0;
      const offer = (guilds: string[]) => guilds.map((guildId) => ({ guildId, taskId: `${guildId}-${++n}` }));
      const served: string[] = [];
      // Both processes ask in turn, as their wake-ups would; A owns g1, B owns g2 and g3.
      for (let i = 0; i < 12; i++) {
        const answer = await (i % 2 === 0 ? a : b).slots.tryTake(offer(i % 2 === 0 ? ['g1'] : ['g2', 'g3']));
        if (answer.taken) served.push(answer.guildId);
        else expect(answer).toEqual({ taken: false, retryInMs: 250 });
      }
      expect(served.slice(0, 6)).toEqual(['g1', 'g2', 'g3', 'g1', 'g2', 'g3']);
      const count = (guild: string) => served.filter((g) => g === guild).length;
      expect(count('g1')).toBe(count('g2'));
      expect(count('g2')).toBe(count('g3'));
    });

    it('a guild that starts waiting goes behind the guilds already waiting, ahead of the one just served', async () => {
      const { a, b } = await pair({ maxActiveGenerations: 100, submitMinIntervalMs: 0 });
      expect(await a.slots.tryTake([{ guildId: 'g1', taskId: 't1' }])).toMatchObject({ guildId: 'g1' });
      // g2 joins now: g1 was just served, so g2 goes first although both wait.
      expect(await b.slots.tryTake([{ guildId: 'g2', taskId: 't2' }])).toMatchObject({ taken: true, guildId: 'g2' });
      expect(await a.slots.tryTake([{ guildId: 'g1', taskId: 't3' }])).toMatchObject({ taken: true, guildId: 'g1' });
    });

    it("a withdrawn guild no longer holds up the others, and a dead process's offer expires", async () => {
      const { a, b } = await pair({ maxActiveGenerations: 100, submitMinIntervalMs: 0, offerStaleMs: 300 });
      await a.slots.pause(50);
      // A offers g0 while paused (g0 < g9: g0 is first in line), then withdraws: B goes at once.
      expect(await a.slots.tryTake([{ guildId: 'g0', taskId: 't0' }])).toMatchObject({ taken: false });
      await a.slots.withdraw();
      await sleep(60);
      expect(await b.slots.tryTake([{ guildId: 'g9', taskId: 't9' }])).toMatchObject({ taken: true, guildId: 'g9' });

      // A offers g0 again and dies: B waits for its turn only until A's offer is stale.
      await a.slots.pause(50);
      expect(await a.slots.tryTake([{ guildId: 'g0', taskId: 't0' }])).toMatchObject({ taken: false });
      await sleep(60);
      expect(await b.slots.tryTake([{ guildId: 'g9', taskId: 't10' }])).toEqual({ taken: false, retryInMs: 250 });
      await sleep(300);
      expect(await b.slots.tryTake([{ guildId: 'g9', taskId: 't10' }])).toMatchObject({ taken: true, guildId: 'g9' });
    });
  });

  it('ping answers while Redis does, and rejects once the coordination is closed', async () => {
    const { a } = await pair();
    await expect(a.ping()).resolves.toBeUndefined();
    await a.close();
    await expect(a.ping()).rejects.toThrow();
  });

  describe('settings changes', () => {
    it('reach the other processes with the guild id, not the one that made them', async () => {
      const { a, b } = await pair();
      const heardByA: string[] = [];
      const heardByB: string[] = [];
      a.onSettingsChanged((guildId) => heardByA.push(guildId));
      b.onSettingsChanged((guildId) => heardByB.push(guildId));
      await a.settingsChanged('610000000000000001');
      await b.settingsChanged('610000000000000002');
      await waitFor(() => heardByA.length === 1 && heardByB.length === 1);
      await sleep(100);
      expect(heardByB).toEqual(['610000000000000001']);
      expect(heardByA).toEqual(['610000000000000002']);
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const startedAt = Date.now();
  while (!condition()) {
    if (Date.now() - startedAt > timeoutMs) throw new Error('timed out');
    await sleep(10);
  }
}
