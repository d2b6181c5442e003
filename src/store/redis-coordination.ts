import { createClient } from '@redis/client';
import type { GuildLeases, Logger, SlotAnswer, SlotPool } from '../core/ports.js';

/** Settings of the Redis coordination (several bot processes on one Redis). */
export interface RedisCoordinationOptions {
  /** The `STORE_URL` (may hold a password: never logged). */
  url: string;
  /** Prepended to every key, as for the store's namespaces. */
  keyPrefix: string;
  /** This process, as written into the leases it holds (unique per start). */
  instanceId: string;
  leaseTtlMs: number;
  /** The account-wide cap on generations running at once (`MAX_ACTIVE_GENERATIONS`). */
  maxActiveGenerations: number;
  /** Minimum gap between two submits across every process. */
  submitMinIntervalMs: number;
  logger: Logger;
  commandTimeoutMs?: number;
}

/** Leases and shared slots over one Redis connection (plus one for the slot-freed notices). */
export interface RedisCoordination {
  readonly leases: GuildLeases;
  readonly slots: SlotPool;
  /** Tells the other processes that a guild's settings changed (they read them again). */
  settingsChanged(guildId: string): Promise<void>;
  /** Calls `listener` when another process changed a guild's settings. */
  onSettingsChanged(listener: (guildId: string) => void): void;
  connect(): Promise<void>;
  close(): Promise<void>;
}

// keyv offers no compare-and-set, so every check-then-write below is one Lua script: Redis runs it
// atomically, which is what makes a lease or a slot safe between processes.

/** KEYS[1] lease; ARGV instance, ttl. Take the lease when free, extend it when ours. */
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

/** KEYS leases; ARGV instance, ttl. Extend the ones still ours; 0 for each lost (expired or taken). */
const RENEW = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]) out[i] = 1 else out[i] = 0 end
end
return out`;

/** KEYS leases; ARGV instance. Delete the ones still ours. */
const RELEASE = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 1`;

/**
 * KEYS[1] slots (hash task → guild), KEYS[2] pace; ARGV task, guild, max, paceMs.
 * 0: taken (or already held); -1: every slot is taken; n > 0: the next submit may go in n ms.
 */
const TAKE_SLOT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
local wait = redis.call('PTTL', KEYS[2])
if wait > 0 then return wait end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[4]) end
return 0`;

/** KEYS[1] pace; ARGV ms. Hold submits at least this long (never shortens a longer hold). */
const PAUSE = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1`;

/** KEYS[1] slots; ARGV guild, running task ids… The guild's slots become exactly those tasks. */
const RECONCILE = `
local keep = {}
for i = 2, #ARGV do keep[ARGV[i]] = true end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] and not keep[all[i]] then redis.call('HDEL', KEYS[1], all[i]) end
end
for i = 2, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
return 1`;

// Asking again this often while every slot is taken: the slot-freed notice usually comes first.
const FULL_RETRY_MS = 1_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/** Creates the coordination; call `connect()` before use. */
export function createRedisCoordination(options: RedisCoordinationOptions): RedisCoordination {
  const { keyPrefix, instanceId, logger } = options;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const client = createClient({
    url: options.url,
    socket: { connectTimeout: commandTimeoutMs, reconnectStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, 2_000) },
    commandOptions: { timeout: commandTimeoutMs },
  });
  const subscriber = client.duplicate();
  // Without listeners an 'error' event would crash the process; the failing command rejects on its own.
  client.on('error', (err: unknown) => logger.warn({ err }, 'redis coordination error'));
  subscriber.on('error', (err: unknown) => logger.warn({ err }, 'redis subscriber error'));

  const leaseKey = (guildId: string): string => `${keyPrefix}lease:guild:${guildId}`;
  const slotsKey = `${keyPrefix}slots`;
  const paceKey = `${keyPrefix}submit-pace`;
  const freedChannel = `${keyPrefix}slot-freed`;
  const freedListeners: (() => void)[] = [];
  const settingsChannel = `${keyPrefix}settings-changed`;
  const settingsListeners: ((guildId: string) => void)[] = [];
  const ttl = String(options.leaseTtlMs);

  const leases: GuildLeases = {
    async claim(guildId) {
      return Number(await client.eval(CLAIM, { keys: [leaseKey(guildId)], arguments: [instanceId, ttl] })) === 1;
    },
    async renew(guildIds) {
      if (guildIds.length === 0) return [];
      const held = (await client.eval(RENEW, { keys: guildIds.map(leaseKey), arguments: [instanceId, ttl] })) as number[];
      return guildIds.filter((_, index) => Number(held[index]) !== 1);
    },
    async release(guildIds) {
      if (guildIds.length === 0) return;
      await client.eval(RELEASE, { keys: guildIds.map(leaseKey), arguments: [instanceId] });
    },
  };

  const slots: SlotPool = {
    async tryTake(taskId, guildId): Promise<SlotAnswer> {
      const answer = Number(
        await client.eval(TAKE_SLOT, {
          keys: [slotsKey, paceKey],
          arguments: [taskId, guildId, String(options.maxActiveGenerations), String(options.submitMinIntervalMs)],
        }),
      );
      if (answer === 0) return { taken: true };
      return { taken: false, retryInMs: answer < 0 ? FULL_RETRY_MS : answer };
    },
    async release(taskId) {
      const removed = await client.hDel(slotsKey, taskId);
      if (removed > 0) await client.publish(freedChannel, taskId);
    },
    async pause(ms) {
      if (ms > 0) await client.eval(PAUSE, { keys: [paceKey], arguments: [String(Math.ceil(ms))] });
    },
    async reconcile(guildId, runningTaskIds) {
      await client.eval(RECONCILE, { keys: [slotsKey], arguments: [guildId, ...runningTaskIds] });
      await client.publish(freedChannel, guildId);
    },
    async guildsHoldingSlots() {
      return [...new Set(await client.hVals(slotsKey))];
    },
    onFreed(listener) {
      freedListeners.push(listener);
    },
  };

  return {
    leases,
    slots,
    async settingsChanged(guildId) {
      await client.publish(settingsChannel, `${instanceId} ${guildId}`);
    },
    onSettingsChanged(listener) {
      settingsListeners.push(listener);
    },
    async connect() {
      await client.connect();
      await subscriber.connect();
      await subscriber.subscribe(freedChannel, () => {
        for (const listener of freedListeners) listener();
      });
      await subscriber.subscribe(settingsChannel, (message) => {
        const [from, guildId] = message.split(' ');
        if (from === instanceId || !guildId) return;
        for (const listener of settingsListeners) listener(guildId);
      });
    },
    async close() {
      // Pending commands (the lease release) finish first; a dead Redis fails them by their timeout.
      await Promise.allSettled([subscriber.close(), client.close()]);
    },
  };
}
