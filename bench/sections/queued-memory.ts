import type { InteractionHandle } from '../../test/emulators/discord/index.js';
import { answerShownAt, botPid, createBenchWorld, roundRobin, sendPaced, targetsOf, startBotPatiently } from '../bench-world.js';
import { startNodeFlags } from '../../test/e2e/start-command.js';
import { sampleProc } from '../proc-stats.js';
import { verdict, type SectionResult } from '../report.js';
import { formatMs, sleep } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'memory with a long queue';
const RSS_TARGET_BYTES = 200 * 1_000_000;
// Longer than the bot's 15 s refresh of waiting members' replies, so the window includes one.
const IDLE_WINDOW_MS = 20_000;
// The anchor: the bot without the heap flags of `npm start`.
const V8_DEFAULT_FLAGS: readonly string[] = ['--enable-source-maps'];

function mb(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(0)} MB`;
}

function replyShown(handle: InteractionHandle): boolean {
  return answerShownAt(handle) !== undefined;
}

interface QueueMeasure {
  startupMs: number;
  sent: Awaited<ReturnType<typeof sendPaced>>;
  idle: ReturnType<typeof sampleProc>;
  loaded: ReturnType<typeof sampleProc>;
  after: ReturnType<typeof sampleProc>;
  editsDuring: number;
  shown: number;
}

/** One bot in `guilds` guilds taking `jobs` commands, then holding them for the idle window. */
async function measureQueue(jobs: number, guilds: number, nodeFlags?: readonly string[]): Promise<QueueMeasure> {
  const world = await createBenchWorld({
    guildCount: guilds,
    ace: { generationTimeMs: 60 * 60_000 },
    // One slot and an hour-long generation: everything else stays queued.
    env: { MAX_ACTIVE_GENERATIONS: '1' },
    ...(nodeFlags ? { nodeFlags } : {}),
  });
  try {
    const startAt = Date.now();
    await startBotPatiently(world);
    const startupMs = Date.now() - startAt;
    const pid = botPid(world);
    await sleep(2000);
    const idle = sampleProc(pid);
    const sent = await sendPaced(world, roundRobin(targetsOf(world), jobs), 150);
    const loaded = sampleProc(pid);
    const editsBefore = world.discord.requestsTo('PATCH /webhooks/:appId/:token/messages/:messageId').length;
    await sleep(IDLE_WINDOW_MS);
    const after = sampleProc(pid);
    const editsDuring = world.discord.requestsTo('PATCH /webhooks/:appId/:token/messages/:messageId').length - editsBefore;
    const shown = sent.handles.filter(replyShown).length;
    return { startupMs, sent, idle, loaded, after, editsDuring, shown };
  } finally {
    await world.close();
  }
}

const rssOf = (m: QueueMeasure): number => Math.max(m.loaded.rssBytes, m.after.rssBytes);

/**
 * RSS and CPU of the bot holding 10 000 queued jobs across 1 000 guilds, started as `npm start`
 * starts it, beside the same bot on V8's default heap sizing.
 */
export async function queuedMemory(mode: BenchMode): Promise<SectionResult> {
  const jobs = mode.quick ? 2_000 : 10_000;
  const guilds = mode.quick ? 200 : 1_000;
  const m = await measureQueue(jobs, guilds);
  const v8Defaults = await measureQueue(jobs, guilds, V8_DEFAULT_FLAGS);
  const { startupMs, sent, idle, loaded, after, editsDuring, shown } = m;
  const sendCpuShare = (loaded.cpuMs - idle.cpuMs) / (loaded.atMs - idle.atMs);
  const idleCpuShare = (after.cpuMs - loaded.cpuMs) / (after.atMs - loaded.atMs);
  const rss = rssOf(m);
  return {
    rows: [
      {
        section: SECTION,
        metric: `bot start in ${guilds} guilds (spawn → logged in and recovered, empty store)`,
        value: formatMs(startupMs),
        verdict: 'info',
      },
      {
        section: SECTION,
        metric: `sending ${jobs} /sora generate to ${guilds} guilds (≤ 150 unanswered at a time)`,
        value: `${formatMs(sent.elapsedMs)} (${((jobs / sent.elapsedMs) * 1000).toFixed(0)}/s), bot CPU ${(sendCpuShare * 100).toFixed(0)}% of a core; ${sent.notAcked} not acked; V8 defaults ${formatMs(v8Defaults.sent.elapsedMs)} (${((jobs / v8Defaults.sent.elapsedMs) * 1000).toFixed(0)}/s)`,
        verdict: 'info',
      },
      {
        section: SECTION,
        metric: `bot RSS with ${jobs - sent.notAcked} queued (idle before: ${mb(idle.rssBytes)})`,
        value: `${mb(rss)} (${mb(loaded.rssBytes)} after the last command, ${mb(after.rssBytes)} ${IDLE_WINDOW_MS / 1000} s later; VmHWM ${mb(after.peakRssBytes)}) vs ${mb(rssOf(v8Defaults))} on V8's default heap sizing (idle ${mb(v8Defaults.idle.rssBytes)})`,
        target: `≤ ${mb(RSS_TARGET_BYTES)}`,
        verdict: verdict(rss <= RSS_TARGET_BYTES),
      },
      {
        section: SECTION,
        metric: `bot CPU holding the queue (${IDLE_WINDOW_MS / 1000} s window, one 15 s reply refresh)`,
        value: `${(idleCpuShare * 100).toFixed(1)}% of a core`,
        verdict: 'info',
      },
      {
        section: SECTION,
        metric: 'queue position shown to the member by the end of the window',
        value: `${shown} of ${jobs}; reply edits during the window ${(editsDuring / (IDLE_WINDOW_MS / 1000)).toFixed(0)}/s`,
        verdict: 'info',
      },
    ],
    notes: [
      `memory with a long queue: MAX_ACTIVE_GENERATIONS 1, 1 h generations, MEMBER_DAILY_QUOTA 0, sqlite store; RSS is VmRSS of the bot process right after the last command and ${IDLE_WINDOW_MS / 1000} s later (the larger is shown); CPU is utime+stime over wall time. The bot runs with the node flags of \`npm start\` (${startNodeFlags().join(' ')}); "V8 defaults" is the same run in a fresh world with ${V8_DEFAULT_FLAGS.join(' ')} only, where V8 sizes the heap for this machine's RAM and lets the old space grow about fourfold between full collections. The bot's live heap (after a forced full collection, measured with the inspector) is about 60 MB with 10 000 queued, 42 MB idle: the rest of the difference is garbage not yet collected.`,
    ],
  };
}
