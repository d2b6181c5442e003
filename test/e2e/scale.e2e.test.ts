import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InteractionHandle } from '../emulators/discord/index.js';
import { createWorld, idsAskedIn, resultFooterOf, settle, waitUntil, type World } from './harness.js';

/**
 * Many members in several guilds at once: every video is delivered exactly once, and the guild
 * pollers' status requests are merged into shared `retrieve_batch` calls (docs/architecture.md §3).
 */

const MEMBERS_PER_GUILD = [30, 8, 8, 8, 8];
const TOTAL = MEMBERS_PER_GUILD.reduce((a, b) => a + b, 0);
const POLL_INTERVAL_MS = 250;
// Generations end when the test finishes them, once every task is running and was polled a few times.
const GENERATION_MS = 10 * 60_000;
const POLLS_PER_TASK_BEFORE_FINISH = 4;
// The vendor suggests about 50 ids per `retrieve_batch`.
const MAX_BATCH_IDS = 50;

function memberId(guildIndex: number, memberIndex: number): string {
  return String(500_000_000_000_000_000n + BigInt(guildIndex * 1000 + memberIndex));
}

function promptOf(guildIndex: number, memberIndex: number): string {
  return `guild ${guildIndex} member ${memberIndex}: a kite over the dunes`;
}

describe('e2e: 30 members in one guild and 5 guilds at once', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({
      guilds: MEMBERS_PER_GUILD.map((_, g) => `Guild ${g}`),
      // The scenario is about throughput, not the 3 s acknowledgement (covered elsewhere).
      discord: { ackDeadlineMs: 15_000 },
      ace: { generationTimeMs: GENERATION_MS },
      env: {
        POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
        MAX_ACTIVE_GENERATIONS: '100',
        GUILD_MAX_ACTIVE_GENERATIONS: '50',
        LOG_LEVEL: 'info',
      },
    });
    world.guilds.forEach((guild, g) => {
      for (let m = 0; m < MEMBERS_PER_GUILD[g]!; m++) {
        world.discord.addMember(guild.id, { id: memberId(g, m), username: `member-${g}-${m}` });
      }
    });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('delivers every video exactly once and polls in batches shared across guilds', async () => {
    const handles: InteractionHandle[] = [];
    world.guilds.forEach((guild, g) => {
      for (let m = 0; m < MEMBERS_PER_GUILD[g]!; m++) {
        handles.push(
          world.discord.sendCommand({
            guildId: guild.id,
            channelId: world.channelOf(guild),
            userId: memberId(g, m),
            name: 'sora',
            subcommand: 'generate',
            options: { prompt: promptOf(g, m) },
          }),
        );
      }
    });
    await Promise.all(handles.map((h) => h.waitForAck(20_000)));

    const pollsOf = new Map<string, number>();
    await waitUntil(
      () => {
        pollsOf.clear();
        for (const poll of world.ace.requestsTo('/sora/tasks')) {
          for (const id of idsAskedIn(poll)) pollsOf.set(id, (pollsOf.get(id) ?? 0) + 1);
        }
        return (
          world.ace.tasks.size === TOTAL &&
          [...world.ace.tasks.keys()].every((id) => (pollsOf.get(id) ?? 0) >= POLLS_PER_TASK_BEFORE_FINISH)
        );
      },
      60_000,
      `all ${TOTAL} tasks running and polled ${POLLS_PER_TASK_BEFORE_FINISH} times`,
    );
    for (const id of world.ace.tasks.keys()) world.ace.finishTask(id);

    const delivered = () => world.guilds.reduce((n, guild) => n + world.discord.channelMessages(world.channelOf(guild)).length, 0);
    await world.discord.waitFor(() => delivered() >= TOTAL, 60_000, `${TOTAL} result messages`);
    // Every member's reply says "done" only once its task was recorded as delivered.
    await world.discord.waitFor(
      () => handles.every((h) => h.original?.content.startsWith('✅ Done')),
      20_000,
      'every reply to show the result',
    );
    await settle(1_000);

    // Submits: one per command, never more.
    const submits = world.ace.requestsTo('/sora/videos');
    expect(submits).toHaveLength(TOTAL);
    const submittedPrompts = submits.map((r) => (r.body as { prompt: string }).prompt);
    expect(new Set(submittedPrompts).size).toBe(TOTAL);
    expect(world.ace.stats().maxRunning).toBe(TOTAL);

    // Messages: exactly one per member, in their own guild's channel, with the video.
    const providerIdsPosted = new Set<string>();
    world.guilds.forEach((guild, g) => {
      const messages = world.discord.channelMessages(world.channelOf(guild));
      expect(messages).toHaveLength(MEMBERS_PER_GUILD[g]!);
      const mentioned = messages
        .map((m) => m.mentions.userIds)
        .flat()
        .sort();
      expect(mentioned).toEqual(Array.from({ length: MEMBERS_PER_GUILD[g]! }, (_, m) => memberId(g, m)).sort());
      for (const message of messages) {
        expect(message.attachments).toHaveLength(1);
        const footer = resultFooterOf(message);
        expect(footer?.marker).toBe('video');
        providerIdsPosted.add(footer!.providerTaskId!);
        // The video of the member's own prompt, in the guild it was asked from.
        const memberIndex = Number(BigInt(message.mentions.userIds[0]!) - BigInt(memberId(g, 0)));
        expect(world.ace.tasks.get(footer!.providerTaskId!)?.request.prompt).toBe(promptOf(g, memberIndex));
      }
    });
    expect(providerIdsPosted.size).toBe(TOTAL);

    // Status requests: batched across guilds, far fewer than one per task per poll.
    const polls = world.ace.requestsTo('/sora/tasks');
    const guildOf = (providerTaskId: string) => /^guild (\d+) /.exec(String(world.ace.tasks.get(providerTaskId)?.request.prompt))?.[1];
    for (const poll of polls) {
      expect((poll.body as { action?: string }).action).toBe('retrieve_batch');
      expect(idsAskedIn(poll).length).toBeLessThanOrEqual(MAX_BATCH_IDS);
    }
    const crossGuild = polls.filter((poll) => new Set(idsAskedIn(poll).map(guildOf)).size > 1);
    expect(crossGuild.length).toBeGreaterThan(0);

    const firstPollMs = polls[0]!.timeMs;
    const lastPollMs = polls[polls.length - 1]!.timeMs;
    const intervals = Math.ceil((lastPollMs - firstPollMs) / POLL_INTERVAL_MS) + 1;
    const perInterval = Math.ceil(TOTAL / MAX_BATCH_IDS) + 1;
    const bound = intervals * perInterval + 5;
    // What polling each task on its own would cost: one request per task per interval it ran.
    const oneByOne = [...world.ace.tasks.values()].reduce(
      (n, t) => n + Math.max(1, Math.floor(((t.finishedAtMs ?? lastPollMs) - t.submittedAtMs) / POLL_INTERVAL_MS)),
      0,
    );
    const summary = { polls: polls.length, intervals, bound, oneByOne, crossGuild: crossGuild.length };
    expect(polls.length, JSON.stringify(summary)).toBeLessThanOrEqual(bound);
    expect(polls.length, JSON.stringify(summary)).toBeLessThan(oneByOne / 5);
  }, 120_000);
});
