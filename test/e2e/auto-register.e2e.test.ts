import { afterEach, describe, expect, it } from 'vitest';
import { registrationKey } from '../../src/discord/command-registration.js';
import { REGISTERED_COMMANDS_NAMESPACE } from '../../src/store/keyv-registered-commands.js';
import { openStoreBackend } from '../../src/store/open-store.js';
import { createWorld, MEMBER_ID, type World } from './harness.js';

/**
 * `npm start` alone registers the slash commands (README "Quick start"): on the first start, and
 * again only when the definitions differ from what the bot registered last (an upgrade).
 */

const GUILD_PUT = 'PUT /applications/:appId/guilds/:guildId/commands';
const GLOBAL_PUT = 'PUT /applications/:appId/commands';
const REGISTERED = 'commands registered';
const UNCHANGED = 'commands unchanged since the last registration';

const worlds: World[] = [];
afterEach(async () => {
  await Promise.allSettled(worlds.splice(0).map((w) => w.close()));
});

async function restart(world: World, extraEnv: Record<string, string>) {
  expect(await world.bot!.kill('SIGTERM'), 'graceful stop').toBe(0);
  return world.startBot(extraEnv);
}

describe('e2e: commands registered by the bot itself', () => {
  it('registers once on the first start, not again on a restart with the same commands, and again when they changed', async () => {
    const world = await createWorld({ discord: { ackDeadlineMs: 10_000 } });
    worlds.push(world);
    const guild = world.guilds[0]!;
    const env = { DISCORD_GUILD_ID: guild.id };

    const first = await world.startBot(env);
    await first.waitForLog((line) => line.msg === REGISTERED, 15_000);
    expect(world.discord.requestsTo(GUILD_PUT)).toHaveLength(1);
    expect(world.discord.requestsTo(GLOBAL_PUT)).toHaveLength(0);
    const names = world.discord.registeredCommands(guild.id).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['sora', 'sora-admin']));

    // What members see: the registered command works.
    const handle = world.discord.sendCommand({
      guildId: guild.id,
      channelId: world.channelOf(guild),
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'status',
      options: {},
    });
    await handle.waitForOriginal(() => true, 15_000);

    const second = await restart(world, env);
    await second.waitForLog((line) => line.msg === UNCHANGED, 15_000);
    expect(second.logs.some((line) => line.msg === REGISTERED)).toBe(false);
    expect(world.discord.requestsTo(GUILD_PUT)).toHaveLength(1);

    // An upgrade: the store holds the hash of the definitions an older release registered.
    expect(await world.bot!.kill('SIGTERM')).toBe(0);
    const backend = openStoreBackend(world.storeUrl);
    const key = registrationKey({ applicationId: world.discord.applicationId, guildId: guild.id });
    const registry = backend.keyv<string>(REGISTERED_COMMANDS_NAMESPACE);
    expect(await registry.get(key), 'the hash the bot recorded').toMatch(/^[0-9a-f]{64}$/);
    await registry.set(key, 'hash-of-an-older-release');
    await backend.close();

    const third = await world.startBot(env);
    await third.waitForLog((line) => line.msg === REGISTERED, 15_000);
    expect(world.discord.requestsTo(GUILD_PUT)).toHaveLength(2);
    expect(world.discord.requestsTo(GLOBAL_PUT)).toHaveLength(0);

    // Without DISCORD_GUILD_ID: global, another target, registered once there.
    const global = await restart(world, {});
    await global.waitForLog((line) => line.msg === REGISTERED, 15_000);
    expect(world.discord.requestsTo(GLOBAL_PUT)).toHaveLength(1);
    expect(world.discord.registeredCommands().map((c) => c.name)).toEqual(expect.arrayContaining(['sora', 'sora-admin']));
  }, 120_000);

  it('a failed registration is logged and the bot keeps serving; the next start tries again', async () => {
    const world = await createWorld({ discord: { ackDeadlineMs: 10_000 } });
    worlds.push(world);
    const guild = world.guilds[0]!;
    const env = { DISCORD_GUILD_ID: guild.id };
    world.discord.failNext('/applications/', { method: 'PUT', status: 403, code: 50001, message: 'Missing Access' });

    const first = await world.startBot(env);
    const error = await first.waitForLog((line) => /could not register the slash commands/.test(String(line.msg)), 15_000);
    expect(error.level).toBe(50);
    expect(world.discord.registeredCommands(guild.id)).toHaveLength(0);
    expect(first.child.exitCode).toBeNull();
    const handle = world.discord.sendCommand({
      guildId: guild.id,
      channelId: world.channelOf(guild),
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'status',
      options: {},
    });
    await handle.waitForOriginal(() => true, 15_000);

    const second = await restart(world, env);
    await second.waitForLog((line) => line.msg === REGISTERED, 15_000);
    expect(world.discord.registeredCommands(guild.id).map((c) => c.name)).toEqual(expect.arrayContaining(['sora', 'sora-admin']));
  }, 120_000);
});
