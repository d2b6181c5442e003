import { createBenchWorld, logTimeMs, roundRobin, sendPaced, submittedLines, targetsOf, startBotPatiently } from '../bench-world.js';
import { freePort } from '../../test/e2e/harness.js';
import { verdict, type Row, type SectionResult } from '../report.js';
import { formatMs, formatP50P99, quantile, until } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'delivery latency';
// The production default: this section measures what members wait for.
const POLL_INTERVAL_MS = 5000;
const GOLDEN_RATIO_FRACTION = 0.6180339887;
const CALLBACK_TARGET_MS = 500;
const WARMUP_JOBS = 10;

/** What one run of the scenario measured (all in ms). */
interface Measured {
  /** Provider completion → result message. */
  total: number[];
  /** Provider completion → the bot's "generation finished" log line. */
  seenWait: number[];
  /** "generation finished" → result message. */
  seenToPosted: number[];
  /** How many "generation finished" lines came from a callback (`via: 'callback'`). */
  viaCallback: number;
  /** Callbacks the emulator sent that were not answered 200. */
  callbacksRefused: number;
}

/**
 * The scenario: `jobs` generations in 10 guilds, all running at once, finishing anywhere between
 * two polls; with `callbacks` the bot also listens on a free port and the emulator POSTs each result.
 */
async function runScenario(jobs: number, callbacks: boolean, beatsOnly = false): Promise<Measured> {
  const callbackEnv: Record<string, string> = {};
  if (callbacks) {
    const port = await freePort();
    callbackEnv.HTTP_PORT = String(port);
    callbackEnv.PUBLIC_URL = `http://127.0.0.1:${port}`;
  }
  const world = await createBenchWorld({
    guildCount: 10,
    ace: {
      // Generation times spread evenly over 2–12 s, so completions fall anywhere between two polls.
      planner: (_body, { index }) => ({ generationTimeMs: 2000 + Math.round(((index * GOLDEN_RATIO_FRACTION) % 1) * 10_000) }),
    },
    env: {
      MAX_ACTIVE_GENERATIONS: String(jobs),
      GUILD_MAX_ACTIVE_GENERATIONS: String(jobs),
      POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
      POLL_ON_BEATS_ONLY: String(beatsOnly),
      ...callbackEnv,
    },
  });
  try {
    await startBotPatiently(world);
    const logs = () => world.bot!.logs;
    const delivered = () => logs().filter((l) => l.msg === 'delivered').length;
    // Warm-up: as in production after a few generations, the bot has learned how long this model takes.
    const warm = await sendPaced(world, roundRobin(targetsOf(world), WARMUP_JOBS), 50);
    await until(() => delivered() >= WARMUP_JOBS - warm.notAcked, 60_000, 'warm-up deliveries', 50);
    const measuredFromMs = Date.now();
    const sent = await sendPaced(world, roundRobin(targetsOf(world), jobs), 50);
    const expected = WARMUP_JOBS - warm.notAcked + jobs - sent.notAcked;
    await until(() => delivered() >= expected, 60_000, `${expected} deliveries`, 50);

    const messageAt = new Map<string, number>();
    for (const guild of world.guilds) {
      for (const message of world.discord.channelMessages(world.channelOf(guild))) {
        if (typeof message.nonce === 'string') messageAt.set(message.nonce, message.createdAt);
      }
    }
    const finishedLines = logs().filter((l) => l.msg === 'generation finished');
    const seenAt = new Map(finishedLines.map((l) => [String(l.taskId), logTimeMs(l)]));
    const measured: Measured = {
      total: [],
      seenWait: [],
      seenToPosted: [],
      viaCallback: 0,
      callbacksRefused: world.ace.callbacks.filter((c) => c.status !== 200).length,
    };
    for (const line of submittedLines(logs())) {
      const providerTask = world.ace.tasks.get(line.providerTaskId);
      if (!providerTask || providerTask.submittedAtMs < measuredFromMs) continue;
      const finishedAt = providerTask.finishedAtMs;
      const postedAt = messageAt.get(line.taskId);
      if (finishedAt === undefined || postedAt === undefined) continue;
      measured.total.push(postedAt - finishedAt);
      const seen = seenAt.get(line.taskId);
      if (seen === undefined) continue;
      if (finishedLines.some((l) => String(l.taskId) === line.taskId && l.via === 'callback')) measured.viaCallback++;
      measured.seenWait.push(seen - finishedAt);
      measured.seenToPosted.push(postedAt - seen);
    }
    return measured;
  } finally {
    await world.close();
  }
}

/** Provider completion (emulator) → result message created (Discord emulator), polling, then with callbacks. */
export async function deliveryLatency(mode: BenchMode): Promise<SectionResult> {
  const jobs = mode.quick ? 20 : 40;
  const beatsOnly = await runScenario(jobs, false, true);
  const polled = await runScenario(jobs, false);
  const called = await runScenario(jobs, true);

  const pollTargetMs = POLL_INTERVAL_MS / 4;
  const rows: Row[] = [
    {
      section: SECTION,
      metric: `provider completion → result message, polling every ${POLL_INTERVAL_MS} ms (${polled.total.length} jobs)`,
      value: `${formatP50P99(polled.total)} vs beats only ${formatP50P99(beatsOnly.total)}`,
      target: `p50 ≤ ${formatMs(pollTargetMs)} (interval/4)`,
      verdict: verdict(quantile(polled.total, 0.5) <= pollTargetMs),
    },
    {
      section: SECTION,
      metric: '  of which: completion → seen by a poll',
      value: `${formatP50P99(polled.seenWait)} vs beats only ${formatP50P99(beatsOnly.seenWait)}`,
      verdict: 'info',
    },
    {
      section: SECTION,
      metric: '  of which: seen → result message (store, download, upload)',
      value: formatP50P99(polled.seenToPosted),
      verdict: 'info',
    },
    {
      section: SECTION,
      metric: `provider completion → result message, with callbacks (${called.total.length} jobs)`,
      value: formatP50P99(called.total),
      target: `p99 ≤ ${formatMs(CALLBACK_TARGET_MS)} with callbacks`,
      verdict: verdict(called.total.length > 0 && quantile(called.total, 0.99) <= CALLBACK_TARGET_MS),
    },
    {
      section: SECTION,
      metric: '  of which: completion → callback applied',
      value: `${formatP50P99(called.seenWait)} (${called.viaCallback} of ${called.total.length} via callback)`,
      verdict: 'info',
    },
    {
      section: SECTION,
      metric: '  of which: callback applied → result message (store, download, upload)',
      value: formatP50P99(called.seenToPosted),
      verdict: 'info',
    },
  ];
  return {
    rows,
    notes: [
      `delivery latency: ${jobs} jobs in 10 guilds, all running at once, generation times spread over 2–12 s, 64 KiB videos uploaded, after ${WARMUP_JOBS} warm-up jobs of the same spread (not measured) taught the bot the model's time; "seen by a poll" / "callback applied" is the bot's "generation finished" log line. "beats only" is the same in a fresh world with POLL_ON_BEATS_ONLY=true (the cadence before the request budget). With ${jobs} running, the endpoint may send ceil(${jobs}/50)+1 = ${Math.ceil(jobs / 50) + 1} requests per interval: for completions spread evenly in time the best any schedule can do is p50 ≈ interval / (2 × that) = ${formatMs(POLL_INTERVAL_MS / (2 * (Math.ceil(jobs / 50) + 1)))} from completion to seen. The batcher keeps each budget window 5 % + 5 ms longer than the interval (uneven network delays must not make two requests arrive closer than the budget allows), so the requests are at least ${formatMs((POLL_INTERVAL_MS * 1.05 + 5) / (Math.ceil(jobs / 50) + 1))} apart: the bound the bot can reach is p50 ≈ ${formatMs((POLL_INTERVAL_MS * 1.05 + 5) / (2 * (Math.ceil(jobs / 50) + 1)))} to seen, plus its own seen → result message.`,
      `delivery latency with callbacks: the same scenario in a fresh world with PUBLIC_URL and HTTP_PORT on a free local port (POLL_INTERVAL_MS ${POLL_INTERVAL_MS} kept; polling is then the 6× slower safety net); the emulator POSTs each result as the task finishes; ${called.callbacksRefused} callbacks not answered 200.`,
    ],
  };
}
