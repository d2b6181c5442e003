import { afterEach, describe, expect, it } from 'vitest';
import type { AceDataEmulator } from '../emulators/acedata-emulator.js';
import type { InteractionHandle, RecordedMessage } from '../emulators/discord/index.js';
import {
  crashBot,
  createWorld,
  idsAskedIn,
  MEMBER_ID,
  resultFooterOf,
  settle,
  waitForDiscordRequestArrival,
  waitUntil,
  type World,
  type WorldOptions,
} from './harness.js';

/**
 * The crash outcomes of docs/crash-outcomes.md: the real bot process is killed with SIGKILL (no shutdown
 * code runs) while its tasks stand in every state, then started again on the same sqlite store.
 * Expected: at most one submit per command, exactly one public message per command.
 *
 * Each kill catches several tasks, each in another state (a bot start costs seconds on a small
 * machine); every assertion names the task it is about.
 */

// Prompts starting with this run until the test finishes them with `ace.finishTask`.
const SLOW = 'slow:';
const SLOW_GENERATION_MS = 10 * 60_000;
const SCENARIO_TIMEOUT_MS = 120_000;
const WAIT_MS = 30_000;
// A duplicate post would come within a few poll intervals (200 ms) or one publish retry.
const SETTLE_MS = 1_000;

const worlds: World[] = [];
afterEach(async () => {
  await Promise.allSettled(worlds.splice(0).map((w) => w.close()));
});

async function newWorld(options: WorldOptions = {}): Promise<World> {
  const world = await createWorld({
    ...options,
    // These scenarios are not about the 3 s acknowledgement, and the machine may be busy.
    discord: { ackDeadlineMs: 10_000, ...options.discord },
  });
  worlds.push(world);
  world.ace.setTaskPlanner((body) => (String(body.prompt).startsWith(SLOW) ? { generationTimeMs: SLOW_GENERATION_MS } : undefined));
  return world;
}

function generate(world: World, prompt: string, options: { guildIndex?: number; tokenTtlMs?: number } = {}): InteractionHandle {
  const guild = world.guilds[options.guildIndex ?? 0]!;
  const handle = world.discord.sendCommand({
    guildId: guild.id,
    channelId: world.channelOf(guild),
    userId: MEMBER_ID,
    name: 'sora',
    subcommand: 'generate',
    options: { prompt },
    ...(options.tokenTtlMs === undefined ? {} : { tokenTtlMs: options.tokenTtlMs }),
  });
  if (handle.deliveredTo === 0) throw new Error('the command reached no live gateway session');
  return handle;
}

function submitsOf(ace: AceDataEmulator, prompt: string) {
  return ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt);
}

function providerTaskIdOf(ace: AceDataEmulator, prompt: string): string | undefined {
  return [...ace.tasks.values()].find((t) => t.request.prompt === prompt)?.id;
}

function polledSince(ace: AceDataEmulator, providerTaskId: string, sinceMs: number): boolean {
  return ace.requestsTo('/sora/tasks').some((r) => r.timeMs >= sinceMs && idsAskedIn(r).includes(providerTaskId));
}

/** Submitted and polled at least once, so `submitted` is in the ledger; returns the provider task id. */
async function waitUntilPolled(world: World, prompt: string): Promise<string> {
  const providerTaskId = await waitUntil(() => providerTaskIdOf(world.ace, prompt), WAIT_MS, `the submit of "${prompt}"`);
  await waitUntil(() => polledSince(world.ace, providerTaskId, 0), WAIT_MS, `a poll of "${prompt}"`);
  return providerTaskId;
}

/** The provider task a (delayed or dropped) submit created, once it finished. */
function waitForFinishedProviderTask(world: World, prompt: string) {
  return waitUntil(
    () => [...world.ace.tasks.values()].find((t) => t.request.prompt === prompt && t.state === 'succeeded'),
    WAIT_MS,
    `the provider task of "${prompt}" to finish`,
  );
}

/** The member's ephemeral reply once the bot recorded the task as published (its last step). */
function waitForFinishedReply(handle: InteractionHandle, prefix: string): Promise<RecordedMessage> {
  return handle.waitForOriginal((m) => m.content.startsWith(prefix), WAIT_MS);
}

function messagesFor(world: World, channelId: string, providerTaskId: string): RecordedMessage[] {
  return world.discord.channelMessages(channelId).filter((m) => resultFooterOf(m)?.providerTaskId === providerTaskId);
}

/** A result message: public, from the bot, pinging only the member, with our footer. */
function expectResultMessage(world: World, message: RecordedMessage | undefined, marker: string, what: string): void {
  expect(message, what).toBeDefined();
  expect(message!.authorId, what).toBe(world.discord.botUserId);
  expect(message!.source, what).toBe('channel');
  expect(message!.content, what).toContain(`<@${MEMBER_ID}>`);
  expect(message!.mentions, what).toMatchObject({ userIds: [MEMBER_ID], roleIds: [], everyone: false });
  expect(resultFooterOf(message!)?.marker, what).toBe(marker);
  if (marker === 'video') {
    expect(message!.attachments, what).toHaveLength(1);
    expect(message!.attachments[0]!.filename, what).toMatch(/\.mp4$/);
  }
}

describe('e2e: kill -9 and restart on the same store', () => {
  it(
    'queued, submitting and polling at the kill: the queued task is submitted once, the submitting one is not resubmitted (one "interrupted" message), the polled one is polled again and posted once',
    async () => {
      const world = await newWorld({
        env: {
          MAX_ACTIVE_GENERATIONS: '2',
          // The bot's own request timeout must not end the held submit before the kill does.
          ACEDATA_REQUEST_TIMEOUT_MS: '30000',
        },
      });
      const channelId = world.channelOf(world.guilds[0]!);
      await world.startBot();

      // Polling: submitted and checked at least once.
      const pollingPrompt = `${SLOW} a hummingbird in slow motion`;
      const polling = generate(world, pollingPrompt);
      const pollingId = await waitUntilPolled(world, pollingPrompt);

      // Submitting: the POST reached the provider, which takes effect 8 s later, after the kill.
      world.ace.failNext('/sora/videos', { kind: 'delay', delayMs: 8_000 });
      const submittingPrompt = 'a glass city at dawn';
      const submitting = generate(world, submittingPrompt);
      await waitUntil(() => submitsOf(world.ace, submittingPrompt).length === 1, WAIT_MS, 'the held submit to arrive');

      // Queued: both slots are taken; the "queued" reply is sent once the task is stored.
      const queuedPrompt = 'a paper boat on a river';
      const queued = generate(world, queuedPrompt);
      await queued.waitForOriginal((m) => m.content.startsWith('⏳ Queued'), WAIT_MS);

      expect(submitsOf(world.ace, submittingPrompt)[0]!.status, 'the held submit must still be unanswered at the kill').toBe(0);
      expect(submitsOf(world.ace, queuedPrompt)).toHaveLength(0);
      await crashBot(world);
      // The polled generation finishes while no bot runs.
      world.ace.finishTask(pollingId);
      const restartedAt = Date.now();
      await world.startBot();

      await waitForFinishedReply(polling, '✅ Done');
      await waitForFinishedReply(submitting, '⚠️ Interrupted');
      await waitForFinishedReply(queued, '✅ Done');
      const lost = await waitForFinishedProviderTask(world, submittingPrompt);
      await settle(SETTLE_MS);

      // Polling at the kill: not resubmitted, polled by the new process, posted once.
      expect(submitsOf(world.ace, pollingPrompt), 'polling task: submits').toHaveLength(1);
      expect(polledSince(world.ace, pollingId, restartedAt), 'polling task: polled after the restart').toBe(true);
      const pollingMessages = messagesFor(world, channelId, pollingId);
      expect(pollingMessages, 'polling task: messages').toHaveLength(1);
      expectResultMessage(world, pollingMessages[0], 'video', 'polling task');

      // Submitting at the kill: the provider did accept it, yet it is neither resubmitted nor followed.
      expect(submitsOf(world.ace, submittingPrompt), 'submitting task: submits').toHaveLength(1);
      expect(
        world.ace.requests.some((r) => idsAskedIn(r).includes(lost.id)),
        'submitting task: polled',
      ).toBe(false);
      const notices = world.discord.channelMessages(channelId).filter((m) => resultFooterOf(m)?.marker === 'interrupted');
      expect(notices, 'submitting task: "interrupted" messages').toHaveLength(1);
      expectResultMessage(world, notices[0], 'interrupted', 'submitting task');

      // Queued at the kill: submitted once, by the new process, and posted once.
      const queuedSubmits = submitsOf(world.ace, queuedPrompt);
      expect(queuedSubmits, 'queued task: submits').toHaveLength(1);
      expect(queuedSubmits[0]!.timeMs, 'queued task: submitted after the restart').toBeGreaterThanOrEqual(restartedAt);
      const queuedMessages = messagesFor(world, channelId, providerTaskIdOf(world.ace, queuedPrompt)!);
      expect(queuedMessages, 'queued task: messages').toHaveLength(1);
      expectResultMessage(world, queuedMessages[0], 'video', 'queued task');

      expect(world.ace.requestsTo('/sora/videos')).toHaveLength(3);
      expect(world.discord.channelMessages(channelId)).toHaveLength(3);

      // Without a crash: the submit's connection drops after the provider accepted it.
      world.ace.failNext('/sora/videos', { kind: 'drop', afterProcessing: true });
      const droppedPrompt = 'a windmill on a hill';
      const dropped = generate(world, droppedPrompt);
      await waitForFinishedReply(dropped, '❌ The generation failed');
      const accepted = await waitForFinishedProviderTask(world, droppedPrompt);
      await settle(SETTLE_MS);

      expect(submitsOf(world.ace, droppedPrompt), 'dropped answer: submits').toHaveLength(1);
      expect(
        world.ace.requests.some((r) => idsAskedIn(r).includes(accepted.id)),
        'dropped answer: polled',
      ).toBe(false);
      const messages = world.discord.channelMessages(channelId);
      expect(messages).toHaveLength(4);
      expectResultMessage(world, messages[3], 'failed', 'dropped answer');
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'posting at the kill (one post answered to nobody, one still in flight) and a result after the token expired: one message each',
    async () => {
      // Two guilds: the in-flight post is held by channel, and must not hold the others.
      const world = await newWorld({ guilds: ['Sora Lab', 'Second Lab'] });
      const [firstChannel, secondChannel] = world.guilds.map((g) => world.channelOf(g)) as [string, string];
      const bot = await world.startBot();

      const answerLostPrompt = `${SLOW} an origami crane unfolding`;
      const inFlightPrompt = `${SLOW} a snow globe being shaken`;
      const lateTokenPrompt = `${SLOW} a tide pool at low tide`;
      const answerLost = generate(world, answerLostPrompt);
      const inFlight = generate(world, inFlightPrompt, { guildIndex: 1 });
      const lateToken = generate(world, lateTokenPrompt, { tokenTtlMs: 1_500 });
      const answerLostId = await waitUntilPolled(world, answerLostPrompt);
      const inFlightId = await waitUntilPolled(world, inFlightPrompt);
      const lateTokenId = await waitUntilPolled(world, lateTokenPrompt);

      // In flight at the kill: the upload reached Discord, which answers it 8 s later (to nobody).
      world.discord.delayNext(`/channels/${secondChannel}/messages`, 8_000, { method: 'POST' });
      const arrived = waitForDiscordRequestArrival(
        world.discord,
        (r) => r.method === 'POST' && r.path === `/channels/${secondChannel}/messages`,
        WAIT_MS,
      );
      world.ace.finishTask(inFlightId);
      await arrived;

      // Answer lost: killed the moment Discord created the message, before it answered.
      let createdBeforeKill: RecordedMessage | undefined;
      const killOnPost = (message: RecordedMessage) => {
        if (message.channelId !== firstChannel || message.source !== 'channel' || createdBeforeKill) return;
        createdBeforeKill = message;
        bot.child.kill('SIGKILL');
      };
      world.discord.events.on('messageCreate', killOnPost);
      world.ace.finishTask(answerLostId);
      await bot.exited;
      world.discord.events.off('messageCreate', killOnPost);
      const killedAt = Date.now();
      expect(createdBeforeKill, 'answer lost: the message was created before the kill').toBeDefined();
      expect(world.discord.channelMessages(secondChannel), 'in flight: nothing posted before the kill').toHaveLength(0);
      await world.discord.waitFor(() => !world.discord.isGatewayConnected, WAIT_MS, 'the killed bot’s socket to close');

      await world.startBot();
      const answerLostReply = await waitForFinishedReply(answerLost, '✅ Done');
      const inFlightReply = await waitForFinishedReply(inFlight, '✅ Done');
      await world.discord.waitFor(
        () => world.discord.requestsTo('POST /channels/:channelId/messages').some((r) => r.at < killedAt),
        WAIT_MS,
        'the held post of the killed bot to be answered',
      );

      // Late token: the result arrives after the interaction token expired.
      await waitUntil(() => lateToken.tokenExpired, WAIT_MS, 'the interaction token to expire');
      world.ace.finishTask(lateTokenId);
      const lateMessage = await world.discord.waitForMessage(
        firstChannel,
        (m) => resultFooterOf(m)?.providerTaskId === lateTokenId,
        WAIT_MS,
      );
      await settle(SETTLE_MS);

      expect(world.ace.requestsTo('/sora/videos')).toHaveLength(3);
      for (const prompt of [answerLostPrompt, inFlightPrompt, lateTokenPrompt]) {
        expect(submitsOf(world.ace, prompt), `submits of "${prompt}"`).toHaveLength(1);
      }

      // Answer lost: the restart found the message in the channel and recorded it.
      expect(
        messagesFor(world, firstChannel, answerLostId).map((m) => m.id),
        'answer lost: messages',
      ).toEqual([createdBeforeKill!.id]);
      expectResultMessage(world, createdBeforeKill, 'video', 'answer lost');
      expect(answerLostReply.content, 'answer lost: the recorded message').toContain(createdBeforeKill!.id);

      // In flight: the repeat and the held post (same nonce) make one message.
      const inFlightMessages = world.discord.channelMessages(secondChannel);
      expect(inFlightMessages, 'in flight: messages').toHaveLength(1);
      expectResultMessage(world, inFlightMessages[0], 'video', 'in flight');
      expect(resultFooterOf(inFlightMessages[0]!)?.providerTaskId).toBe(inFlightId);
      expect(inFlightMessages[0]!.nonce, 'in flight: nonce').toBe(resultFooterOf(inFlightMessages[0]!)?.taskId);
      expect(inFlightReply.content, 'in flight: the recorded message').toContain(inFlightMessages[0]!.id);

      // Late token: a channel message with the bot token, not an interaction follow-up.
      expectResultMessage(world, lateMessage, 'video', 'late token');
      expect(lateMessage.createdAt).toBeGreaterThan(lateToken.tokenExpiresAt);
      expect(lateMessage.interactionId).toBeNull();
      expect(lateToken.followUps).toHaveLength(0);
      expect(messagesFor(world, firstChannel, lateTokenId)).toHaveLength(1);

      expect(world.discord.channelMessages(firstChannel)).toHaveLength(2);
      expect(world.bot!.child.exitCode).toBeNull();
    },
    SCENARIO_TIMEOUT_MS,
  );
});
