import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_BOT_PERMISSIONS,
  PermissionBits,
  type GuildState,
  type InteractionHandle,
  type RecordedMessage,
} from '../emulators/discord/index.js';
import { createWorld, MEMBER_ID, type World } from './harness.js';

const OTHER_MEMBER_ID = '487654321098765432';
const WAIT_MS = 15_000;
const FAILURE_MESSAGE = 'The prompt was flagged by the content moderation system';
const SMALL_UPLOAD_LIMIT = 256 * 1024;

/** Resolves with the first truthy value of `probe`, checked every 25 ms (for state outside the Discord emulator). */
async function until<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The task id in a message's embed footer (`Task <id> · …`). */
function taskIdOf(message: RecordedMessage): string | undefined {
  return /^Task (\S+)/.exec(message.embeds[0]?.footer?.text ?? '')?.[1];
}

describe('e2e: delivering results (failures, large videos, mentions, deleted channels)', { timeout: 60_000 }, () => {
  let world: World;
  let guild: GuildState;
  let channelId: string;

  const generate = (prompt: string, extra: { channelId?: string; attachmentSizeLimit?: number } = {}): InteractionHandle =>
    world.discord.sendCommand({
      guildId: guild.id,
      channelId: extra.channelId ?? channelId,
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt },
      ...(extra.attachmentSizeLimit !== undefined ? { attachmentSizeLimit: extra.attachmentSizeLimit } : {}),
    });

  /** Waits for the public result of `prompt` (the prompt is the embed description). */
  const resultOf = (prompt: string, inChannel = channelId): Promise<RecordedMessage> =>
    world.discord.waitForMessage(inChannel, (m) => m.embeds[0]?.description === prompt, WAIT_MS);

  const messagesFor = (prompt: string, inChannel = channelId): RecordedMessage[] =>
    world.discord.channelMessages(inChannel).filter((m) => m.embeds[0]?.description === prompt);

  const taskOf = (prompt: string) => [...world.ace.tasks.values()].find((t) => t.request.prompt === prompt);

  /** Discord POSTs of the bot into a channel (accepted or not). */
  const postsTo = (inChannel: string) =>
    world.discord.requestsTo('POST /channels/:channelId/messages').filter((r) => r.path === `/channels/${inChannel}/messages`);

  /**
   * The POSTs of one task's result, once the accepted one is recorded (a request is recorded when
   * its answer is sent, just after the message appears).
   */
  const resultPosts = async (message: RecordedMessage) => {
    const taskId = taskIdOf(message)!;
    const ofTask = () => postsTo(message.channelId).filter((r) => JSON.stringify(r.body ?? {}).includes(`Task ${taskId}`));
    await world.discord.waitFor(() => ofTask().some((r) => r.status === 200), WAIT_MS, `the recorded post of ${taskId}`);
    return ofTask();
  };

  beforeAll(async () => {
    world = await createWorld({ env: { MEMBER_DAILY_QUOTA: '0' } });
    guild = world.guilds[0]!;
    channelId = world.channelOf(guild);
    world.discord.addMember(guild.id, { id: OTHER_MEMBER_ID, username: 'bob' });
    // With MentionEveryone, only allowed_mentions stands between a prompt and @everyone.
    world.discord.setGuildBotPermissions(guild.id, DEFAULT_BOT_PERMISSIONS | PermissionBits.MentionEveryone);
    world.ace.setTaskPlanner((body) => {
      const prompt = String(body.prompt);
      if (prompt.includes('(fail)')) return { outcome: 'failed', errorCode: 'content_policy', errorMessage: FAILURE_MESSAGE };
      if (prompt.includes('(big)')) return { videoBytes: 2 * SMALL_UPLOAD_LIMIT };
      // Finished by the test (finishTask) once the channel is gone.
      if (prompt.includes('(held)')) return { generationTimeMs: 10 * 60_000 };
      return undefined;
    });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it("tells the member why a generation failed (the API's message), in the channel, with no video", async () => {
    const prompt = 'a cat made of fire (fail)';
    const handle = generate(prompt);
    const message = await resultOf(prompt);

    expect(message.content).toBe(`<@${MEMBER_ID}> your video could not be made.`);
    expect(message.attachments).toHaveLength(0);
    const reason = message.embeds[0]?.fields?.find((f) => f.name === 'Reason')?.value ?? '';
    expect(reason).toContain(FAILURE_MESSAGE);
    expect(message.mentions).toEqual({ userIds: [MEMBER_ID], roleIds: [], everyone: false });
    // The ephemeral reply ends with the reason too.
    await handle.waitForOriginal((m) => m.content.includes(`The generation failed: ${FAILURE_MESSAGE}`), WAIT_MS);

    const task = taskOf(prompt)!;
    expect(task.state).toBe('failed');
    expect(world.ace.requests.filter((r) => r.path.startsWith('/videos/'))).toHaveLength(0);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(1);
    expect(messagesFor(prompt)).toHaveLength(1);
  });

  it("posts a video over the guild's upload limit as exactly one message with the link and no attachment", async () => {
    const prompt = 'a long drone flight over mountains (big)';
    generate(prompt, { attachmentSizeLimit: SMALL_UPLOAD_LIMIT });
    const message = await resultOf(prompt);

    const videoUrl = `${world.ace.url}/videos/${taskOf(prompt)!.id}.mp4`;
    expect(message.attachments).toHaveLength(0);
    expect(message.content).toBe(`<@${MEMBER_ID}> your video is ready: ${videoUrl}`);
    expect(message.embeds[0]?.fields?.find((f) => f.name === 'Video')?.value).toContain('Too large to upload in this server');
    expect(messagesFor(prompt)).toHaveLength(1);
    // The bot never tried to upload it: every post of this result carried no file.
    const posts = await resultPosts(message);
    expect(posts.map((r) => [r.files.length, r.status])).toEqual([[0, 200]]);
  });

  it('falls back to the link when Discord refuses the upload as too large (the guild lost its boost)', async () => {
    const prompt = 'a boosted server that is no longer boosted (big)';
    // The interaction still says 10 MiB, the guild now takes less: Discord answers 40005.
    guild.uploadLimitBytes = SMALL_UPLOAD_LIMIT;
    try {
      generate(prompt, { attachmentSizeLimit: 10 * 1024 * 1024 });
      const message = await resultOf(prompt);
      expect(message.attachments).toHaveLength(0);
      expect(message.content).toContain(`${world.ace.url}/videos/${taskOf(prompt)!.id}.mp4`);
      const posts = await resultPosts(message);
      expect(posts.map((r) => [r.files.length > 0, r.errorCode])).toEqual([
        [true, 40005],
        [false, null],
      ]);
      expect(messagesFor(prompt)).toHaveLength(1);
    } finally {
      guild.uploadLimitBytes = null;
    }
  });

  it('pings only the member: a prompt with @everyone, @here, a user and a role pings nobody else', async () => {
    const prompt = `@everyone @here <@${OTHER_MEMBER_ID}> <@&${guild.memberRoleId}> look at this`;
    generate(prompt);
    const message = await world.discord.waitForMessage(
      channelId,
      (m) => m.embeds[0]?.description?.includes('look at this') ?? false,
      WAIT_MS,
    );

    expect(message.attachments).toHaveLength(1);
    expect(message.content).toBe(`<@${MEMBER_ID}> your video is ready.`);
    expect(message.allowedMentions).toEqual({ parse: [], users: [MEMBER_ID] });
    expect(message.mentions).toEqual({ userIds: [MEMBER_ID], roleIds: [], everyone: false });
    // The prompt is shown inert (no live mention syntax survives in the embed either).
    expect(message.embeds[0]?.description).not.toContain('@everyone');
    expect(world.ace.requestsTo('/sora/videos').at(-1)?.body).toMatchObject({ prompt });
  });

  it('a channel deleted before delivery: no crash, the task is undeliverable, and the bot serves the next command', async () => {
    const doomed = world.discord.addChannel(guild.id, { name: 'doomed' });
    const prompt = 'a sandcastle before the tide (held)';
    const handle = generate(prompt, { channelId: doomed.id });
    const submitted = await until(() => taskOf(prompt), 'the submit of the doomed task');
    world.discord.deleteChannel(doomed.id);
    world.ace.finishTask(submitted.id);

    // The bot tries to post once, Discord answers 10003, and the member hears why in the ephemeral reply.
    const post = await world.discord.waitForRequest((r) => r.path === `/channels/${doomed.id}/messages` && r.method === 'POST', WAIT_MS);
    expect(post.errorCode).toBe(10003);
    const reply = await handle.waitForOriginal((m) => m.content.includes('could not post the result'), WAIT_MS);
    expect(reply.content).toContain('the channel no longer exists');
    const taskId = /^Task (\S+)$/.exec(reply.embeds[0]?.footer?.text ?? '')?.[1];
    expect(taskId).toBeDefined();

    // /sora status (from a live channel) shows it undeliverable.
    const status = world.discord.sendCommand({
      guildId: guild.id,
      channelId,
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'status',
      options: { task: taskId! },
    });
    const ack = await status.waitForAck(WAIT_MS);
    expect(ack.data?.content).toBe(`**${taskId}**: Finished, but the bot could not post it`);

    // The bot still serves commands.
    const next = 'a rescue boat after the storm';
    generate(next);
    const message = await resultOf(next);
    expect(message.attachments).toHaveLength(1);
    expect(world.bot!.child.exitCode).toBeNull();
    expect(world.bot!.child.signalCode).toBeNull();
    // Undeliverable is final: no retry loop against the deleted channel.
    expect(postsTo(doomed.id)).toHaveLength(1);
  });
});
