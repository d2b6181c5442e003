import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_BOT_PERMISSIONS,
  PermissionBits,
  type AttachmentInput,
  type GuildState,
  type InteractionHandle,
  type OptionInput,
  type RecordedMessage,
} from '../emulators/discord/index.js';
import { createWorld, ephemeralText, MEMBER_ID, type World } from './harness.js';

const PROMPT_MAX_CHARS = 120;
const ANOTHER_MEMBER_ID = '498765432109876543';
const WAIT_MS = 15_000;

/** `Task <id> · <marker> · <model> · Ace Data Cloud task <uuid>` → both ids. */
function idsFromFooter(message: RecordedMessage): { taskId: string; providerTaskId: string } {
  const footer = message.embeds[0]?.footer?.text ?? '';
  const match = /^Task (\S+) · \w+ · [\w.-]+ · Ace Data Cloud task (\S+)$/.exec(footer);
  expect(match, `result footer: ${footer}`).not.toBeNull();
  return { taskId: match![1]!, providerTaskId: match![2]! };
}

describe('e2e: what members type (options, refusals, status, history)', { timeout: 60_000 }, () => {
  let world: World;
  let home: GuildState;
  let neighbour: GuildState;
  let outsider: GuildState;
  /** Prompts of commands that must never reach Ace Data Cloud. */
  const refusedPrompts: string[] = [];
  let delivered: { taskId: string; providerTaskId: string; messageId: string } | undefined;

  const send = (
    guild: GuildState | null,
    options: Record<string, OptionInput>,
    extra: {
      attachments?: Record<string, AttachmentInput>;
      appPermissions?: bigint;
      channelId?: string;
      userId?: string;
      subcommand?: string;
    } = {},
  ): InteractionHandle =>
    world.discord.sendCommand({
      ...(guild ? { guildId: guild.id, channelId: extra.channelId ?? world.channelOf(guild) } : {}),
      userId: extra.userId ?? MEMBER_ID,
      name: 'sora',
      subcommand: extra.subcommand ?? 'generate',
      options,
      ...(extra.attachments ? { attachments: extra.attachments } : {}),
      ...(extra.appPermissions !== undefined ? { appPermissions: extra.appPermissions } : {}),
    });

  /** Sends a generate command that must be refused; returns the refusal text. */
  const refused = async (
    guild: GuildState | null,
    options: Record<string, OptionInput> & { prompt: string },
    extra: Parameters<typeof send>[2] = {},
  ): Promise<string> => {
    refusedPrompts.push(options.prompt);
    const text = await ephemeralText(send(guild, options, extra));
    expect(text).toMatch(/^⚠️ /);
    return text;
  };

  const submitsWithPrompt = (prompt: string) =>
    world.ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt.trim());

  beforeAll(async () => {
    world = await createWorld({
      guilds: ['Sora Lab', 'Neighbours', 'Outsiders'],
      env: { PROMPT_MAX_CHARS: String(PROMPT_MAX_CHARS), MEMBER_DAILY_QUOTA: '0' },
    });
    [home, neighbour, outsider] = world.guilds as [GuildState, GuildState, GuildState];
    await world.startBot({ ALLOWED_GUILD_IDS: `${home.id},${neighbour.id}` });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('sends the image attachment URL in image_urls and every option as chosen', async () => {
    const prompt = 'a paper boat drifting down a rainy street';
    const handle = send(
      home,
      { prompt, model: 'sora-2-pro', duration: 25, orientation: 'portrait', size: 'large' },
      { attachments: { image: { filename: 'boat.png', size: 4096, width: 640, height: 480 } } },
    );
    const ack = await handle.waitForAck(WAIT_MS);
    expect(Number(ack.data?.flags ?? 0) & 64).toBe(64);
    const resolved = (handle.payload.data as { resolved: { attachments: Record<string, { url: string }> } }).resolved;
    const imageUrl = Object.values(resolved.attachments)[0]!.url;

    const channelId = world.channelOf(home);
    const message = await world.discord.waitForMessage(channelId, (m) => m.embeds[0]?.description === prompt, WAIT_MS);
    const submits = submitsWithPrompt(prompt);
    expect(submits).toHaveLength(1);
    expect(submits[0]!.body).toEqual({
      prompt,
      model: 'sora-2-pro',
      duration: 25,
      orientation: 'portrait',
      size: 'large',
      image_urls: [imageUrl],
      async: true,
    });
    expect(submits[0]!.status).toBe(200);
    expect(message.content).toContain(`<@${MEMBER_ID}>`);
    expect(message.attachments).toHaveLength(1);
    const ids = idsFromFooter(message);
    expect(world.ace.tasks.get(ids.providerTaskId)?.request.prompt).toBe(prompt);
    delivered = { ...ids, messageId: message.id };
  });

  it('refuses 25 seconds with sora-2 (explicit or default model) before submitting', async () => {
    const explicit = await refused(home, { prompt: 'twenty-five seconds of sora-2', model: 'sora-2', duration: 25 });
    // The refusal names the lengths the model allows.
    expect(explicit).toContain('`sora-2` makes videos of 10, 15 seconds, not 25.');
    const byDefault = await refused(home, { prompt: 'twenty-five seconds by default', duration: 25 });
    expect(byDefault).toContain('`sora-2` makes videos of 10, 15 seconds, not 25.');
  });

  it('refuses an attachment that is not an image', async () => {
    const text = await refused(home, { prompt: 'from my notes' }, { attachments: { image: { filename: 'notes.txt', size: 300 } } });
    expect(text).toMatch(/"notes\.txt" is not a PNG, JPEG, WebP or GIF image/);
  });

  it('refuses an image over 25 MB', async () => {
    const text = await refused(
      home,
      { prompt: 'from a huge photo' },
      { attachments: { image: { filename: 'huge.png', size: 25 * 1024 * 1024 + 1 } } },
    );
    expect(text).toMatch(/"huge\.png" is 25\.0 MB; images may be at most 25\.0 MB/);
  });

  it('refuses an empty (whitespace) prompt and a prompt over PROMPT_MAX_CHARS', async () => {
    expect(await refused(home, { prompt: ' \t  ' })).toMatch(/prompt is empty/);
    const long = `a very long prompt ${'x'.repeat(PROMPT_MAX_CHARS)}`;
    expect(await refused(home, { prompt: long })).toMatch(
      new RegExp(`prompt is ${[...long].length} characters long; the limit is ${PROMPT_MAX_CHARS}`),
    );
  });

  it('refuses a DM', async () => {
    expect(await refused(null, { prompt: 'a video from my DMs' })).toMatch(/only be made in a server channel, not in DMs/);
  });

  it('refuses a guild that is not in ALLOWED_GUILD_IDS', async () => {
    expect(await refused(outsider, { prompt: 'a video from the outside' })).toMatch(/not enabled on this server/);
  });

  it('refuses a channel where the bot may not post the result, before any submit', async () => {
    const noSend = await refused(
      home,
      { prompt: 'in a read-only channel' },
      { appPermissions: DEFAULT_BOT_PERMISSIONS & ~PermissionBits.SendMessages },
    );
    expect(noSend).toMatch(/missing Send Messages/);

    // A real channel override (what Discord computes into app_permissions), not just the payload.
    const noFiles = world.discord.addChannel(home.id, { name: 'no-uploads' });
    world.discord.setBotPermissions(noFiles.id, DEFAULT_BOT_PERMISSIONS & ~PermissionBits.AttachFiles);
    const text = await refused(home, { prompt: 'in a channel without uploads' }, { channelId: noFiles.id });
    expect(text).toMatch(/missing Attach Files/);
    expect(text).not.toMatch(/Send Messages/);
    expect(world.discord.channelMessages(noFiles.id)).toHaveLength(0);
  });

  it('/sora status answers "not found" for an unknown id and for another guild\'s task', async () => {
    expect(delivered).toBeDefined();
    const unknown = await ephemeralText(send(home, { task: 'nosuchtask123' }, { subcommand: 'status' }));
    expect(unknown).toMatch(/No task `nosuchtask123` in this server/);

    for (const id of [delivered!.taskId, delivered!.providerTaskId]) {
      const text = await ephemeralText(send(neighbour, { task: id }, { subcommand: 'status' }));
      expect(text).toMatch(/No task .* in this server/);
      expect(text).not.toContain('Delivered');
    }
  });

  it('/sora status shows a delivered task by our id and by the Ace Data Cloud id', async () => {
    for (const id of [delivered!.taskId, delivered!.providerTaskId]) {
      const handle = send(home, { task: id }, { subcommand: 'status' });
      const text = await ephemeralText(handle);
      expect(text).toBe(`**${delivered!.taskId}**: Delivered`);
      const embed = (handle.callbacks.find((c) => c.status < 300)!.data as { embeds: { fields: { name: string; value: string }[] }[] })
        .embeds[0]!;
      const field = (name: string) => embed.fields.find((f) => f.name === name)?.value;
      expect(field('State')).toBe('Delivered');
      expect(field('Ace Data Cloud task')).toBe(delivered!.providerTaskId);
      expect(field('Result')).toContain(delivered!.messageId);
      expect(field('Options')).toBe('sora-2-pro · 25 s · portrait · large · image: yes');
    }
  });

  it("/sora history lists the member's tasks of this guild only, and none of the refused commands", async () => {
    const handle = send(home, {}, { subcommand: 'history' });
    await ephemeralText(handle);
    const ack = handle.callbacks.find((c) => c.status < 300)!;
    const description = (ack.data as { embeds?: { description?: string }[] }).embeds?.[0]?.description ?? '';
    const lines = description.split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`\`${delivered!.taskId}\``);
    expect(lines[0]).toContain('delivered');
    // Prompts shown in the list can never ping anyone.
    expect((ack.data as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [] });

    const elsewhere = await ephemeralText(send(neighbour, {}, { subcommand: 'history' }));
    expect(elsewhere).toMatch(/no generations in this server/);
    const someoneElse = await ephemeralText(send(home, {}, { subcommand: 'history', userId: ANOTHER_MEMBER_ID }));
    expect(someoneElse).toMatch(/no generations in this server/);
  });

  it('never sent a refused command to Ace Data Cloud, and the bot is still running', async () => {
    // One more accepted command after every refusal: by its delivery, a late submit would have shown.
    const prompt = 'a lighthouse at dusk';
    send(home, { prompt });
    await world.discord.waitForMessage(world.channelOf(home), (m) => m.embeds[0]?.description === prompt, WAIT_MS);
    const submitted = world.ace.requestsTo('/sora/videos').map((r) => (r.body as { prompt?: unknown }).prompt);
    expect(submitted).toEqual(['a paper boat drifting down a rainy street', prompt]);
    for (const refusedPrompt of refusedPrompts) expect(submitsWithPrompt(refusedPrompt)).toHaveLength(0);
    // Refusals post nothing public.
    expect(world.discord.channelMessages(world.channelOf(home))).toHaveLength(2);
    expect(world.discord.channelMessages(world.channelOf(outsider))).toHaveLength(0);
    expect(world.bot!.child.exitCode).toBeNull();
  });
});
