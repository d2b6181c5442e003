import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuildState, InteractionHandle, RecordedMessage } from '../emulators/discord/index.js';
import { createWorld, ephemeralText, MEMBER_ID, resultFooterOf, settle, waitUntil, type World } from './harness.js';

const WAIT_MS = 15_000;
const COMMAND = 'Animate with Sora';

/** `npm run deploy-commands` for one guild; asynchronous, as the emulator answering it runs in this process. */
function deployCommands(world: World, guildId: string): Promise<number | null> {
  const child = spawn(process.execPath, ['dist/src/deploy-commands.js'], {
    env: { ...world.env, DISCORD_GUILD_ID: guildId },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.once('exit', resolve));
}

/** The text inputs of a modal, wherever they sit (action rows or labels). */
function textInputs(components: unknown): Record<string, unknown>[] {
  if (!Array.isArray(components)) return [];
  return components.flatMap((c: Record<string, unknown>) => [
    ...(c.type === 4 ? [c] : []),
    ...textInputs(c.components),
    ...textInputs(c.component ? [c.component] : []),
  ]);
}

describe('e2e: “Animate with Sora” (message context menu)', { timeout: 60_000 }, () => {
  let world: World;
  let guild: GuildState;
  let general: string;

  const submits = () => world.ace.requestsTo('/sora/videos');
  const animate = (message: RecordedMessage): InteractionHandle =>
    world.discord.sendMessageCommand({ name: COMMAND, messageId: message.id, userId: MEMBER_ID });
  const photoMessage = (content = 'look at my cat') =>
    world.discord.postUserMessage(general, MEMBER_ID, content, {
      attachments: [{ filename: 'cat.png', size: 4096, width: 640, height: 480 }],
    });

  beforeAll(async () => {
    world = await createWorld();
    guild = world.guilds[0]!;
    general = world.channelOf(guild);
    expect(await deployCommands(world, guild.id)).toBe(0);
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('is registered as a message command (no description, not in DMs)', () => {
    const registered = world.discord.registeredCommands(guild.id).find((c) => c.name === COMMAND);
    expect(registered).toMatchObject({ type: 3, dm_permission: false });
    expect(registered?.description ?? '').toBe('');
  });

  it('on a message with an image: opens a prompt modal, then animates that image once', async () => {
    const message = photoMessage();
    const imageUrl = message.attachments[0]!.url;
    const opened = animate(message);
    const payload = opened.payload.data as { id: string; type: number; target_id: string; resolved: { messages: Record<string, unknown> } };
    expect(payload).toMatchObject({ type: 3, target_id: message.id, guild_id: guild.id });
    expect(payload.id).toBe(world.discord.registeredCommands(guild.id).find((c) => c.name === COMMAND)?.id);
    expect(payload.resolved.messages[message.id]).toMatchObject({ attachments: [{ url: imageUrl, content_type: 'image/png' }] });

    const modal = await opened.waitForModal(WAIT_MS);
    expect(opened.ackLatencyMs).toBeLessThan(3000);
    expect(modal.title).toEqual(expect.stringMatching(/Sora/));
    expect(String(modal.custom_id)).toContain(message.id);
    const inputs = textInputs(modal.components);
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toMatchObject({ custom_id: 'prompt', required: true });
    expect(String(inputs[0]!.label).length).toBeGreaterThan(0);
    expect(submits()).toHaveLength(0);

    const prompt = 'the cat slowly turns its head and blinks';
    const submitted = world.discord.submitModal(opened, { prompt });
    expect(await ephemeralText(submitted)).toMatch(/Queued|position|Generating/);

    const result = await world.discord.waitForMessage(general, (m) => resultFooterOf(m)?.marker === 'video', WAIT_MS);
    const sent = submits().filter((r) => (r.body as { prompt?: unknown }).prompt === prompt);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ prompt, image_urls: [imageUrl] });
    expect(result.content).toContain(`<@${MEMBER_ID}>`);
    expect(result.attachments).toHaveLength(1);

    // Posted once: no second result for the same task shows up.
    await settle(1000);
    const taskId = resultFooterOf(result)!.taskId;
    expect(world.discord.channelMessages(general).filter((m) => resultFooterOf(m)?.taskId === taskId)).toHaveLength(1);
    expect(submits()).toHaveLength(1);
  });

  it('on a message without an image: says so privately and submits nothing', async () => {
    const before = submits().length;
    const textOnly = world.discord.postUserMessage(general, MEMBER_ID, 'just words, no picture');
    const answer = await ephemeralText(animate(textOnly));
    expect(answer).toMatch(/^⚠️ /);
    expect(answer).toMatch(/no PNG, JPEG, WebP or GIF image/);

    const notAnImage = world.discord.postUserMessage(general, MEMBER_ID, 'my notes', {
      attachments: [{ filename: 'notes.txt', size: 200 }],
    });
    const handle = animate(notAnImage);
    expect(await ephemeralText(handle)).toMatch(/no PNG, JPEG, WebP or GIF image/);
    expect(handle.modal).toBeUndefined();

    await settle(300);
    expect(submits()).toHaveLength(before);
  });

  it('refuses a prompt of only whitespace and submits nothing', async () => {
    const before = submits().length;
    const opened = animate(photoMessage('another cat'));
    await opened.waitForModal(WAIT_MS);
    // Discord's client itself refuses an empty required field.
    expect(() => world.discord.submitModal(opened, { prompt: '' })).toThrow(/empty required field/);

    const answer = await ephemeralText(world.discord.submitModal(opened, { prompt: '   \n  ' }));
    expect(answer).toMatch(/^⚠️ /);
    expect(answer).toMatch(/prompt is empty/);
    await settle(300);
    expect(submits()).toHaveLength(before);
  });

  it('refuses when the message was deleted while the modal was open, and submits nothing', async () => {
    const before = submits().length;
    const message = photoMessage('soon gone');
    const opened = animate(message);
    await opened.waitForModal(WAIT_MS);
    world.discord.deleteMessage(message.id);

    const answer = await ephemeralText(world.discord.submitModal(opened, { prompt: 'the cat jumps' }));
    expect(answer).toMatch(/^⚠️ /);
    expect(answer).toMatch(/image is gone/);
    await settle(300);
    expect(submits()).toHaveLength(before);
  });
  const threePhotos = (content: string) =>
    world.discord.postUserMessage(general, MEMBER_ID, content, {
      attachments: [
        { filename: 'one.png', size: 4096, width: 640, height: 480 },
        { filename: 'readme.txt', size: 100 },
        { filename: 'two.jpg', size: 4096, width: 640, height: 480 },
        { filename: 'three.webp', size: 4096, width: 640, height: 480 },
      ],
    });
  const imageUrls = (message: RecordedMessage) => message.attachments.filter((a) => !a.filename.endsWith('.txt')).map((a) => a.url);

  it('a message with three images on a model taking three: one submit with all three, no note', async () => {
    const message = threePhotos('three cats');
    const opened = animate(message);
    await opened.waitForModal(WAIT_MS);
    const prompt = 'the three cats wave in turn';
    const answer = await ephemeralText(world.discord.submitModal(opened, { prompt }));
    expect(answer).toMatch(/Queued|position|Generating/);
    expect(answer).not.toMatch(/reference images/);
    await waitUntil(() => submits().find((r) => (r.body as { prompt?: unknown }).prompt === prompt), WAIT_MS, 'the Sora submit');
    await settle(300);
    const sent = submits().filter((r) => (r.body as { prompt?: unknown }).prompt === prompt);
    expect(sent).toHaveLength(1);
    expect((sent[0]!.body as { image_urls?: unknown }).image_urls).toEqual(imageUrls(message));
  });

  it('checks every image it uses like the first: an oversized second image refuses, nothing is submitted', async () => {
    const before = submits().length;
    const message = world.discord.postUserMessage(general, MEMBER_ID, 'one small, one huge', {
      attachments: [
        { filename: 'small.png', size: 4096, width: 640, height: 480 },
        { filename: 'huge.png', size: 30 * 1024 * 1024, width: 8000, height: 6000 },
      ],
    });
    const opened = animate(message);
    await opened.waitForModal(WAIT_MS);
    const answer = await ephemeralText(world.discord.submitModal(opened, { prompt: 'they both move' }));
    expect(answer).toMatch(/^⚠️ /);
    expect(answer).toContain('huge.png');
    await settle(300);
    expect(submits()).toHaveLength(before);
  });

  it('on a model taking one image: sends the first and says the others were left out', async () => {
    const admin = await ephemeralText(
      world.discord.sendCommand({
        guildId: guild.id,
        channelId: general,
        userId: guild.ownerId,
        name: 'sora-admin',
        subcommand: 'defaults',
        options: { model: 'kling-v2-6' },
      }),
    );
    expect(admin).toContain('kling-v2-6');
    const message = threePhotos('three dogs');
    const opened = animate(message);
    await opened.waitForModal(WAIT_MS);
    const prompt = 'the first dog jumps';
    const answer = await ephemeralText(world.discord.submitModal(opened, { prompt }));
    expect(answer).toContain('takes at most 1 reference image(s), so only the first 1 of the message’s 3 images were used.');
    await waitUntil(
      () => world.ace.requestsTo('/kling/videos').find((r) => (r.body as { prompt?: unknown }).prompt === prompt),
      WAIT_MS,
      'the Kling submit',
    );
    const sent = world.ace.requestsTo('/kling/videos').filter((r) => (r.body as { prompt?: unknown }).prompt === prompt);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ action: 'image2video', start_image_url: imageUrls(message)[0] });
    expect(JSON.stringify(sent[0]!.body)).not.toContain(imageUrls(message)[1]!);
  });
});
