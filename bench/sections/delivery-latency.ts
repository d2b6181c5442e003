import { createBenchWorld, logTimeMs, roundRobin, sendPaced, submittedLines, targetsOf, startBotPatiently } from '../bench-world.js';
import { verdict, type SectionResult } from '../report.js';
import { formatMs, formatP50P99, quantile, until } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'delivery latency';
// The production default: this section measures what members wait for.
const POLL_INTERVAL_MS = 5000;
const GOLDEN_RATIO_FRACTION = 0.6180339887;

/** Provider completion (emulator) → result message created (Discord emulator), with polling. */
export async function deliveryLatency(mode: BenchMode): Promise<SectionResult> {
  const jobs = mode.quick ? 20 : 40;
  const world = await createBenchWorld({
    guildCount: 10,
    ace: {
      // Generation times spread evenly over 2–12 s, so completions fall anywhere between two polls.
      planner: (_body, { index }) => ({ generationTimeMs: 2000 + Math.round(((index * GOLDEN_RATIO_FRACTION) % 1) * 10_000) }),
    },
    env: { MAX_ACTIVE_GENERATIONS: String(jobs), GUILD_MAX_ACTIVE_GENERATIONS: String(jobs), POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
  });
  try {
    await startBotPatiently(world);
    const sent = await sendPaced(world, roundRobin(targetsOf(world), jobs), 50);
    const expected = jobs - sent.notAcked;
    const logs = () => world.bot!.logs;
    await until(() => logs().filter((l) => l.msg === 'delivered').length >= expected, 60_000, `${expected} deliveries`, 50);

    const messageAt = new Map<string, number>();
    for (const guild of world.guilds) {
      for (const message of world.discord.channelMessages(world.channelOf(guild))) {
        if (typeof message.nonce === 'string') messageAt.set(message.nonce, message.createdAt);
      }
    }
    const seenAt = new Map(logs().filter((l) => l.msg === 'generation finished').map((l) => [String(l.taskId), logTimeMs(l)]));
    const total: number[] = [];
    const pollWait: number[] = [];
    const seenToPosted: number[] = [];
    for (const line of submittedLines(logs())) {
      const finishedAt = world.ace.tasks.get(line.providerTaskId)?.finishedAtMs;
      const postedAt = messageAt.get(line.taskId);
      if (finishedAt === undefined || postedAt === undefined) continue;
      total.push(postedAt - finishedAt);
      const seen = seenAt.get(line.taskId);
      if (seen === undefined) continue;
      pollWait.push(seen - finishedAt);
      seenToPosted.push(postedAt - seen);
    }
    const targetMs = POLL_INTERVAL_MS / 2 + 200;
    const p50 = quantile(total, 0.5);
    return {
      rows: [
        {
          section: SECTION,
          metric: `provider completion → result message, polling every ${POLL_INTERVAL_MS} ms (${total.length} jobs)`,
          value: formatP50P99(total),
          target: `p50 ≤ ${formatMs(targetMs)}`,
          verdict: verdict(p50 <= targetMs),
        },
        {
          section: SECTION,
          metric: '  of which: completion → seen by a poll',
          value: formatP50P99(pollWait),
          verdict: 'info',
        },
        {
          section: SECTION,
          metric: '  of which: seen → result message (store, download, upload)',
          value: formatP50P99(seenToPosted),
          verdict: 'info',
        },
        {
          section: SECTION,
          metric: 'provider completion → result message, with callbacks',
          value: 'n/a (callbacks not implemented)',
          verdict: 'n/a',
        },
      ],
      notes: [
        `delivery latency: ${jobs} jobs in 10 guilds, all running at once, generation times spread over 2–12 s, 64 KiB videos uploaded; "seen by a poll" is the bot's "generation finished" log line.`,
      ],
    };
  } finally {
    await world.close();
  }
}
