import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMPT_FIELD_ID } from '../../src/discord/custom-ids.js';
import { t } from '../../src/i18n/index.js';
import {
  DEFAULT_BOT_PERMISSIONS,
  PermissionBits,
  type ChannelState,
  type GuildState,
  type InteractionHandle,
  type RecordedMessage,
} from '../emulators/discord/index.js';
import { trickyPrompt } from '../fakes/tricky-prompt.js';
import { createWorld, ephemeralText, MEMBER_ID, resultFooterOf, settle, type World, sendGenerate } from './harness.js';

const WAIT_MS = 15_000;
// PROMPT_MAX_CHARS at its maximum: escaping such a prompt for display makes it far longer than 4096.
const PROMPT_MAX_CHARS = 4000;
const OTHER_MEMBER_ID = '487654321098765432';
const CHANNEL_OPTION = 7;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Discord's limits on a message (counted in UTF-16 units, the stricter reading). */
function expectWithinDiscordLimits(message: { content?: string | null; embeds?: readonly APIEmbed[] }, what: string): void {
  expect(message.content?.length ?? 0, `${what}: content`).toBeLessThanOrEqual(2000);
  let total = 0;
  for (const embed of message.embeds ?? []) {
    const fields = embed.fields ?? [];
    expect(embed.title?.length ?? 0, `${what}: title`).toBeLessThanOrEqual(256);
    expect(embed.description?.length ?? 0, `${what}: description`).toBeLessThanOrEqual(4096);
    expect(embed.footer?.text.length ?? 0, `${what}: footer`).toBeLessThanOrEqual(2048);
    for (const field of fields) {
      expect(field.name.length, `${what}: field name`).toBeLessThanOrEqual(256);
      expect(field.value.length, `${what}: field value`).toBeLessThanOrEqual(1024);
    }
    total += (embed.title?.length ?? 0) + (embed.description?.length ?? 0) + (embed.footer?.text.length ?? 0);
    total += fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
  }
  expect(total, `${what}: all embeds`).toBeLessThanOrEqual(6000);
  expect(LONE_SURROGATE.test(JSON.stringify(message)), `${what}: lone surrogate`).toBe(false);
}

/** Shown member text: no live mention and every markdown marker escaped. */
function expectInert(text: string, what: string): void {
  expect(text, what).not.toMatch(/@everyone|@here|<@[!&]?\d/u);
  expect(text, what).not.toMatch(/(?<!\\)[*_~`|]/);
}

describe('e2e: edge inputs (invisible prompts, prompts at the limit, a 429 on the result)', { timeout: 90_000 }, () => {
  let world: World;
  let guild: GuildState;
  let channelId: string;
  let showcase: ChannelState;

  const generate = (prompt: string): InteractionHandle => sendGenerate(world, guild, { prompt }, { channelId });

  const submitsWith = (prompt: string) =>
    world.ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt);

  /** The bot's POSTs into the channel that carry this task's footer (answered, or not). */
  const postsOf = (taskId: string) =>
    world.discord
      .requestsTo('POST /channels/:channelId/messages')
      .filter((r) => r.path === `/channels/${channelId}/messages` && JSON.stringify(r.body ?? {}).includes(`Task ${taskId}`));

  const resultsOf = (taskId: string): RecordedMessage[] =>
    world.discord.channelMessages(channelId).filter((m) => resultFooterOf(m)?.taskId === taskId);

  beforeAll(async () => {
    world = await createWorld({ env: { PROMPT_MAX_CHARS: String(PROMPT_MAX_CHARS), MEMBER_DAILY_QUOTA: '0' } });
    guild = world.guilds[0]!;
    channelId = world.channelOf(guild);
    showcase = world.discord.addChannel(guild.id, { name: 'showcase' });
    world.discord.addMember(guild.id, { id: OTHER_MEMBER_ID, username: 'bob' });
    // With MentionEveryone, only allowed_mentions stands between a prompt and @everyone.
    world.discord.setGuildBotPermissions(guild.id, DEFAULT_BOT_PERMISSIONS | PermissionBits.MentionEveryone);
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it.each([
    ['zero-width spaces', '\u200B\u200B\u200B'],
    ['word joiners', '\u2060 \u2060'],
    ['a byte order mark', '\uFEFF'],
    ['no-break spaces', '\u00A0\u00A0\u00A0'],
    ['ideographic spaces', '\u3000\u3000'],
    ['a lone combining mark', '\u0301'],
    ['Hangul fillers and a braille blank', '\u3164\u2800\u115F'],
    ['all of them, 3000 long', '\u200B\u2060\uFEFF\u00A0\u3000\u0301 '.repeat(500)],
  ])('refuses a prompt of only %s, submitting and posting nothing', async (_name, prompt) => {
    const before = world.ace.requestsTo('/sora/videos').length;
    const text = await ephemeralText(generate(prompt));
    expect(text).toContain(t('en', 'error.promptEmpty'));
    await settle(200);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(before);
    expect(world.discord.channelMessages(channelId)).toHaveLength(0);
  });

  it(`delivers a ${PROMPT_MAX_CHARS}-character prompt of emoji, CJK, markdown and mentions within Discord's limits, pinging only the member`, async () => {
    const setShowcase = world.discord.sendCommand({
      guildId: guild.id,
      channelId,
      userId: guild.ownerId,
      name: 'sora-admin',
      subcommand: 'showcase',
      options: { channel: { type: CHANNEL_OPTION, value: showcase.id } },
    });
    expect(await ephemeralText(setShowcase)).toMatch(/Showcase channel set/);

    const prompt = trickyPrompt(PROMPT_MAX_CHARS, { userId: OTHER_MEMBER_ID, roleId: guild.memberRoleId, channelId });
    expect([...prompt]).toHaveLength(PROMPT_MAX_CHARS);
    const handle = generate(prompt);
    await handle.waitForOriginal((m) => m.content.startsWith('✅ Done'), WAIT_MS);
    const message = await world.discord.waitForMessage(channelId, (m) => resultFooterOf(m)?.marker === 'video', WAIT_MS);
    const taskId = resultFooterOf(message)!.taskId;

    // The provider gets the prompt exactly as typed, once.
    expect(submitsWith(prompt)).toHaveLength(1);
    // The result: one message, accepted at the first try (no 50035 on a limit).
    expect(message.attachments).toHaveLength(1);
    expect(message.content).toBe(`<@${MEMBER_ID}> your video is ready.`);
    expect(postsOf(taskId).map((r) => r.status)).toEqual([200]);
    expectWithinDiscordLimits(message, 'result');
    expect(message.allowedMentions).toEqual({ parse: [], users: [MEMBER_ID] });
    expect(message.mentions).toEqual({ userIds: [MEMBER_ID], roleIds: [], everyone: false });
    const description = message.embeds[0]?.description ?? '';
    expectInert(description, 'result description');
    // Cut to fit, with an ellipsis, and never in the middle of the ZWJ family or a flag.
    expect(description.endsWith('…')).toBe(true);
    expect(description.length).toBeGreaterThan(3000);
    expect(description.slice(0, -1).endsWith('\u200D')).toBe(false);

    // The private reply: every edit within the limits, none able to ping.
    expect(handle.originalEdits.length).toBeGreaterThan(0);
    for (const edit of handle.originalEdits) {
      expect(edit.status, 'private reply edit').toBe(200);
      expect(edit.body?.allowed_mentions).toEqual({ parse: [] });
      expectWithinDiscordLimits(edit.body as { content?: string; embeds?: APIEmbed[] }, 'private reply');
    }
    expectInert(handle.original?.embeds[0]?.description ?? '', 'private reply description');

    // The showcase post: within the limits, crediting the member without a ping.
    const share = world.discord.sendButton({ messageId: message.id, customId: `sora:share:${taskId}`, userId: MEMBER_ID });
    expect(await ephemeralText(share)).toMatch(/Shared in/);
    const posted = await world.discord.waitForMessage(showcase.id, () => true, WAIT_MS);
    expectWithinDiscordLimits(posted, 'showcase');
    expect(posted.allowedMentions).toEqual({ parse: [] });
    expect(posted.mentions).toEqual({ userIds: [], roleIds: [], everyone: false });
    expectInert(posted.embeds[0]?.description ?? '', 'showcase description');

    // Remix: the box is filled within its limit; an invisible prompt sent back is refused, nothing submitted.
    const remix = world.discord.sendButton({ messageId: message.id, customId: `sora:remix:${taskId}`, userId: MEMBER_ID });
    const modal = await remix.waitForModal(WAIT_MS);
    const input = (modal.components as { components: { custom_id: string; value?: string; max_length?: number }[] }[])[0]!.components[0]!;
    expect(input.value!.length).toBeLessThanOrEqual(input.max_length!);
    expect(LONE_SURROGATE.test(input.value!)).toBe(false);
    expect(prompt.startsWith(input.value!)).toBe(true);
    const refused = world.discord.submitModal(remix, { [PROMPT_FIELD_ID]: '\u200B\u3000\uFEFF' });
    expect(await ephemeralText(refused)).toMatch(/prompt is empty/i);
    await settle(200);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(1);
  });

  it.each([
    ['on its route', false],
    ['global', true],
  ])('a 429 (with retry_after, %s) on the result post still yields exactly one message', async (name, global) => {
    const prompt = `a kite over the dunes, rate limited ${name}`;
    world.discord.rateLimitNext(`/channels/${channelId}/messages`, { retryAfterS: 0.5, method: 'POST', global });
    const handle = generate(prompt);
    await handle.waitForOriginal((m) => m.content.startsWith('✅ Done'), WAIT_MS);
    const message = await world.discord.waitForMessage(channelId, (m) => m.embeds[0]?.description === prompt, WAIT_MS);
    const taskId = resultFooterOf(message)!.taskId;
    // Long enough for a duplicate (a second post after the wait, or a repeat by the core) to show.
    await settle(1500);

    expect(resultsOf(taskId)).toHaveLength(1);
    expect(message.attachments).toHaveLength(1);
    const posts = postsOf(taskId);
    expect(posts.map((r) => [r.status, r.injected])).toEqual([
      [429, 'rate-limit'],
      [200, null],
    ]);
    // discord.js waited out retry_after before trying again.
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(400);
    expect(submitsWith(prompt)).toHaveLength(1);
  });
});
