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
  /** A guild offered longer ago than this left the round-robin (its process died); tests shorten it. */
  offerStaleMs?: number;
}

/** Leases and shared slots over one Redis connection (plus one for the slot-freed notices). */
export interface RedisCoordination {
  readonly leases: GuildLeases;
  readonly slots: SlotPool;
  /** Tells the other processes that a guild's settings changed (they read them again). */
  settingsChanged(guildId: string): Promise<void>;
  /** Calls `listener` when another process changed a guild's settings. */
  onSettingsChanged(listener: (guildId: string) => void): void;
  /** Rejects when Redis does not answer (readiness). */
  ping(): Promise<void>;
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

/**
 * KEYS leases; ARGV instance, ttl. Extend the ones still ours and take back the ones that expired
 * with nobody taking them (Redis was unreachable or restarted for longer than the TTL: this process
 * never stopped owning them, so it need not drop and reload them); 0 for each another process holds.
 */
const RENEW = `
local out = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    out[i] = 1
  elseif holder == false then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out`;

/** KEYS leases; ARGV instance. Delete the ones still ours. */
const RELEASE = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 1`;

/**
 * KEYS: 1 slots (hash task → guild), 2 pace, 3 turns (zset guild → round last served), 4 beats (hash
 * guild → ms last offered), 5 round (counter), 6 this instance's offered guilds (set).
 * ARGV: max, paceMs, staleMs, then guild, task pairs (this instance's candidates).
 * Answers {0, guild, task}: taken; {-1}: every slot is taken; {-2}: another process's guild goes
 * first; {n > 0}: submits are paced or paused for n ms.
 * The turn goes to the waiting guild served longest ago, across every process: a round-robin over
 * guilds, whichever process owns them. A guild that starts waiting joins behind every guild already
 * waiting (score round - 0.5) but ahead of the one just served (score round).
 */
const TAKE_SLOT = `
local max, paceMs, stale = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local offered = {}
for i = 4, #ARGV, 2 do offered[ARGV[i]] = ARGV[i + 1] end
for guild, task in pairs(offered) do
  if redis.call('HEXISTS', KEYS[1], task) == 1 then return {0, guild, task} end
end
for _, guild in ipairs(redis.call('SMEMBERS', KEYS[6])) do
  if not offered[guild] then
    redis.call('ZREM', KEYS[3], guild)
    redis.call('HDEL', KEYS[4], guild)
  end
end
redis.call('DEL', KEYS[6])
local round = tonumber(redis.call('GET', KEYS[5]) or '0')
for guild, _ in pairs(offered) do
  redis.call('ZADD', KEYS[3], 'NX', round - 0.5, guild)
  redis.call('HSET', KEYS[4], guild, now)
  redis.call('SADD', KEYS[6], guild)
end
redis.call('PEXPIRE', KEYS[6], stale)
local beats = redis.call('HGETALL', KEYS[4])
for i = 1, #beats, 2 do
  if now - tonumber(beats[i + 1]) > stale then
    redis.call('ZREM', KEYS[3], beats[i])
    redis.call('HDEL', KEYS[4], beats[i])
  end
end
if redis.call('HLEN', KEYS[1]) >= max then return {-1} end
local wait = redis.call('PTTL', KEYS[2])
if wait > 0 then return {wait} end
local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
local task = head and offered[head]
if not task then return {-2} end
redis.call('HSET', KEYS[1], task, head)
if paceMs > 0 then redis.call('SET', KEYS[2], '1', 'PX', paceMs) end
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[5]), head)
return {0, head, task}`;

/** KEYS 3 turns, 4 beats, 6 this instance's offered guilds (as TAKE_SLOT): they leave the round-robin. */
const WITHDRAW = `
for _, guild in ipairs(redis.call('SMEMBERS', KEYS[6])) do
  redis.call('ZREM', KEYS[3], guild)
  redis.call('HDEL', KEYS[4], guild)
end
redis.call('DEL', KEYS[6])
return 1`;

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
// While another process's guild has the turn, it takes its slot within a few milliseconds.
const NOT_YOUR_TURN_RETRY_MS = 250;
// A waiting process asks at least every second (even while paused), so a guild offered longer ago
// than this belongs to a process that died: it must not hold up the round-robin.
const MAX_RETRY_MS = 1_000;
const OFFER_STALE_MS = 5_000;
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
  const turnKeys = [`${keyPrefix}turns`, `${keyPrefix}turn-beats`, `${keyPrefix}turn-round`, `${keyPrefix}offered:${instanceId}`] as const;
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
    async tryTake(candidates): Promise<SlotAnswer> {
      const [turns, beats, round, offered] = turnKeys;
      const answer = (await client.eval(TAKE_SLOT, {
        keys: [slotsKey, paceKey, turns, beats, round, offered],
        arguments: [
          String(options.maxActiveGenerations),
          String(options.submitMinIntervalMs),
          String(options.offerStaleMs ?? OFFER_STALE_MS),
          ...candidates.flatMap((c) => [c.guildId, c.taskId]),
        ],
      })) as (number | string)[];
      const code = Number(answer[0]);
      if (code === 0) return { taken: true, guildId: String(answer[1]), taskId: String(answer[2]) };
      if (code === -1) return { taken: false, retryInMs: FULL_RETRY_MS };
      if (code === -2) return { taken: false, retryInMs: NOT_YOUR_TURN_RETRY_MS };
      return { taken: false, retryInMs: Math.min(code, MAX_RETRY_MS) };
    },
    async withdraw() {
      const [turns, beats, round, offered] = turnKeys;
      await client.eval(WITHDRAW, { keys: [slotsKey, paceKey, turns, beats, round, offered] });
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
    async ping() {
      await client.ping();
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
