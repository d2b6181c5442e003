import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuildState, InteractionHandle, RecordedMessage } from '../emulators/discord/index.js';
import { crashBot, createWorld, MEMBER_ID, waitUntil, type World } from './harness.js';

const MIB = 1024 * 1024;
const WAIT_MS = 20_000;
// Between the old 10 MiB default and Discord's 20 MiB one (September 2026).
const MEDIUM_VIDEO_BYTES = 15 * MIB;
// Over the 20 MiB default, under a tier-2 guild's 50 MiB (and under the 25 MiB a request may carry).
const LARGE_VIDEO_BYTES = 22 * MIB;

describe("e2e: the upload limit (Discord's attachment_size_limit, else 20 MiB) is kept with the task", { timeout: 90_000 }, () => {
  let world: World;
  let plain: GuildState;
  let boosted: GuildState;

  const generate = (guild: GuildState, prompt: string, attachmentSizeLimit: number | null | undefined): InteractionHandle =>
    world.discord.sendCommand({
      guildId: guild.id,
      channelId: world.channelOf(guild),
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt },
      ...(attachmentSizeLimit !== undefined ? { attachmentSizeLimit } : {}),
    });

  const resultOf = (guild: GuildState, prompt: string): Promise<RecordedMessage> =>
    world.discord.waitForMessage(world.channelOf(guild), (m) => m.embeds[0]?.description === prompt, WAIT_MS);

  /** Every POST of the bot into the guild's channel whose body is this prompt's result, once one is accepted. */
  const resultPosts = async (guild: GuildState, message: RecordedMessage) => {
    const footer = message.embeds[0]?.footer?.text ?? '';
    const taskId = /^Task (\S+)/.exec(footer)?.[1] ?? '';
    const path = `/channels/${world.channelOf(guild)}/messages`;
    const ofTask = () =>
      world.discord
        .requestsTo('POST /channels/:channelId/messages')
        .filter((r) => r.path === path && JSON.stringify(r.body ?? {}).includes(`Task ${taskId}`));
    await world.discord.waitFor(() => ofTask().some((r) => r.status === 200), WAIT_MS, `the recorded post of ${taskId}`);
    return ofTask();
  };

  beforeAll(async () => {
    world = await createWorld({ guilds: ['Plain', 'Boosted'], env: { MEMBER_DAILY_QUOTA: '0' } });
    [plain, boosted] = world.guilds as [GuildState, GuildState];
    world.discord.setPremiumTier(boosted.id, 2);
    world.ace.setTaskPlanner((body) => {
      const prompt = String(body.prompt);
      if (prompt.includes('(medium)')) return { videoBytes: MEDIUM_VIDEO_BYTES };
      // Held until the test finishes it, so the bot can be restarted in between.
      if (prompt.includes('(large, held)')) return { videoBytes: LARGE_VIDEO_BYTES, generationTimeMs: 10 * 60_000 };
      return undefined;
    });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('uploads a 15 MiB video when the interaction carries no attachment_size_limit (20 MiB default)', async () => {
    const prompt = 'a lighthouse in a storm (medium)';
    const handle = generate(plain, prompt, null);
    expect('attachment_size_limit' in handle.payload).toBe(false);
    const message = await resultOf(plain, prompt);

    expect(message.attachments.map((a) => a.size)).toEqual([MEDIUM_VIDEO_BYTES]);
    expect(message.content).toBe(`<@${MEMBER_ID}> your video is ready.`);
    const posts = await resultPosts(plain, message);
    expect(posts.map((r) => [r.files.length, r.status])).toEqual([[1, 200]]);
  });

  it('links a video above the limit the interaction sent, without trying the upload', async () => {
    const prompt = 'a lighthouse in a calm sea (medium)';
    // The guild itself would take 20 MiB: only the sent limit says no.
    generate(plain, prompt, 12 * MIB);
    const message = await resultOf(plain, prompt);

    expect(message.attachments).toHaveLength(0);
    expect(message.content).toContain('your video is ready: http');
    expect(message.embeds[0]?.fields?.find((f) => f.name === 'Video')?.value).toContain('12 MiB');
    const posts = await resultPosts(plain, message);
    expect(posts.map((r) => [r.files.length, r.status])).toEqual([[0, 200]]);
  });

  it("after a restart, delivers with the limit stored at the command (a boosted guild's 50 MiB), not the default", async () => {
    const prompt = 'a comet over a frozen lake (large, held)';
    const handle = generate(boosted, prompt, undefined);
    expect(handle.payload.attachment_size_limit).toBe(50 * MIB);
    const task = await waitUntil(
      () => [...world.ace.tasks.values()].find((t) => t.request.prompt === prompt),
      WAIT_MS,
      'the submit to reach Ace Data Cloud',
    );
    // Killed only once the task is stored as submitted (earlier, it would be "interrupted", not delivered).
    await world.bot!.waitForLog((l) => l.msg === 'submitted' && l.providerTaskId === task.id, WAIT_MS);
    await crashBot(world);
    world.ace.finishTask(task.id);
    await world.startBot();

    const message = await resultOf(boosted, prompt);
    expect(message.attachments.map((a) => a.size)).toEqual([LARGE_VIDEO_BYTES]);
    const posts = await resultPosts(boosted, message);
    expect(posts.map((r) => [r.files.length, r.status])).toEqual([[1, 200]]);
  });
});
