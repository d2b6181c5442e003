import { setTimeout as sleep } from 'node:timers/promises';
import { createInflate } from 'node:zlib';
import { describe, it, expect, vi, beforeAll, afterAll } from 'vitest';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  PermissionFlagsBits,
  RESTEvents,
  Routes,
  SlashCommandBuilder,
  Status,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import type { Interaction, TextChannel } from 'discord.js';
import { WebSocket } from 'ws';
import { PermissionBits, startDiscordEmulator } from './discord/index.js';
import type { DiscordEmulator, GuildState } from './discord/index.js';

const ALICE = '312345678901234567';
const ADMIN = '312345678901234568';
const MIB = 1024 * 1024;

const soraCommand = new SlashCommandBuilder()
  .setName('sora')
  .setDescription('Make a video')
  .addSubcommand((sub) =>
    sub
      .setName('generate')
      .setDescription('Start a generation')
      .addStringOption((o) => o.setName('prompt').setDescription('What to show').setRequired(true))
      .addAttachmentOption((o) => o.setName('image').setDescription('Start frame'))
      .addStringOption((o) => o.setName('model').setDescription('Model').setAutocomplete(true))
      .addIntegerOption((o) => o.setName('duration').setDescription('Seconds').addChoices({ name: '10', value: 10 })),
  );

/** Expects `promise` to reject with a DiscordAPIError carrying `code` and `status`. */
async function expectDiscordError(promise: Promise<unknown>, code: number, status: number): Promise<DiscordAPIError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return expectApiError(error, code, status);
}

/** Expects `error` to be a DiscordAPIError carrying `code` and `status`. */
function expectApiError(error: unknown, code: number, status: number): DiscordAPIError {
  expect(error).toBeInstanceOf(DiscordAPIError);
  const apiError = error as DiscordAPIError;
  expect({ code: apiError.code, status: apiError.status }).toEqual({ code, status });
  return apiError;
}

describe('discord emulator driven by a real discord.js client', () => {
  let emulator: DiscordEmulator;
  let client: Client;
  let guild: GuildState;
  let boosted: GuildState;
  const channelIds: Record<string, string> = {};

  /** Runs `fn` on the next interaction discord.js emits; resolves with its result. */
  function handleNext<T>(fn: (interaction: Interaction) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      client.once(Events.InteractionCreate, (interaction) => {
        fn(interaction).then(resolve, reject);
      });
    });
  }

  function textChannel(name: string): TextChannel {
    const channel = client.channels.cache.get(channelIds[name] ?? '');
    if (!channel?.isTextBased() || channel.isDMBased()) throw new Error(`channel ${name} not cached`);
    return channel as TextChannel;
  }

  beforeAll(async () => {
    emulator = await startDiscordEmulator({ heartbeatIntervalMs: 250 });
    guild = emulator.addGuild({
      name: 'Sora Lab',
      channels: ['general', 'gallery', 'locked', 'doomed', 'nonces', 'limits'].map((name) => ({ name })),
      members: [
        { id: ALICE, username: 'alice' },
        { id: ADMIN, username: 'root', permissions: PermissionBits.Administrator },
      ],
    });
    boosted = emulator.addGuild({ name: 'Boosted', premiumTier: 2, channels: [{ name: 'big' }] });
    for (const g of [guild, boosted]) {
      for (const id of g.channelIds) channelIds[emulator.state.requireChannel(id).name] = id;
    }
    client = new Client({
      intents: [GatewayIntentBits.Guilds],
      rest: { api: emulator.apiUrl },
      ws: { buildIdentifyThrottler: () => ({ waitForIdentify: () => Promise.resolve() }) },
    });
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(emulator.token);
    await ready;
    await client.application?.commands.set([soraCommand.toJSON()], guild.id);
  });

  afterAll(async () => {
    await client?.destroy();
    await emulator?.close();
  });

  it('logs in: READY carries the application id and each guild arrives by GUILD_CREATE', () => {
    expect(client.user?.id).toBe(emulator.botUserId);
    expect(client.application?.id).toBe(emulator.applicationId);
    const cached = client.guilds.cache.get(guild.id);
    expect(cached?.available).toBe(true);
    expect(cached?.roles.everyone.id).toBe(guild.id);
    expect(cached?.members.me?.id).toBe(emulator.botUserId);
    const general = textChannel('general');
    const me = cached?.members.me;
    expect(me && general.permissionsFor(me).has([PermissionFlagsBits.SendMessages, PermissionFlagsBits.AttachFiles])).toBe(true);
    expect(client.guilds.cache.get(boosted.id)?.premiumTier).toBe(2);

    expect(emulator.requests[0]).toMatchObject({ route: 'GET /gateway/bot', status: 200, authorized: true });
    const events = emulator.frames.filter((f) => f.direction === 'out').map((f) => f.t ?? `op${f.op}`);
    expect(events.slice(0, 4)).toEqual(['op10', 'READY', 'GUILD_CREATE', 'GUILD_CREATE']);
    const identify = emulator.frames.find((f) => f.direction === 'in' && f.op === 2);
    expect(identify?.d).toMatchObject({ token: emulator.token, intents: GatewayIntentBits.Guilds });
    expect(emulator.isGatewayConnected).toBe(true);
  });

  it('answers heartbeats with ACKs', async () => {
    await emulator.waitFor(() => emulator.frames.some((f) => f.direction === 'in' && f.op === 1), 3000, 'a heartbeat');
    await emulator.waitFor(() => emulator.frames.some((f) => f.direction === 'out' && f.op === 11), 3000, 'an ack');
    await vi.waitFor(() => expect(client.ws.ping).toBeGreaterThanOrEqual(0));
  });

  it('rejects a wrong token with 401 on GET /gateway/bot', async () => {
    const intruder = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: emulator.apiUrl } });
    await expect(intruder.login('not.the.token')).rejects.toThrow();
    await intruder.destroy();
    expect(emulator.requests.filter((r) => r.route === 'GET /gateway/bot').map((r) => r.status)).toContain(401);
  });

  it('records command registration and validates definitions', async () => {
    const [registered] = emulator.registeredCommands(guild.id);
    expect(registered).toMatchObject({ name: 'sora', application_id: emulator.applicationId, guild_id: guild.id });
    expect(emulator.requestsTo('PUT /applications/:appId/guilds/:guildId/commands')).toHaveLength(1);

    const badOrder = {
      name: 'bad',
      description: 'optional before required',
      options: [
        { type: 3, name: 'a', description: 'a' },
        { type: 3, name: 'b', description: 'b', required: true },
      ],
    };
    const error = await expectDiscordError(
      client.rest.put(Routes.applicationGuildCommands(emulator.applicationId, guild.id), { body: [badOrder] }),
      50035,
      400,
    );
    expect(JSON.stringify(error.rawError)).toContain('APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID');
    expect(emulator.registeredCommands(guild.id).map((c) => c.name)).toEqual(['sora']);
  });

  it('runs a slash command: ephemeral defer, edit, follow-up, then a channel post with a file', async () => {
    const created: string[] = [];
    emulator.events.on('messageCreate', (m) => created.push(m.id));
    const done = handleNext(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error(`unexpected interaction type ${interaction.type}`);
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const image = interaction.options.getAttachment('image', true);
      const download = await fetch(image.url);
      const bytes = Buffer.from(await download.arrayBuffer());
      await interaction.editReply(`queued "${interaction.options.getString('prompt', true)}" with ${bytes.length} bytes`);
      await interaction.followUp({ content: 'details', flags: MessageFlags.Ephemeral });
      const video = new AttachmentBuilder(Buffer.alloc(2048, 7), { name: 'video.mp4' });
      if (!interaction.channel?.isSendable()) throw new Error('channel not sendable');
      const sent = await interaction.channel.send({
        content: `<@${interaction.user.id}> your video @everyone`,
        files: [video],
        allowedMentions: { users: [interaction.user.id] },
        nonce: 'sora-1',
        enforceNonce: true,
      });
      return {
        sent,
        download: { status: download.status, type: download.headers.get('content-type'), magic: bytes.subarray(0, 4) },
        seen: {
          subcommand: interaction.options.getSubcommand(),
          duration: interaction.options.getInteger('duration'),
          channel: interaction.channel?.id,
          member: interaction.member?.user.id,
          locale: interaction.locale,
          limit: interaction.attachmentSizeLimit,
          canAttach: interaction.appPermissions.has(PermissionFlagsBits.AttachFiles),
        },
      };
    });
    const handle = emulator.sendCommand({
      guildId: guild.id,
      channelId: channelIds.general,
      userId: ALICE,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt: 'a cat on the moon', duration: 10 },
      attachments: { image: { filename: 'cat.png', size: 4096 } },
      locale: 'fr',
    });
    const { sent, download, seen } = await done;

    expect(seen).toEqual({
      subcommand: 'generate',
      duration: 10,
      channel: channelIds.general,
      member: ALICE,
      locale: 'fr',
      limit: 20 * MIB,
      canAttach: true,
    });
    expect(download).toEqual({ status: 200, type: 'image/png', magic: Buffer.from([0x89, 0x50, 0x4e, 0x47]) });
    expect(handle.callbacks).toMatchObject([{ type: 5, data: { flags: 64 }, status: 204 }]);
    expect(handle.ackLatencyMs).toBeLessThan(3000);
    expect(handle.original).toMatchObject({ content: 'queued "a cat on the moon" with 4096 bytes', source: 'interaction' });
    expect((handle.original?.flags ?? 0) & 64).toBe(64);
    expect(handle.originalEdits).toHaveLength(1);
    expect(handle.followUps.map((m) => [m.content, m.flags & 64])).toEqual([['details', 64]]);

    const posted = emulator.channelMessages(channelIds.general ?? '');
    expect(posted).toHaveLength(1);
    const [result] = posted;
    expect(result).toMatchObject({
      id: sent.id,
      source: 'channel',
      nonce: 'sora-1',
      enforceNonce: true,
      allowedMentions: { users: [ALICE] },
      mentions: { userIds: [ALICE], roleIds: [], everyone: false },
      attachments: [{ filename: 'video.mp4', size: 2048, contentType: 'video/mp4' }],
    });
    expect(created).toEqual([sent.id]);
    const upload = emulator.requestsTo('POST /channels/:channelId/messages').at(-1);
    // The part carried no type (the bytes are no real MP4); the stored attachment got it from the name.
    expect(upload?.files).toEqual([{ field: 'files[0]', filename: 'video.mp4', size: 2048, contentType: 'application/octet-stream' }]);
    const attachmentUrl = sent.attachments.first()?.url ?? '';
    const served = await fetch(attachmentUrl);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(Buffer.alloc(2048, 7));
    await expect(emulator.waitForMessage(channelIds.general ?? '', (m) => m.id === sent.id, 100)).resolves.toBeDefined();
  });

  it('sends DM interactions with user instead of member', async () => {
    const done = handleNext(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      const response = await interaction.reply({ content: 'hello in DM', withResponse: true });
      return {
        guildId: interaction.guildId,
        member: interaction.member,
        user: interaction.user.id,
        channelId: interaction.channelId,
        responseMessageId: response.resource?.message?.id,
      };
    });
    const handle = emulator.sendCommand({ userId: ALICE, name: 'sora', subcommand: 'generate', options: { prompt: 'dm' } });
    const seen = await done;
    expect(seen).toEqual({
      guildId: null,
      member: null,
      user: ALICE,
      channelId: handle.channelId,
      responseMessageId: handle.originalMessageId,
    });
    expect(handle.callbacks).toMatchObject([{ type: 4, withResponse: true, status: 200 }]);
    expect(handle.payload).toMatchObject({ context: 1, user: { id: ALICE }, authorizing_integration_owners: { '0': '0' } });
    expect(emulator.channelMessages(handle.channelId).map((m) => m.content)).toEqual(['hello in DM']);
  });

  it('replaces a deferred "thinking" message with the first follow-up, as Discord does', async () => {
    const done = handleNext(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.deferReply();
      const first = await interaction.followUp('first');
      const second = await interaction.followUp('second');
      return [first.id, second.id];
    });
    const handle = emulator.sendCommand({ guildId: guild.id, userId: ALICE, name: 'sora', subcommand: 'generate' });
    const [firstId, secondId] = await done;
    expect(firstId).toBe(handle.originalMessageId);
    expect(secondId).not.toBe(firstId);
    expect(handle.original).toMatchObject({ content: 'first', flags: 0 });
    expect(handle.followUps.map((m) => m.content)).toEqual(['first', 'second']);
  });

  it('answers a late ack with 10062', async () => {
    const done = handleNext(async (interaction) => {
      await sleep(60);
      if (!interaction.isRepliable()) throw new Error('not repliable');
      return interaction.deferReply().then(
        () => 'acked',
        (error: unknown) => error,
      );
    });
    const handle = emulator.sendCommand({ guildId: guild.id, userId: ALICE, name: 'sora', subcommand: 'generate', ackDeadlineMs: 20 });
    expectApiError(await done, 10062, 404);
    expect(handle.acked).toBe(false);
    expect(handle.callbacks).toMatchObject([{ type: 5, status: 404, errorCode: 10062 }]);
  });

  it('answers a second ack with 40060 and an edit before the ack with 10015', async () => {
    const done = handleNext(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      const early = client.rest.patch(Routes.webhookMessage(interaction.applicationId, interaction.token, '@original'), {
        body: { content: 'too early' },
        auth: false,
      });
      const earlyError = await early.then(
        () => undefined,
        (e: unknown) => e,
      );
      await interaction.deferReply();
      const second = client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), {
        body: { type: 5 },
        auth: false,
      });
      const secondError = await second.then(
        () => undefined,
        (e: unknown) => e,
      );
      return { earlyError, secondError };
    });
    const handle = emulator.sendCommand({ guildId: guild.id, userId: ALICE, name: 'sora', subcommand: 'generate' });
    const { earlyError, secondError } = await done;
    expectApiError(earlyError, 10015, 404);
    expectApiError(secondError, 40060, 400);
    expect(handle.callbacks.map((c) => [c.status, c.errorCode])).toEqual([
      [204, null],
      [400, 40060],
    ]);
    expect(handle.webhookCalls).toMatchObject([{ method: 'PATCH', target: '@original', status: 404, errorCode: 10015 }]);
  });

  it('answers webhook calls after the token lifetime with 50027', async () => {
    const done = handleNext(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.deferReply();
      await sleep(60);
      return interaction.editReply('too late').then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    const handle = emulator.sendCommand({ guildId: guild.id, userId: ALICE, name: 'sora', subcommand: 'generate', tokenTtlMs: 30 });
    expectApiError(await done, 50027, 401);
    expect(handle.tokenExpired).toBe(true);
    expect(handle.original?.content).toBe('');
  });

  it('caps uploads by boost tier: 20 MiB answers 40005 (413), a tier-2 guild takes 21 MiB', async () => {
    const tooBig = new AttachmentBuilder(Buffer.alloc(20 * MIB + 1), { name: 'big.mp4' });
    await expectDiscordError(textChannel('limits').send({ files: [tooBig] }), 40005, 413);
    expect(emulator.channelMessages(channelIds.limits ?? '')).toHaveLength(0);

    const fits = new AttachmentBuilder(Buffer.alloc(21 * MIB), { name: 'big.mp4' });
    const sent = await textChannel('big').send({ files: [fits] });
    expect(sent.attachments.first()?.size).toBe(21 * MIB);
    const handle = emulator.sendCommand({ guildId: boosted.id, userId: ALICE, name: 'sora', subcommand: 'generate' });
    expect(handle.payload.attachment_size_limit).toBe(50 * MIB);
    client.once(Events.InteractionCreate, (i) => void (i.isRepliable() && i.reply('ok')));
    await handle.waitForAck();
  });

  it('leaves attachment_size_limit out when asked; uploads are still capped by the guild', async () => {
    const seen = new Promise<number | undefined>((resolve) => {
      client.once(Events.InteractionCreate, (i) => {
        // Typed as a number, but discord.js copies the field as is: undefined when it is left out.
        resolve(i.attachmentSizeLimit);
        if (i.isRepliable()) void i.reply('ok');
      });
    });
    const handle = emulator.sendCommand({
      guildId: guild.id,
      userId: ALICE,
      name: 'sora',
      subcommand: 'generate',
      attachmentSizeLimit: null,
    });
    expect('attachment_size_limit' in handle.payload).toBe(false);
    expect(await seen).toBeUndefined();
    expect(handle.attachmentSizeLimit).toBe(20 * MIB);
    await handle.waitForAck();
  });

  it('enforces channel permissions: 50013 without AttachFiles, 50001 without ViewChannel', async () => {
    const locked = textChannel('locked');
    const me = locked.guild.members.me!;
    emulator.setBotPermissions(locked.id, PermissionBits.ViewChannel | PermissionBits.SendMessages);
    await vi.waitFor(() => expect(locked.permissionsFor(me).has(PermissionFlagsBits.AttachFiles)).toBe(false));
    const file = new AttachmentBuilder(Buffer.from('x'), { name: 'x.txt' });
    await expectDiscordError(locked.send({ files: [file] }), 50013, 403);
    await expect(locked.send('text is fine')).resolves.toBeDefined();

    emulator.setBotPermissions(locked.id, 0n);
    await expectDiscordError(locked.send('hidden'), 50001, 403);
    const handle = emulator.sendCommand({ guildId: guild.id, channelId: locked.id, userId: ALICE, name: 'sora' });
    expect(handle.payload.app_permissions).toBe('0');
    client.once(
      Events.InteractionCreate,
      (i) => void (i.isRepliable() && i.reply({ content: 'no access', flags: MessageFlags.Ephemeral })),
    );
    await handle.waitForAck();

    emulator.setBotPermissions(locked.id, null);
    await vi.waitFor(() => expect(locked.permissionsFor(me).has(PermissionFlagsBits.AttachFiles)).toBe(true));
  });

  it('answers posts into a deleted channel with 10003', async () => {
    const doomed = textChannel('doomed');
    emulator.deleteChannel(doomed.id);
    await vi.waitFor(() => expect(client.channels.cache.has(doomed.id)).toBe(false));
    await expectDiscordError(doomed.send('anyone there?'), 10003, 404);
    await expectDiscordError(client.channels.fetch(doomed.id), 10003, 404);
  });

  it('creates a message once per enforced nonce and rejects nonces over 25 characters', async () => {
    const channel = textChannel('nonces');
    const first = await channel.send({ content: 'result', nonce: 'task-42', enforceNonce: true });
    const again = await channel.send({ content: 'result (retry)', nonce: 'task-42', enforceNonce: true });
    expect(again.id).toBe(first.id);
    expect(again.content).toBe('result');
    const error = await expectDiscordError(channel.send({ content: 'x', nonce: 'n'.repeat(26), enforceNonce: true }), 50035, 400);
    expect(JSON.stringify(error.rawError)).toContain('nonce');
    expect(emulator.channelMessages(channel.id).map((m) => m.content)).toEqual(['result']);
  });

  it('rate limits: discord.js waits retry_after, retries, and the message is created once', async () => {
    const channel = textChannel('gallery');
    const limited: number[] = [];
    const onLimit = (info: { retryAfter: number }) => limited.push(info.retryAfter);
    client.rest.on(RESTEvents.RateLimited, onLimit);
    emulator.rateLimitNext(`/channels/${channel.id}/messages`, { retryAfterS: 0.3, method: 'POST' });
    const startedAt = Date.now();
    const sent = await channel.send('after the limit');
    const elapsedMs = Date.now() - startedAt;
    client.rest.off(RESTEvents.RateLimited, onLimit);

    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(limited.length).toBeGreaterThan(0);
    const attempts = emulator.requests.filter((r) => r.path === `/channels/${channel.id}/messages` && r.method === 'POST');
    expect(attempts.map((r) => [r.status, r.injected])).toEqual([
      [429, 'rate-limit'],
      [200, null],
    ]);
    expect(
      emulator
        .channelMessages(channel.id)
        .filter((m) => m.content === 'after the limit')
        .map((m) => m.id),
    ).toEqual([sent.id]);
  });

  it('injects 5xx answers, which @discordjs/rest retries', async () => {
    const channel = textChannel('gallery');
    emulator.failNext(`/channels/${channel.id}/messages`, { status: 502, count: 2 });
    await channel.send('survived');
    const statuses = emulator.requests.filter((r) => r.path === `/channels/${channel.id}/messages`).map((r) => r.status);
    expect(statuses.slice(-3)).toEqual([502, 502, 200]);
  });

  it('edits own messages and refuses to edit others (50005)', async () => {
    const channel = textChannel('gallery');
    const own = await channel.send('draft');
    const edited = await own.edit('final');
    expect(edited.editedTimestamp).not.toBeNull();
    expect(emulator.message(own.id)).toMatchObject({ content: 'final', edits: [{ body: { content: 'final' } }] });
    const theirs = emulator.postUserMessage(channel.id, ALICE, 'mine');
    await expectDiscordError(client.rest.patch(Routes.channelMessage(channel.id, theirs.id), { body: { content: 'hijack' } }), 50005, 403);
  });

  it('needs SendMessagesInThreads to post in a thread', async () => {
    const thread = emulator.addChannel(boosted.id, { name: 'renders', type: 11, parentId: channelIds.big });
    await vi.waitFor(() => expect(client.channels.cache.get(thread.id)?.isThread()).toBe(true));
    const cached = client.channels.cache.get(thread.id);
    if (!cached?.isSendable()) throw new Error('thread not sendable');
    await expect(cached.send('in the thread')).resolves.toBeDefined();
    const role = boosted.roles.get(boosted.botRoleId);
    const original = role?.permissions ?? 0n;
    emulator.setGuildBotPermissions(boosted.id, original & ~PermissionBits.SendMessagesInThreads);
    await expectDiscordError(cached.send('blocked'), 50013, 403);
    await expect(textChannel('big').send('parent still fine')).resolves.toBeDefined();
    emulator.setGuildBotPermissions(boosted.id, original);
  });

  it('lists recent messages newest first, and nothing without ReadMessageHistory', async () => {
    const channel = textChannel('gallery');
    const ids = ['one', 'two', 'three'].map((content) => emulator.postUserMessage(channel.id, ALICE, content).id);
    const fetched = await channel.messages.fetch({ limit: 2 });
    expect([...fetched.keys()]).toEqual([ids[2], ids[1]]);
    emulator.setBotPermissions(channel.id, PermissionBits.ViewChannel | PermissionBits.SendMessages);
    const raw = await client.rest.get(Routes.channelMessages(channel.id), { query: new URLSearchParams({ limit: '5' }) });
    expect(raw).toEqual([]);
    emulator.setBotPermissions(channel.id, null);
  });

  it('handles autocomplete, buttons and modals', async () => {
    const autocomplete = handleNext(async (interaction) => {
      if (!interaction.isAutocomplete()) throw new Error('expected autocomplete');
      await interaction.respond([{ name: 'sora-2-pro', value: 'sora-2-pro' }]);
      return interaction.options.getFocused();
    });
    const typed = emulator.sendAutocomplete({
      guildId: guild.id,
      userId: ALICE,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt: 'x', model: 'sora-2-p' },
      focused: 'model',
    });
    expect(await autocomplete).toBe('sora-2-p');
    expect(typed.callbacks).toMatchObject([{ type: 8, data: { choices: [{ name: 'sora-2-pro' }] }, status: 204 }]);

    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('regen:1').setLabel('Regenerate').setStyle(ButtonStyle.Primary),
    );
    const withButton = await textChannel('gallery').send({ content: 'result', components: [row] });
    const clicked = handleNext(async (interaction) => {
      if (!interaction.isButton()) throw new Error('expected a button');
      await interaction.showModal(
        new ModalBuilder()
          .setCustomId('edit-prompt')
          .setTitle('Edit prompt')
          .addComponents(
            new ActionRowBuilder<TextInputBuilder>().addComponents(
              new TextInputBuilder().setCustomId('prompt').setLabel('Prompt').setStyle(TextInputStyle.Paragraph),
            ),
          ),
      );
      return interaction.customId;
    });
    const click = emulator.sendButton({ userId: ALICE, messageId: withButton.id, customId: 'regen:1' });
    expect(await clicked).toBe('regen:1');
    expect(click.callbacks).toMatchObject([{ type: 9, data: { custom_id: 'edit-prompt' }, status: 204 }]);

    const submitted = handleNext(async (interaction) => {
      if (!interaction.isModalSubmit()) throw new Error('expected a modal submit');
      await interaction.deferUpdate();
      await interaction.editReply({ content: `regenerating: ${interaction.fields.getTextInputValue('prompt')}`, components: [] });
    });
    const modal = emulator.sendModalSubmit({
      userId: ALICE,
      customId: 'edit-prompt',
      fields: { prompt: 'a dog' },
      messageId: withButton.id,
    });
    await submitted;
    expect(modal.callbacks).toMatchObject([{ type: 6, status: 204 }]);
    expect(emulator.message(withButton.id)).toMatchObject({ content: 'regenerating: a dog', components: [] });
  });

  it('resumes after a dropped connection and replays the interaction sent meanwhile', async () => {
    const resumed = new Promise<boolean>((resolve) => emulator.events.once('gatewayReady', (e) => resolve(e.resumed)));
    emulator.disconnectClient();
    await emulator.waitFor(() => !emulator.isGatewayConnected, 2000, 'the disconnect');
    const answered = handleNext(async (interaction) => {
      if (interaction.isRepliable()) await interaction.reply({ content: 'still here', flags: MessageFlags.Ephemeral });
    });
    const handle = emulator.sendCommand({ guildId: guild.id, userId: ALICE, name: 'sora', subcommand: 'generate' });
    expect(handle.deliveredTo).toBe(0);
    expect(await resumed).toBe(true);
    await answered;
    expect(handle.original?.content).toBe('still here');
    expect(emulator.frames.some((f) => f.direction === 'in' && f.op === 6)).toBe(true);
  });

  it('drops the socket with no close frame (1006): discord.js resumes the same session', async () => {
    await emulator.waitForGatewayConnected(2000);
    const resumesBefore = emulator.framesReceived(6).length;
    const identifiesBefore = emulator.framesReceived(2).length;
    const closed = new Promise<number>((resolve) => emulator.events.once('gatewayClose', (e) => resolve(e.code)));
    const resumed = new Promise<boolean>((resolve) => emulator.events.once('gatewayReady', (e) => resolve(e.resumed)));
    emulator.dropConnection();
    expect(await closed).toBe(1006);
    expect(await resumed).toBe(true);
    expect(emulator.framesReceived(6)).toHaveLength(resumesBefore + 1);
    expect(emulator.framesReceived(2)).toHaveLength(identifiesBefore);
  });

  it('holds RESUME unanswered until released: the shard is not ready meanwhile', async () => {
    await emulator.waitForGatewayConnected(2000);
    const resumesBefore = emulator.framesReceived(6).length;
    const release = emulator.holdHandshakes();
    try {
      emulator.requestReconnect();
      await emulator.waitFor(() => emulator.framesReceived(6).length > resumesBefore, 5000, 'the held RESUME');
      await sleep(300);
      expect(emulator.isGatewayConnected).toBe(false);
      expect(client.ws.shards.first()?.status).not.toBe(Status.Ready);
    } finally {
      release();
    }
    await emulator.waitForGatewayConnected(5000);
    await vi.waitFor(() => expect(client.ws.shards.first()?.status).toBe(Status.Ready), { timeout: 5000 });
  });
});

describe('discord emulator without discord.js', () => {
  it('speaks zlib-stream when asked and closes a wrong IDENTIFY with 4004', async () => {
    const emulator = await startDiscordEmulator();
    try {
      const socket = new WebSocket(`${emulator.gatewayUrl}?v=10&encoding=json&compress=zlib-stream`);
      const inflate = createInflate();
      const payloads: { op: number; d: unknown }[] = [];
      let text = '';
      inflate.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        try {
          payloads.push(JSON.parse(text) as { op: number; d: unknown });
          text = '';
        } catch {
          // partial payload: wait for more
        }
      });
      socket.on('message', (data: Buffer) => {
        inflate.write(data);
        inflate.flush();
      });
      await vi.waitFor(() => expect(payloads[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 41_250 } }));
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      socket.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
      expect(await closed).toBe(4004);
      inflate.close();
    } finally {
      await emulator.close();
    }
  });

  it('signs attachment URLs that expire, and refresh-urls renews them', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const emulator = await startDiscordEmulator({ now: () => clock, attachmentUrlTtlMs: 3_600_000 });
    try {
      const guild = emulator.addGuild({ name: 'g', channels: [{ name: 'c' }] });
      const channelId = guild.channelIds[0] ?? '';
      const form = new FormData();
      form.append('payload_json', JSON.stringify({ content: 'file', attachments: [{ id: 0, description: 'clip' }] }));
      form.append('files[0]', new Blob([Buffer.from('video-bytes')], { type: 'video/mp4' }), 'clip.mp4');
      const headers = { authorization: `Bot ${emulator.token}` };
      const created = await fetch(`${emulator.apiUrl}/v10/channels/${channelId}/messages`, { method: 'POST', headers, body: form });
      expect(created.headers.get('content-type')).toBe('application/json');
      const message = (await created.json()) as { attachments: { url: string; description: string }[] };
      const url = message.attachments[0]?.url ?? '';
      expect(message.attachments[0]?.description).toBe('clip');
      expect(await (await fetch(url)).text()).toBe('video-bytes');

      clock += 2 * 3_600_000;
      expect((await fetch(url)).status).toBe(404);
      const refreshed = await fetch(`${emulator.apiUrl}/v10/attachments/refresh-urls`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ attachment_urls: [url] }),
      });
      const body = (await refreshed.json()) as { refreshed_urls: { original: string; refreshed: string }[] };
      expect(body.refreshed_urls[0]?.original).toBe(url);
      expect(await (await fetch(body.refreshed_urls[0]?.refreshed ?? '')).text()).toBe('video-bytes');

      const unauthorized = await fetch(`${emulator.apiUrl}/v10/channels/${channelId}/messages`, { method: 'POST', body: form });
      expect(unauthorized.status).toBe(401);
    } finally {
      await emulator.close();
    }
  });
});
