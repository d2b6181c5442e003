import { botPid, createBenchWorld, sendGenerate, submittedLines, targetsOf, startBotPatiently } from '../bench-world.js';
import { resetPeakRss, sampleProc, watchRss } from '../proc-stats.js';
import { verdict, type Row, type SectionResult } from '../report.js';
import { formatMiB, formatMs, sleep } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'large video';
const MIB = 1024 * 1024;
// Three warm-up runs, the 64 KiB control, then a 20 MiB video: the most an unboosted guild takes
// (Discord's default per-file limit since September 2026).
const SIZES = [64 * 1024, 64 * 1024, 64 * 1024, 64 * 1024, 20 * MIB];
const WARM_UPS = 3;

/** A 20 MiB video: time and the bot's peak RSS to download and upload it (unboosted guild: 20 MiB cap). */
export async function largeVideo(_mode: BenchMode): Promise<SectionResult> {
  const world = await createBenchWorld({
    guildCount: 1,
    ace: { generationTimeMs: 500, planner: (_body, { index }) => ({ videoBytes: SIZES[index] ?? SIZES[SIZES.length - 1]! }) },
    env: { POLL_INTERVAL_MS: '500' },
  });
  try {
    const [target] = targetsOf(world);
    await startBotPatiently(world);
    const pid = botPid(world);
    await sleep(3000);
    const rows: Row[] = [];
    const channelId = world.channelOf(world.guilds[0]!);
    const seen = new Set<string>();
    let hwmWorks = true;
    let controlOverBaseline = 0;
    for (const [index, bytes] of SIZES.entries()) {
      const baseline = sampleProc(pid);
      hwmWorks = resetPeakRss(pid) && hwmWorks;
      const watcher = watchRss(pid, 5);
      sendGenerate(world, target!);
      const message = await world.discord.waitForMessage(channelId, (m) => m.attachments.length > 0 && !seen.has(m.id), 30_000);
      seen.add(message.id);
      await sleep(200);
      const sampledPeak = watcher.stop();
      const after = sampleProc(pid);
      const peak = hwmWorks ? after.peakRssBytes : sampledPeak;
      const line = submittedLines(world.bot!.logs).find((l) => l.taskId === message.nonce);
      const download = world.ace.requests.find((r) => r.path === `/videos/${line?.providerTaskId}.mp4`);
      const overBaseline = peak - baseline.rssBytes;
      if (index < WARM_UPS) continue;
      const isLarge = bytes >= MIB;
      if (!isLarge) controlOverBaseline = overBaseline;
      rows.push({
        section: SECTION,
        metric: `${formatMiB(bytes)} video: download start → message with the upload`,
        value: download ? formatMs(message.createdAt - download.timeMs) : 'n/a',
        verdict: 'info',
      });
      rows.push({
        section: SECTION,
        metric: `${formatMiB(bytes)} video: peak RSS over the baseline (${formatMiB(baseline.rssBytes)})`,
        value:
          `${formatMiB(overBaseline)} (${(overBaseline / bytes).toFixed(1)}× the video` +
          `${isLarge ? `; ${formatMiB(overBaseline - controlOverBaseline)} more than the control` : ''}; uploaded ${formatMiB(message.attachments[0]?.size ?? 0)})`,
        ...(isLarge ? { target: `≤ ${formatMiB(3 * bytes)} (3×)`, verdict: verdict(overBaseline <= 3 * bytes) } : { verdict: 'info' as const }),
      });
    }
    return {
      rows,
      notes: [
        `large video: unboosted guild (Discord's default 20 MiB upload cap, sent as attachment_size_limit); peak is ${hwmWorks ? 'VmHWM after resetting it (/proc/<pid>/clear_refs) just before the command' : 'the highest VmRSS sampled every 5 ms (VmHWM could not be reset)'}; the baseline is VmRSS just before; three 64 KiB runs warm the process up first, then a 64 KiB control run and the 20 MiB run follow.`,
      ],
    };
  } finally {
    await world.close();
  }
}
