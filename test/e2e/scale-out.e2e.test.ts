import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { GuildState, InteractionHandle } from '../emulators/discord/index.js';
import { deleteRedisKeys, isRedisAvailable, REDIS_URL, uniqueRedisPrefix } from '../store/redis-helpers.js';
import {
  createWorld,
  idsAskedIn,
  MEMBER_ID,
  resultFooterOf,
  settle,
  startExtraBot,
  waitUntil,
  type BotProcess,
  type LogLine,
  type World,
} from './harness.js';

/**
 * Several bot processes on one Redis (README "Scaling out"): two real bot processes, each running
 * one of two shards, on the real Redis (own key prefix) and the local emulators.
 */

const SLOW = 'slow:';
const WAIT_MS = 30_000;
const SCENARIO_TIMEOUT_MS = 120_000;
// Longer than a bot's start on a slow machine, so a restarted process still finds the old lease.
const LEASE_TTL_MS = 4_000;
// Guild ids whose shard (id >> 22 mod 2) is known: Discord routes a guild's events by it.
const EPOCH_MS = 300_000_000_000n;
const guildIdOnShard = (shard: 0 | 1, n: number): string => (((EPOCH_MS + BigInt(2 * n + shard)) << 22n) | 1n).toString();

const redisAvailable = await isRedisAvailable();
if (!redisAvailable && process.env.CI) throw new Error('Redis must run on 127.0.0.1:6379 in CI (design.md §4)');

const prefixes: string[] = [];
const worlds: World[] = [];
const bots: BotProcess[] = [];

afterEach(async () => {
  await Promise.allSettled(bots.splice(0).map((bot) => bot.kill('SIGKILL')));
  await Promise.allSettled(worlds.splice(0).map((world) => world.close()));
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisKeys(prefix);
});

interface ScaleWorld {
  world: World;
  /** Two guilds on shard 0, then two on shard 1. */
  guilds: GuildState[];
  envOf(shard: 0 | 1): Record<string, string>;
}

async function newScaleWorld(env: Record<string, string> = {}): Promise<ScaleWorld> {
  const prefix = uniqueRedisPrefix('scale-out');
  prefixes.push(prefix);
  const world = await createWorld({
    guilds: [],
    storeUrl: REDIS_URL,
    discord: { ackDeadlineMs: 10_000 },
    env: {
      REDIS_KEY_PREFIX: prefix,
      DISCORD_SHARD_COUNT: '2',
      GUILD_LEASE_TTL_MS: String(LEASE_TTL_MS),
      MEMBER_COOLDOWN_SECONDS: '0',
      ...env,
    },
  });
  worlds.push(world);
  world.ace.setTaskPlanner((body) => (String(body.prompt).startsWith(SLOW) ? { generationTimeMs: 10 * 60_000 } : undefined));
  const guilds = ([0, 0, 1, 1] as const).map((shard, n) =>
    world.discord.addGuild({
      id: guildIdOnShard(shard, n),
      name: `Shard ${shard} guild ${n}`,
      channels: [{ name: 'general' }],
      members: [{ id: MEMBER_ID, username: 'alice' }],
    }),
  );
  return { world, guilds, envOf: (shard) => ({ DISCORD_SHARDS: String(shard) }) };
}

async function startShardBot(scale: ScaleWorld, shard: 0 | 1): Promise<BotProcess> {
  const bot = await startExtraBot(scale.world, scale.envOf(shard));
  bots.push(bot);
  return bot;
}

function generate(world: World, guild: GuildState, prompt: string): InteractionHandle {
  const handle = world.discord.sendCommand({
    guildId: guild.id,
    channelId: world.channelOf(guild),
    userId: MEMBER_ID,
    name: 'sora',
    subcommand: 'generate',
    options: { prompt },
  });
  if (handle.deliveredTo !== 1) throw new Error(`the command reached ${handle.deliveredTo} gateway sessions, not 1`);
  return handle;
}

function submitsOf(world: World, prompt: string) {
  return world.ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt);
}

function providerTaskIdOf(world: World, prompt: string): string | undefined {
  return [...world.ace.tasks.values()].find((t) => t.request.prompt === prompt)?.id;
}

function resultsIn(world: World, guild: GuildState) {
  return world.discord.channelMessages(world.channelOf(guild)).filter((m) => resultFooterOf(m) !== undefined);
}

/** Guild ids of the bot's "submitting" log lines: the guilds whose tasks it sent. */
function guildsSubmittedBy(bot: BotProcess): Set<string> {
  return new Set(bot.logs.filter((l: LogLine) => l.msg === 'submitting').map((l) => String(l.guildId)));
}

function takenOver(bot: BotProcess): string[] {
  return bot.logs.filter((l) => l.msg === 'guilds taken over').flatMap((l) => l.guilds as string[]);
}

async function killAndWaitForGatewayClose(world: World, bot: BotProcess, shard: number): Promise<void> {
  await bot.kill('SIGKILL');
  await waitUntil(() => !world.discord.liveShards().some(([id]) => id === shard), 10_000, `shard ${shard}'s socket to close`);
}

describe.skipIf(!redisAvailable)('e2e: two bot processes, one shard each, on one Redis', () => {
  it(
    'each process serves and follows only its own shard’s guilds, the global cap and one round-robin hold across both, every result is posted once',
    async () => {
      const scale = await newScaleWorld({ MAX_ACTIVE_GENERATIONS: '2', GUILD_MAX_ACTIVE_GENERATIONS: '2' });
      const { world, guilds } = scale;
      const [bot0, bot1] = await Promise.all([startShardBot(scale, 0), startShardBot(scale, 1)]);

      // Two slow generations (one per process) hold both slots while every other command queues up.
      const blockers = [guilds[0]!, guilds[2]!].map((guild, i) => ({ guild, prompt: `${SLOW} blocker ${i}` }));
      const blockerHandles = blockers.map(({ guild, prompt }) => generate(world, guild, prompt));
      await waitUntil(() => blockers.every(({ prompt }) => providerTaskIdOf(world, prompt)), WAIT_MS, 'both blockers to be submitted');
      const prompts = guilds.flatMap((guild, g) => [0, 1].map((n) => ({ guild, prompt: `guild ${g} video ${n}` })));
      const handles = prompts.map(({ guild, prompt }) => generate(world, guild, prompt));
      await Promise.all(handles.map((h) => h.waitForOriginal((m) => m.content.startsWith('⏳ Queued'), WAIT_MS)));
      for (const { prompt } of blockers) world.ace.finishTask(providerTaskIdOf(world, prompt)!);
      await Promise.all([...blockerHandles, ...handles].map((h) => h.waitForOriginal((m) => m.content.startsWith('✅ Done'), WAIT_MS)));
      await settle(1_000);

      // Two processes with a local cap of 2 each would run 4 at once; the shared slots keep it at 2.
      expect(world.ace.stats().maxRunning).toBe(2);
      // One round-robin over all four guilds, whichever process owns them: each guild once per round.
      const guildOfPrompt = new Map(prompts.map(({ guild, prompt }) => [prompt, guild.id]));
      const submitOrder = world.ace
        .requestsTo('/sora/videos')
        .map((r) => guildOfPrompt.get(String((r.body as { prompt?: unknown }).prompt)))
        .filter((guildId) => guildId !== undefined);
      expect(new Set(submitOrder.slice(0, 4)).size, `guilds in submit order: ${submitOrder.join(', ')}`).toBe(4);
      expect(new Set(submitOrder.slice(4)).size, `guilds in submit order: ${submitOrder.join(', ')}`).toBe(4);
      for (const { prompt } of [...blockers, ...prompts]) expect(submitsOf(world, prompt), prompt).toHaveLength(1);
      guilds.forEach((guild, g) => expect(resultsIn(world, guild), guild.name).toHaveLength(g === 0 || g === 2 ? 3 : 2));

      const shard0 = new Set([guilds[0]!.id, guilds[1]!.id]);
      const shard1 = new Set([guilds[2]!.id, guilds[3]!.id]);
      expect(guildsSubmittedBy(bot0)).toEqual(shard0);
      expect(guildsSubmittedBy(bot1)).toEqual(shard1);
      expect(new Set(takenOver(bot0))).toEqual(shard0);
      expect(new Set(takenOver(bot1))).toEqual(shard1);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'a process killed mid-generation is restarted: it waits for its old lease to expire, then follows the task and posts it once; the other process never touches it',
    async () => {
      const scale = await newScaleWorld();
      const { world, guilds } = scale;
      const shard1Guild = guilds[2]!;
      const [bot0, bot1] = await Promise.all([startShardBot(scale, 0), startShardBot(scale, 1)]);

      const prompt = `${SLOW} a lighthouse in a storm`;
      const handle = generate(world, shard1Guild, prompt);
      const providerTaskId = await waitUntil(() => providerTaskIdOf(world, prompt), WAIT_MS, 'the submit');
      await waitUntil(
        () => world.ace.requestsTo('/sora/tasks').some((r) => idsAskedIn(r).includes(providerTaskId)),
        WAIT_MS,
        'a poll of the task',
      );

      const killedAt = Date.now();
      await killAndWaitForGatewayClose(world, bot1, 1);
      const restarted = await startShardBot(scale, 1);
      // The dead process's lease still stands at the restart: the new one waits for it.
      await restarted.waitForLog((l) => l.msg === 'guilds taken over' && (l.guilds as string[]).includes(shard1Guild.id), WAIT_MS);
      const time = restarted.logs.find((l) => l.msg === 'guilds taken over')!.time;
      const takenOverAt = typeof time === 'string' ? Date.parse(time) : Number.NaN;
      // The lease was renewed at most a third of its TTL before the kill.
      expect(takenOverAt - killedAt, 'taken over only once the old lease expired').toBeGreaterThanOrEqual((LEASE_TTL_MS * 2) / 3 - 100);
      expect(restarted.logs.some((l) => l.msg === 'guilds held by another process; waiting for their leases to expire')).toBe(true);

      const polledAfterRestart = Date.now();
      await waitUntil(
        () => world.ace.requestsTo('/sora/tasks').some((r) => r.timeMs >= polledAfterRestart && idsAskedIn(r).includes(providerTaskId)),
        WAIT_MS,
        'the restarted process to poll the task',
      );
      world.ace.finishTask(providerTaskId);
      await handle.waitForOriginal((m) => m.content.startsWith('✅ Done'), WAIT_MS);
      await settle(1_000);

      expect(submitsOf(world, prompt)).toHaveLength(1);
      expect(resultsIn(world, shard1Guild)).toHaveLength(1);
      expect(takenOver(bot0)).not.toContain(shard1Guild.id);
      expect(bot0.logs.some((l) => l.taskId !== undefined && String(l.guildId) === shard1Guild.id)).toBe(false);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'a rolling restart: a second process for the same shard waits while the first holds the guild, and takes over at once when the first stops gracefully (lease released)',
    async () => {
      // A long TTL: the takeover must come from the release, not from expiry.
      const scale = await newScaleWorld({ GUILD_LEASE_TTL_MS: '60000' });
      const { world, guilds } = scale;
      const guild = guilds[0]!;
      const first = await startShardBot(scale, 0);
      const prompt = `${SLOW} a paper crane unfolding`;
      const handle = generate(world, guild, prompt);
      const providerTaskId = await waitUntil(() => providerTaskIdOf(world, prompt), WAIT_MS, 'the submit');

      const second = await startShardBot(scale, 0);
      expect(takenOver(second)).not.toContain(guild.id);

      const stoppedAt = Date.now();
      expect(await first.kill('SIGTERM')).toBe(0);
      await second.waitForLog((l) => l.msg === 'guilds taken over' && (l.guilds as string[]).includes(guild.id), 30_000);
      expect(Date.now() - stoppedAt, 'taken over well before the 60 s lease would expire').toBeLessThan(10_000);

      world.ace.finishTask(providerTaskId);
      await handle.waitForOriginal((m) => m.content.startsWith('✅ Done'), WAIT_MS);
      await settle(1_000);
      expect(submitsOf(world, prompt)).toHaveLength(1);
      expect(resultsIn(world, guild)).toHaveLength(1);
      expect(second.logs.some((l) => l.msg === 'generation finished' && String(l.guildId) === guild.id)).toBe(true);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
