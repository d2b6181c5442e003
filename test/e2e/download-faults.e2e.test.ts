import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuildState, RecordedMessage } from '../emulators/discord/index.js';
import { VIDEO_DOWNLOAD_PATH, emulatedVideoBytes, type EmulatedTask } from '../emulators/acedata-emulator.js';
import { crashBot, createWorld, MEMBER_ID, settle, waitUntil, type World, sendGenerate } from './harness.js';

const WAIT_MS = 30_000;
// Long enough for a late second message (a retry, a repeated post) to show up before counting.
const SETTLE_MS = 1_500;
const VIDEO_BYTES = 320 * 1024 + 17;

/**
 * A finished video whose download fails: retried on 5xx and on a provider that hangs (headers or
 * body), given up on at once on 404, and in every case exactly one public message in the channel.
 */
describe('e2e: video download faults', { timeout: 90_000 }, () => {
  let world: World;
  let guild: GuildState;
  let channelId: string;

  const generate = (prompt: string): void => {
    sendGenerate(world, guild, { prompt }, { channelId });
  };
  const messagesFor = (prompt: string): RecordedMessage[] =>
    world.discord.channelMessages(channelId).filter((m) => m.embeds[0]?.description === prompt);
  const resultOf = (prompt: string): Promise<RecordedMessage> =>
    world.discord.waitForMessage(channelId, (m) => m.embeds[0]?.description === prompt, WAIT_MS);
  const taskOf = (prompt: string): EmulatedTask | undefined => [...world.ace.tasks.values()].find((t) => t.request.prompt === prompt);
  const downloadsOf = (task: EmulatedTask) => world.ace.requests.filter((r) => r.path === `/videos/${task.id}.mp4`);

  beforeAll(async () => {
    world = await createWorld({
      ace: { videoBytes: VIDEO_BYTES },
      // A hanging provider is given up on after half a second (default 30 s).
      env: { MEMBER_DAILY_QUOTA: '0', VIDEO_DOWNLOAD_STALL_TIMEOUT_MS: '500' },
    });
    guild = world.guilds[0]!;
    channelId = world.channelOf(guild);
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('uploads the video once, intact, after the download answered 503 twice', async () => {
    const prompt = 'a lighthouse in a storm (503 twice)';
    world.ace.failNext(VIDEO_DOWNLOAD_PATH, { kind: 'respond', status: 503, body: { error: 'busy' } }, 2);
    generate(prompt);
    const message = await resultOf(prompt);
    await settle(SETTLE_MS);

    expect(messagesFor(prompt)).toHaveLength(1);
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0]!.size).toBe(VIDEO_BYTES);
    expect(world.discord.fileBytes(message.attachments[0]!.id)?.equals(emulatedVideoBytes(VIDEO_BYTES))).toBe(true);
    expect(downloadsOf(taskOf(prompt)!).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('posts one message with the link at once when the download answers 404', async () => {
    const prompt = 'a paper boat on a river (404)';
    world.ace.failNext(VIDEO_DOWNLOAD_PATH, { kind: 'respond', status: 404, body: { error: 'gone' } }, 1);
    generate(prompt);
    const message = await resultOf(prompt);
    await settle(SETTLE_MS);

    const task = taskOf(prompt)!;
    expect(messagesFor(prompt)).toHaveLength(1);
    expect(message.attachments).toHaveLength(0);
    expect(message.content).toBe(`<@${MEMBER_ID}> your video is ready: ${world.ace.url}/videos/${task.id}.mp4`);
    expect(message.embeds[0]?.fields?.find((f) => f.name === 'Video')?.value).toContain('could not fetch the file');
    expect(downloadsOf(task).map((r) => r.status)).toEqual([404]);
  });

  it('posts the link once after the bounded retries when the provider hangs (no headers, then mid-body)', async () => {
    const prompt = 'a clock tower at midnight (hangs)';
    // Two tries get no headers at all, two get the headers and 64 KiB, then nothing.
    world.ace.failNext(VIDEO_DOWNLOAD_PATH, { kind: 'delay', delayMs: 60_000 }, 2);
    world.ace.failNext(VIDEO_DOWNLOAD_PATH, { kind: 'stall', afterBytes: 64 * 1024 }, 2);
    generate(prompt);
    const message = await resultOf(prompt);
    await settle(SETTLE_MS);

    const task = taskOf(prompt)!;
    expect(messagesFor(prompt)).toHaveLength(1);
    expect(message.attachments).toHaveLength(0);
    expect(message.content).toContain(`${world.ace.url}/videos/${task.id}.mp4`);
    // Four tries, then the link: no fifth download, no second message.
    expect(downloadsOf(task).map((r) => r.fault)).toEqual(['delay', 'delay', 'stall', 'stall']);
    world.ace.clearFaults();
  });

  it('sends the streamed upload again, whole, when Discord answers 429 and then 502 to it', async () => {
    const prompt = 'a kite over the dunes (discord busy)';
    const route = `/channels/${channelId}/messages`;
    world.discord.rateLimitNext(route, { retryAfterS: 0.2, method: 'POST' });
    world.discord.failNext(route, { status: 502, method: 'POST' });
    generate(prompt);
    const message = await resultOf(prompt);
    await settle(SETTLE_MS);

    expect(messagesFor(prompt)).toHaveLength(1);
    expect(world.discord.fileBytes(message.attachments[0]!.id)?.equals(emulatedVideoBytes(VIDEO_BYTES))).toBe(true);
    const task = taskOf(prompt)!;
    // Downloaded once; the post went out three times (429, 502, created).
    expect(downloadsOf(task)).toHaveLength(1);
    const posts = world.discord
      .requestsTo('POST /channels/:channelId/messages')
      .filter((r) => r.path === route && JSON.stringify(r.body ?? {}).includes(prompt));
    expect(posts.map((r) => r.status)).toEqual([429, 502, 200]);
  });

  it('still ends in exactly one message when the bot is killed between download retries', async () => {
    const prompt = 'a fox in the snow (crash mid-retry)';
    world.ace.failNext(VIDEO_DOWNLOAD_PATH, { kind: 'respond', status: 503, body: { error: 'busy' } }, 2);
    generate(prompt);
    // The first 503 was answered: the bot now waits before its second try.
    await waitUntil(
      () => {
        const task = taskOf(prompt);
        return task && downloadsOf(task).some((r) => r.status === 503);
      },
      WAIT_MS,
      'the first failed download',
    );
    await crashBot(world);
    expect(messagesFor(prompt)).toHaveLength(0);

    await world.startBot();
    const message = await resultOf(prompt);
    await settle(SETTLE_MS);

    expect(messagesFor(prompt)).toHaveLength(1);
    expect(message.attachments).toHaveLength(1);
    expect(world.discord.fileBytes(message.attachments[0]!.id)?.equals(emulatedVideoBytes(VIDEO_BYTES))).toBe(true);
    expect(downloadsOf(taskOf(prompt)!).map((r) => r.status)).toEqual([503, 503, 200]);
  });
});
