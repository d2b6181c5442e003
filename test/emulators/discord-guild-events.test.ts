import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Events, GatewayIntentBits, PermissionFlagsBits } from 'discord.js';
import type { ClientEvents, GuildTextBasedChannel } from 'discord.js';
import { PermissionBits, startDiscordEmulator } from './discord/index.js';
import type { DiscordEmulator } from './discord/index.js';

/**
 * The emulator's part in the bot's delivery guards: the gateway events a real discord.js client
 * keeps its caches by (guild left or removed, channel deleted, permissions changed) and the REST
 * route a bot leaves a guild with.
 */
describe('discord emulator: guild, channel and permission events', () => {
  let emulator: DiscordEmulator;
  let client: Client;

  const next = <E extends keyof ClientEvents>(event: E) =>
    new Promise<ClientEvents[E]>((resolve) => client.once(event, (...args) => resolve(args)));
  const me = (guildId: string) => client.guilds.cache.get(guildId)!.members.me!;
  const channel = (id: string) => client.channels.cache.get(id) as GuildTextBasedChannel;

  beforeAll(async () => {
    emulator = await startDiscordEmulator({ heartbeatIntervalMs: 250 });
    client = new Client({
      intents: [GatewayIntentBits.Guilds],
      rest: { api: emulator.apiUrl },
      ws: { buildIdentifyThrottler: () => ({ waitForIdentify: () => Promise.resolve() }) },
    });
    const ready = next(Events.ClientReady);
    await client.login(emulator.token);
    await ready;
  });
  afterAll(async () => {
    await client?.destroy();
    await emulator?.close();
  });

  it('DELETE /users/@me/guilds/:id leaves the guild: GUILD_DELETE, gone from the cache, recorded, then 10004', async () => {
    const joined = next(Events.GuildCreate);
    const guild = emulator.addGuild({ name: 'Outsider', channels: [{ name: 'general' }] });
    await joined;
    const deleted = next(Events.GuildDelete);
    await client.guilds.cache.get(guild.id)!.leave();
    const [left] = await deleted;

    expect(left.id).toBe(guild.id);
    expect(client.guilds.cache.has(guild.id)).toBe(false);
    expect(emulator.leftGuildIds).toEqual([guild.id]);
    expect(emulator.state.requireGuild(guild.id).removed).toBe(true);
    await expect(client.rest.delete(`/users/@me/guilds/${guild.id}`)).rejects.toMatchObject({ code: 10004, status: 404 });
  });

  it('removeGuild sends GUILD_DELETE without unavailable (a removal, not an outage)', async () => {
    const guild = emulator.addGuild({ name: 'Kicked', channels: [{ name: 'general' }] });
    await emulator.waitFor(() => client.guilds.cache.has(guild.id), 5_000, 'the guild in the cache');
    const deleted = next(Events.GuildDelete);
    emulator.removeGuild(guild.id);
    await deleted;
    expect(client.guilds.cache.has(guild.id)).toBe(false);
  });

  it('channel deletion, a channel overwrite and a role change reach the cache discord.js computes permissions from', async () => {
    const guild = emulator.addGuild({ name: 'Perms', channels: [{ name: 'a' }, { name: 'b' }] });
    await emulator.waitFor(() => client.guilds.cache.has(guild.id), 5_000, 'the guild in the cache');
    const [a, b] = guild.channelIds as [string, string];
    expect(channel(a).permissionsFor(me(guild.id)).has(PermissionFlagsBits.AttachFiles)).toBe(true);

    const updated = next(Events.ChannelUpdate);
    emulator.setBotPermissions(a, PermissionBits.ViewChannel | PermissionBits.SendMessages);
    await updated;
    expect(channel(a).permissionsFor(me(guild.id)).has(PermissionFlagsBits.AttachFiles)).toBe(false);

    const roleUpdated = next(Events.GuildRoleUpdate);
    emulator.setGuildBotPermissions(guild.id, PermissionBits.ViewChannel);
    await roleUpdated;
    expect(channel(b).permissionsFor(me(guild.id)).has(PermissionFlagsBits.SendMessages)).toBe(false);

    const channelDeleted = next(Events.ChannelDelete);
    emulator.deleteChannel(b);
    await channelDeleted;
    expect(client.channels.cache.has(b)).toBe(false);
  });
});
