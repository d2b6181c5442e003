import type { EmulatedTask } from '../../test/emulators/acedata-emulator.js';
import { createBenchWorld, roundRobin, sendPaced, targetsOf, startBotPatiently } from '../bench-world.js';
import { verdict, type SectionResult } from '../report.js';
import { formatMs, formatP50P99, maxInWindow, quantile, until } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'slot utilisation';
const SLOTS = 5;
const GENERATION_MS = 1000;
const POLL_INTERVAL_MS = 250;
const PRODUCTION_SUBMIT_MIN_INTERVAL_MS = 2000;

/** Share of [fromMs, toMs] during which `slots` provider tasks ran at once, and the mean busy slots. */
export function busyShare(
  tasks: readonly EmulatedTask[],
  slots: number,
  fromMs: number,
  toMs: number,
): { allBusy: number; meanBusy: number } {
  const events: Array<[number, number]> = [];
  for (const task of tasks) {
    events.push([task.submittedAtMs, +1]);
    events.push([task.finishedAtMs ?? Number.POSITIVE_INFINITY, -1]);
  }
  // Finishes before starts at the same instant: a slot freed and refilled in one millisecond was not double-booked.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let lastMs = fromMs;
  let allBusyMs = 0;
  let busySlotMs = 0;
  for (const [atMs, delta] of events) {
    const clippedMs = Math.min(Math.max(atMs, fromMs), toMs);
    if (clippedMs > lastMs) {
      if (running >= slots) allBusyMs += clippedMs - lastMs;
      busySlotMs += Math.min(running, slots) * (clippedMs - lastMs);
      lastMs = clippedMs;
    }
    running += delta;
  }
  const spanMs = toMs - fromMs;
  return { allBusy: allBusyMs / spanMs, meanBusy: busySlotMs / spanMs / slots };
}

/**
 * Gaps from a provider finish to the submit that refilled its slot: with every slot refilled at once,
 * the k-th finish frees the slot taken by submit k + slots.
 */
export function refillGaps(tasks: readonly EmulatedTask[], slots: number): number[] {
  const submits = tasks.map((t) => t.submittedAtMs).sort((a, b) => a - b);
  const finishes = tasks.flatMap((t) => (t.finishedAtMs === undefined ? [] : [t.finishedAtMs])).sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let k = 0; k + slots < submits.length && k < finishes.length; k++) gaps.push(submits[k + slots]! - finishes[k]!);
  return gaps;
}

/**
 * The bot's own part of each refill: from the status request that first carried a finished task
 * (received after its finish) to the submit that refilled the slot; what no cadence can shorten.
 */
function seenToSubmitGaps(
  tasks: readonly EmulatedTask[],
  retrieves: readonly { timeMs: number; body?: unknown }[],
  slots: number,
): number[] {
  const submits = tasks.map((t) => t.submittedAtMs).sort((a, b) => a - b);
  const finished = tasks.filter((t) => t.finishedAtMs !== undefined).sort((a, b) => a.finishedAtMs! - b.finishedAtMs!);
  const gaps: number[] = [];
  finished.forEach((task, k) => {
    const refillAtMs = submits[k + slots];
    const seen = retrieves.find((r) => r.timeMs >= task.finishedAtMs! && ((r.body as { ids?: string[] }).ids ?? []).includes(task.id));
    if (refillAtMs !== undefined && seen && refillAtMs >= seen.timeMs) gaps.push(refillAtMs - seen.timeMs);
  });
  return gaps;
}

interface SlotRun {
  allBusy: number;
  meanBusy: number;
  spanMs: number;
  maxRunning: number;
  gaps: number[];
  notAcked: number;
  statusRequestsPerSecond: number;
  /** The most status requests sent in any window of one poll interval. */
  maxPerInterval: number;
  /** Per refill: from the status request that saw the finish (at the emulator) to the next submit. */
  seenToSubmit: number[];
}

/** One run of the scenario; `beatsOnly` is today's cadence before the request budget (POLL_ON_BEATS_ONLY). */
async function runSlots(jobs: number, beatsOnly: boolean): Promise<SlotRun> {
  const world = await createBenchWorld({
    guildCount: 10,
    ace: { generationTimeMs: GENERATION_MS },
    env: {
      MAX_ACTIVE_GENERATIONS: String(SLOTS),
      SUBMIT_MIN_INTERVAL_MS: '0',
      POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
      POLL_ON_BEATS_ONLY: String(beatsOnly),
    },
  });
  try {
    await startBotPatiently(world);
    const sent = await sendPaced(world, roundRobin(targetsOf(world), jobs), 50);
    const perJobMs = GENERATION_MS + 2 * POLL_INTERVAL_MS;
    await until(
      () => world.ace.stats().submitted === jobs - sent.notAcked && world.ace.stats().running === 0,
      (jobs / SLOTS) * perJobMs * 3 + 30_000,
      'every job to finish at the provider',
      50,
    );
    const tasks = [...world.ace.tasks.values()];
    const submits = tasks.map((t) => t.submittedAtMs);
    const fromMs = Math.min(...submits);
    const toMs = Math.max(...submits);
    const share = busyShare(tasks, SLOTS, fromMs, toMs);
    const stats = world.ace.stats();
    const retrieveRequests = world.ace
      .requestsTo('/sora/tasks')
      .filter((r) => (r.body as { action?: unknown } | undefined)?.action === 'retrieve_batch');
    const retrieves = retrieveRequests.map((r) => r.timeMs);
    return {
      ...share,
      spanMs: toMs - fromMs,
      maxRunning: stats.maxRunning,
      gaps: refillGaps(tasks, SLOTS),
      notAcked: sent.notAcked,
      statusRequestsPerSecond: retrieves.length / ((toMs - fromMs + GENERATION_MS) / 1000),
      maxPerInterval: maxInWindow(retrieves, POLL_INTERVAL_MS),
      seenToSubmit: seenToSubmitGaps(tasks, retrieveRequests, SLOTS),
    };
  } finally {
    await world.close();
  }
}

/** A queue of jobs behind MAX_ACTIVE_GENERATIONS=5, fixed 1 s generations: how busy the slots stay. */
export async function slotUtilisation(mode: BenchMode): Promise<SectionResult> {
  const jobs = mode.quick ? 50 : 200;
  const anchor = await runSlots(jobs, true);
  const run = await runSlots(jobs, false);
  const p50Gap = quantile(run.gaps, 0.5);
  const setting = `${jobs} jobs, ${SLOTS} slots, ${GENERATION_MS} ms generations, POLL_INTERVAL_MS ${POLL_INTERVAL_MS}, SUBMIT_MIN_INTERVAL_MS 0`;
  // With the production pacing a slot can be refilled only every 2 s: steady state holds at most
  // (generation + gap) / 2 s slots busy.
  const paced = Math.min(SLOTS, (GENERATION_MS + p50Gap) / PRODUCTION_SUBMIT_MIN_INTERVAL_MS);
  const meanGapMs = run.gaps.reduce((sum, gap) => sum + gap, 0) / Math.max(1, run.gaps.length);
  const floorMs = quantile(run.seenToSubmit, 0.5);
  // Each slot idles refill / (generation + refill) of the time; all at once are busy the product.
  const allBusyAt = (refillMs: number) => (GENERATION_MS / (GENERATION_MS + refillMs)) ** SLOTS;
  const budget = Math.ceil(SLOTS / 50) + 1;
  return {
    rows: [
      {
        section: SECTION,
        metric: `slots busy while jobs wait (${jobs} jobs; mean share of the ${SLOTS} slots over ${formatMs(run.spanMs)})`,
        value: `${(run.meanBusy * 100).toFixed(1)}% (max running ${run.maxRunning}) vs beats only ${(anchor.meanBusy * 100).toFixed(1)}%`,
        target: '≥ 95%',
        verdict: verdict(run.meanBusy >= 0.95),
      },
      {
        section: SECTION,
        metric: `  all ${SLOTS} slots busy at the same time`,
        value: `${(run.allBusy * 100).toFixed(1)}% vs beats only ${(anchor.allBusy * 100).toFixed(1)}%; at most ${(allBusyAt(floorMs) * 100).toFixed(1)}% with every refill at the bot's own floor`,
        target: '',
        verdict: 'info',
      },
      {
        section: SECTION,
        metric: 'provider finish → next submit',
        value: `${formatP50P99(run.gaps)}, mean ${formatMs(meanGapMs)} vs beats only ${formatP50P99(anchor.gaps)} (${run.gaps.length} refills)`,
        target: 'p50 ≤ 100 ms',
        verdict: verdict(p50Gap <= 100),
      },
      {
        section: SECTION,
        metric: '  of which: status answer that saw it → next submit (the bot: store, slot, submit)',
        value: formatP50P99(run.seenToSubmit),
        target: '',
        verdict: 'info',
      },
      {
        section: SECTION,
        metric: `status requests, most in any ${POLL_INTERVAL_MS} ms (one tasks endpoint)`,
        value: `${run.maxPerInterval} (${run.statusRequestsPerSecond.toFixed(2)}/s) vs beats only ${anchor.maxPerInterval} (${anchor.statusRequestsPerSecond.toFixed(2)}/s)`,
        target: `≤ ${budget} (ceil(${SLOTS}/50)+1)`,
        verdict: verdict(run.maxPerInterval <= budget),
      },
    ],
    notes: [
      `slot utilisation: ${setting}; ${run.notAcked} + ${anchor.notAcked} commands not acked. The bot frees a slot when a poll sees the finish. "beats only" is the same scenario with POLL_ON_BEATS_ONLY=true (every task checked on the ${POLL_INTERVAL_MS} ms beats: the cadence before the request budget); by default the endpoint's spare request per interval checks tasks near their expected finish, one check lands just after a learned finish time, and every request carries the other running tasks. "Slots busy" is the mean share of the ${SLOTS} slots holding a generation at the provider; "all at the same time" multiplies the slots' idle shares (each idles refill / (generation + refill)), so with ${GENERATION_MS} ms generations 95 % of the time with all ${SLOTS} busy would need every refill within ${formatMs(GENERATION_MS * (0.95 ** (-1 / SLOTS) - 1))}: less than the bot's own path from the status answer to the next submit (p50 ${formatMs(floorMs)}), before any wait for the finish to be seen. With 1 min generations (real ones take 1–5 min) the same refills (mean ${formatMs(meanGapMs)}) would keep all ${SLOTS} busy ${((60_000 / (60_000 + meanGapMs)) ** SLOTS * 100).toFixed(1)}% of the time.`,
      `slot utilisation at the production default SUBMIT_MIN_INTERVAL_MS=${PRODUCTION_SUBMIT_MIN_INTERVAL_MS} (computed, not run): one submit per ${PRODUCTION_SUBMIT_MIN_INTERVAL_MS / 1000} s keeps at most (${GENERATION_MS} ms + ${formatMs(p50Gap)}) / ${PRODUCTION_SUBMIT_MIN_INTERVAL_MS / 1000} s ≈ ${paced.toFixed(2)} of ${SLOTS} slots busy with ${GENERATION_MS / 1000} s generations; with real 1–5 min generations the pacing costs at most ${(SLOTS * PRODUCTION_SUBMIT_MIN_INTERVAL_MS) / 1000} s to refill all slots.`,
    ],
  };
}
