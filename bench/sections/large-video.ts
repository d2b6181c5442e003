import { botPid, createBenchWorld, sendGenerate, submittedLines, targetsOf, startBotPatiently } from '../bench-world.js';
import { resetPeakRss, sampleProc, watchRss } from '../proc-stats.js';
import { verdict, type Row, type SectionResult } from '../report.js';
import { formatMiB, formatMs, sleep } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'large video';
const MIB = 1024 * 1024;
// Each large size in a bot of its own (memory one run leaves behind would flatter the next):
// three warm-up runs, the 64 KiB control, then the video. 20 MiB is Discord's default cap.
const LARGE_SIZES = [10 * MIB, 20 * MIB];
const WARM_UPS = 3;
const sizesFor = (large: number): number[] => [64 * 1024, 64 * 1024, 64 * 1024, 64 * 1024, large];
// The video is held once (its download chunks are the upload's body); the rest is transient.
const PEAK_TARGET_RATIO = 1.5;
/**
 * The previous method (fetch into one preallocated multipart buffer, sent as one Buffer), measured
 * with this section on the same machine before the change: kept as the anchor to compare with.
 */
const PREVIOUS_RATIO: Readonly<Record<number, string>> = { [10 * MIB]: '2.1–3.1×', [20 * MIB]: '2.0×' };

/** 10 and 20 MiB videos: time and the bot's peak RSS to download and upload them (boost tier 2: 50 MiB cap). */
export async function largeVideo(_mode: BenchMode): Promise<SectionResult> {
  const rows: Row[] = [];
  let hwmWorks = true;
  for (const large of LARGE_SIZES) {
    const result = await measureOneSize(large);
    rows.push(...result.rows);
    hwmWorks &&= result.hwmWorks;
  }
  return {
    rows,
    notes: [
      `large video: boost tier 2 guild (50 MiB upload cap); peak is ${hwmWorks ? 'VmHWM after resetting it (/proc/<pid>/clear_refs) just before the command' : 'the highest VmRSS sampled every 5 ms (VmHWM could not be reset)'}; the baseline is VmRSS just before; each large size runs in a bot of its own, after three 64 KiB runs that warm it up and a 64 KiB control run. "before" is the same measure of the previous method (fetch, one preallocated multipart buffer sent whole), taken on this machine just before uploads were streamed from the download chunks.`,
    ],
  };
}

async function measureOneSize(large: number): Promise<{ rows: Row[]; hwmWorks: boolean }> {
  const sizes = sizesFor(large);
  const world = await createBenchWorld({
    guildCount: 1,
    ace: { generationTimeMs: 500, planner: (_body, { index }) => ({ videoBytes: sizes[index] ?? sizes[sizes.length - 1]! }) },
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
    for (const [index, bytes] of sizes.entries()) {
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
        ...(isLarge
          ? {
              target: `≤ ${formatMiB(PEAK_TARGET_RATIO * bytes)} (${PEAK_TARGET_RATIO}×; before: ${PREVIOUS_RATIO[bytes] ?? 'n/a'})`,
              verdict: verdict(overBaseline <= PEAK_TARGET_RATIO * bytes),
            }
          : { verdict: 'info' as const }),
      });
    }
    return { rows, hwmWorks };
  } finally {
    await world.close();
  }
}
