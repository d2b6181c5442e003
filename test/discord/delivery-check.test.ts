import { Client, ClientUser, GatewayIntentBits, OverwriteType, PermissionFlagsBits as P } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { createDeliveryCheck } from '../../src/discord/delivery-check.js';

const GUILD = '1000';
const BOT = '2000';
const BOT_ROLE = '3000';
const TEXT = '4000';
const THREAD = '4001';

const POSTING = P.ViewChannel | P.SendMessages | P.SendMessagesInThreads | P.AttachFiles | P.EmbedLinks;

interface Overwrite {
  id: string;
  type: OverwriteType;
  allow?: bigint;
  deny?: bigint;
}

/**
 * A discord.js client whose caches hold one guild as GUILD_CREATE would fill them (no gateway, no
 * REST): the permission math under test is discord.js's own.
 */
function clientWith(options: { everyone?: bigint; botRole?: bigint; overwrites?: Overwrite[]; unavailable?: boolean } = {}) {
  const client = new Client({ intents: [GatewayIntentBits.Guilds] });
  // The bot's own user, as READY sets it (ClientUser's constructor is not in the typings).
  const UserCtor = ClientUser as unknown as new (client: Client, data: object) => ClientUser;
  client.user = new UserCtor(client, { id: BOT, username: 'bot', discriminator: '0', bot: true });
  const guilds = client.guilds as unknown as { _add(data: object): unknown };
  guilds._add({
    id: GUILD,
    name: 'guild',
    owner_id: '9999',
    unavailable: options.unavailable ?? false,
    roles: [
      { id: GUILD, name: '@everyone', permissions: String(options.everyone ?? 0n), position: 0 },
      { id: BOT_ROLE, name: 'bot', permissions: String(options.botRole ?? POSTING), position: 1 },
    ],
    members: [{ user: { id: BOT, username: 'bot', bot: true }, roles: [BOT_ROLE], joined_at: '2025-01-01T00:00:00.000Z' }],
    channels: [
      {
        id: TEXT,
        type: 0,
        name: 'general',
        guild_id: GUILD,
        permission_overwrites: (options.overwrites ?? []).map((o) => ({
          id: o.id,
          type: o.type,
          allow: String(o.allow ?? 0n),
          deny: String(o.deny ?? 0n),
        })),
      },
    ],
    threads: [{ id: THREAD, type: 11, name: 'thread', guild_id: GUILD, parent_id: TEXT, thread_metadata: { archived: false } }],
  });
  return client;
}

const checkIn = (client: Client, channelId: string, guildId = GUILD) => createDeliveryCheck(client).check({ guildId, channelId });

describe('createDeliveryCheck (from the gateway cache)', () => {
  it('answers ok where the bot may see, send, attach and embed', () => {
    expect(checkIn(clientWith(), TEXT)).toEqual({ ok: true });
    expect(checkIn(clientWith(), THREAD)).toEqual({ ok: true });
  });

  it('a server the bot is not in (not in the cache) is guild_gone', () => {
    expect(checkIn(clientWith(), TEXT, '1111')).toEqual({ ok: false, reason: 'guild_gone' });
  });

  it('an unavailable server (an outage) is not judged: the submit goes ahead', () => {
    expect(checkIn(clientWith({ unavailable: true }), TEXT)).toEqual({ ok: true });
  });

  it('a channel that is not in the cache (deleted) is channel_gone', () => {
    expect(checkIn(clientWith(), '4999')).toEqual({ ok: false, reason: 'channel_gone' });
  });

  it('names every permission the bot lacks, from its roles', () => {
    const client = clientWith({ botRole: P.ViewChannel | P.SendMessages });
    expect(checkIn(client, TEXT)).toEqual({ ok: false, reason: 'missing_permissions', permissions: ['AttachFiles', 'EmbedLinks'] });
  });

  it('@everyone grants count too', () => {
    const client = clientWith({ everyone: P.ViewChannel | P.AttachFiles | P.EmbedLinks, botRole: P.SendMessages });
    expect(checkIn(client, TEXT)).toEqual({ ok: true });
  });

  it('a channel overwrite that denies the bot role SendMessages blocks it', () => {
    const client = clientWith({ overwrites: [{ id: BOT_ROLE, type: OverwriteType.Role, deny: P.SendMessages }] });
    expect(checkIn(client, TEXT)).toEqual({ ok: false, reason: 'missing_permissions', permissions: ['SendMessages'] });
  });

  it("a member overwrite wins over the role's deny", () => {
    const client = clientWith({
      overwrites: [
        { id: BOT_ROLE, type: OverwriteType.Role, deny: P.SendMessages | P.AttachFiles },
        { id: BOT, type: OverwriteType.Member, allow: P.SendMessages | P.AttachFiles },
      ],
    });
    expect(checkIn(client, TEXT)).toEqual({ ok: true });
  });

  it('@everyone denied ViewChannel in the channel hides it from the bot', () => {
    const client = clientWith({
      everyone: POSTING,
      botRole: 0n,
      overwrites: [{ id: GUILD, type: OverwriteType.Role, deny: P.ViewChannel }],
    });
    expect(checkIn(client, TEXT)).toEqual({ ok: false, reason: 'missing_permissions', permissions: ['ViewChannel'] });
  });

  it('in a thread SendMessagesInThreads counts (from the parent), SendMessages does not', () => {
    const noThreadSend = clientWith({ overwrites: [{ id: BOT_ROLE, type: OverwriteType.Role, deny: P.SendMessagesInThreads }] });
    expect(checkIn(noThreadSend, THREAD)).toEqual({ ok: false, reason: 'missing_permissions', permissions: ['SendMessagesInThreads'] });
    expect(checkIn(noThreadSend, TEXT)).toEqual({ ok: true });

    const noSend = clientWith({ overwrites: [{ id: BOT_ROLE, type: OverwriteType.Role, deny: P.SendMessages }] });
    expect(checkIn(noSend, THREAD)).toEqual({ ok: true });
  });

  it('Administrator overrides every overwrite', () => {
    const client = clientWith({
      botRole: P.Administrator,
      overwrites: [{ id: BOT_ROLE, type: OverwriteType.Role, deny: POSTING }],
    });
    expect(checkIn(client, TEXT)).toEqual({ ok: true });
    expect(checkIn(client, THREAD)).toEqual({ ok: true });
  });
});
