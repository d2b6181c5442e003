import type { RecordedRequest } from '../../test/emulators/acedata-emulator.js';
import { createBenchWorld, roundRobin, sendPaced, targetsOf, startBotPatiently } from '../bench-world.js';
import { startNaivePoller } from '../naive-poller.js';
import { verdict, type Row, type SectionResult } from '../report.js';
import { formatP50P99, maxInWindow, sleep, until } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'status requests';
const POLL_INTERVAL_MS = 1000;
const BATCH = 50;
const RATIO_TARGET = 25;
const RUNNING_STEPS = [5, 50, 500];
const PER_SERVICE = 60;
const DOCUMENTED_STATUS_QPS = 60;
const SERVICE_MODELS = [
  { model: 'sora-2', service: 'sora' },
  { model: 'veo31-fast', service: 'veo' },
  { model: 'kling-v2-6', service: 'kling' },
] as const;

/** Running generations spread over several services: each tasks endpoint within its own budget. */
async function measureServices(intervals: number): Promise<Row[]> {
  const world = await createBenchWorld({
    guildCount: 10,
    ace: { generationTimeMs: 60 * 60_000 },
    env: { MAX_ACTIVE_GENERATIONS: '1000', GUILD_MAX_ACTIVE_GENERATIONS: '1000', POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
  });
  try {
    await startBotPatiently(world);
    const targets = SERVICE_MODELS.flatMap(({ model }) => roundRobin(targetsOf(world), PER_SERVICE).map((t) => ({ ...t, model })));
    const sent = await sendPaced(world, targets, 100);
    const expected = targets.length - sent.notAcked;
    await until(() => world.ace.stats().running >= expected, 60_000, `${expected} running generations`, 50);
    await sleep(3 * POLL_INTERVAL_MS);
    const fromMs = Date.now();
    await sleep(intervals * POLL_INTERVAL_MS);
    const toMs = Date.now();
    const rows: Row[] = [];
    let total = 0;
    for (const { model, service } of SERVICE_MODELS) {
      const times = world.ace
        .requestsTo(`/${service}/tasks`)
        .filter((r) => action(r) === 'retrieve_batch' && r.timeMs >= fromMs && r.timeMs < toMs)
        .map((r) => r.timeMs);
      total += times.length;
      const running = [...world.ace.tasks.values()].filter((t) => t.service === service).length;
      const limit = Math.ceil(running / BATCH) + 1;
      const most = maxInWindow(times, POLL_INTERVAL_MS);
      rows.push({
        section: SECTION,
        metric: `${running} running on ${model} beside other services: /${service}/tasks requests in any interval`,
        value: `most ${most}, mean ${(times.length / intervals).toFixed(2)} vs per-task poller ${running}`,
        target: `≤ ${limit}`,
        verdict: verdict(most <= limit),
      });
    }
    const perSecond = total / ((toMs - fromMs) / 1000);
    rows.push({
      section: SECTION,
      metric: `every tasks endpoint together (${SERVICE_MODELS.length} services, ${expected} running)`,
      value: `${perSecond.toFixed(2)} requests/s vs per-task poller ${((expected * 1000) / POLL_INTERVAL_MS).toFixed(0)}/s`,
      target: `≤ ${DOCUMENTED_STATUS_QPS}/s`,
      verdict: verdict(perSecond <= DOCUMENTED_STATUS_QPS),
    });
    return rows;
  } finally {
    await world.close();
  }
}

function action(request: RecordedRequest): string | undefined {
  const body = request.body as { action?: unknown } | undefined;
  return typeof body?.action === 'string' ? body.action : undefined;
}

function idsOf(request: RecordedRequest): string[] {
  const body = request.body as { ids?: unknown } | undefined;
  return Array.isArray(body?.ids) ? body.ids.filter((id): id is string => typeof id === 'string') : [];
}

/** Time between two consecutive batched polls of the same task id. */
function pollGaps(requests: readonly RecordedRequest[]): number[] {
  const lastSeen = new Map<string, number>();
  const gaps: number[] = [];
  for (const request of requests) {
    for (const id of idsOf(request)) {
      const previous = lastSeen.get(id);
      if (previous !== undefined) gaps.push(request.timeMs - previous);
      lastSeen.set(id, request.timeMs);
    }
  }
  return gaps;
}

/**
 * Batched `/sora/tasks` requests per poll interval at 5, 50 and 500 running generations over 1, 10
 * and 100 guilds, side by side with a naive poller (one `retrieve` per task) on the same tasks.
 * One bot per guild count; the running generations grow 5 → 50 → 500 in it.
 */
export async function statusRequests(mode: BenchMode): Promise<SectionResult> {
  const guildCounts = mode.quick ? [1, 100] : [1, 10, 100];
  const intervals = 3;
  const rows: Row[] = [];
  for (const guilds of guildCounts) {
    try {
      rows.push(...(await measureGuildCount(guilds, intervals)));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      rows.push({ section: SECTION, metric: `over ${guilds} guilds`, value: `skipped: ${reason}`, verdict: 'skipped' });
    }
  }
  try {
    rows.push(...(await measureServices(intervals)));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    rows.push({ section: SECTION, metric: 'over several tasks endpoints', value: `skipped: ${reason}`, verdict: 'skipped' });
  }
  return {
    rows,
    notes: [
      `status requests over several tasks endpoints: ${SERVICE_MODELS.map((m) => `${PER_SERVICE} on ${m.model} (/${m.service}/tasks)`).join(', ')}, 10 guilds, POLL_INTERVAL_MS ${POLL_INTERVAL_MS}; per endpoint the most requests in any window of one interval, and all endpoints together per second (documented limit: ${DOCUMENTED_STATUS_QPS} status requests/s per token). A per-task poller would send one request per running task per interval (computed).`,
      `status requests: POLL_INTERVAL_MS ${POLL_INTERVAL_MS} (5000 by default), MAX_ACTIVE_GENERATIONS and GUILD_MAX_ACTIVE_GENERATIONS 1000, generations longer than the run. The bot's retrieve_batch requests are counted at the emulator over ${intervals} whole intervals between its beats; the naive poller (bench/naive-poller.ts, one retrieve per task per interval, the project's Sora client) ran against the same tasks at the same time, counted as retrieve requests received per tick. "gap" is the time between two polls of one task. Tasks are spread round-robin, so 5 running tasks occupy at most 5 guilds.`,
    ],
  };
}

async function measureGuildCount(guilds: number, intervals: number): Promise<Row[]> {
  const world = await createBenchWorld({
    guildCount: guilds,
    ace: { generationTimeMs: 60 * 60_000 },
    env: { MAX_ACTIVE_GENERATIONS: '1000', GUILD_MAX_ACTIVE_GENERATIONS: '1000', POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
  });
  const rows: Row[] = [];
  try {
    await startBotPatiently(world);
    const targets = targetsOf(world);
    let sentSoFar = 0;
    for (const running of RUNNING_STEPS) {
      const sent = await sendPaced(world, roundRobin(targets, running - sentSoFar), 100);
      sentSoFar = running;
      const expected = world.ace.stats().running + (running - world.ace.stats().running) - sent.notAcked;
      await until(() => world.ace.stats().running >= expected, 60_000, `${expected} running generations`, 50);
      const ids = [...world.ace.tasks.keys()];

      // Let the new tasks settle on the beat, then count whole intervals between beats (the bot polls on them).
      const nextBeat = Math.ceil(Date.now() / POLL_INTERVAL_MS) * POLL_INTERVAL_MS;
      const fromMs = nextBeat + POLL_INTERVAL_MS + POLL_INTERVAL_MS / 2;
      const toMs = fromMs + intervals * POLL_INTERVAL_MS;
      const naiveRequestsBefore = world.ace.requestsTo('/sora/tasks').filter((r) => action(r) === 'retrieve').length;
      const naive = startNaivePoller({
        baseUrl: world.ace.url,
        apiToken: world.ace.apiToken,
        intervalMs: POLL_INTERVAL_MS,
        ids: () => ids,
      });
      await sleep(toMs - Date.now());
      const ticks = naive.requestsSent / ids.length;
      await naive.stop();
      await sleep(300);

      const tasksRequests = world.ace.requestsTo('/sora/tasks');
      const batched = tasksRequests.filter((r) => action(r) === 'retrieve_batch' && r.timeMs >= fromMs && r.timeMs < toMs);
      const naiveReceived = tasksRequests.filter((r) => action(r) === 'retrieve').length - naiveRequestsBefore;
      const idsPerRequest = batched.map((r) => idsOf(r).length);
      const polledIdsPerInterval = idsPerRequest.reduce((a, b) => a + b, 0) / intervals;
      const botPerInterval = batched.length / intervals;
      const naivePerInterval = naiveReceived / ticks;
      const limit = Math.ceil(ids.length / BATCH) + 1;
      const ratio = naivePerInterval / botPerInterval;
      const gaps = pollGaps(
        tasksRequests.filter((r) => action(r) === 'retrieve_batch' && r.timeMs >= fromMs - POLL_INTERVAL_MS && r.timeMs < toMs),
      );
      const ok = botPerInterval <= limit && (running < 500 || ratio >= RATIO_TARGET);
      const usedGuilds = Math.min(guilds, ids.length);
      rows.push({
        section: SECTION,
        metric: `${ids.length} running over ${guilds} guild${guilds === 1 ? '' : 's'}${usedGuilds < guilds ? ` (${usedGuilds} used)` : ''}: requests / interval`,
        value:
          `bot ${botPerInterval.toFixed(2)} (≤ ${Math.max(0, ...idsPerRequest)} ids each, ${polledIdsPerInterval.toFixed(0)} ids/interval, ` +
          `gap ${formatP50P99(gaps)}) vs naive ${naivePerInterval.toFixed(0)} → ${Number.isFinite(ratio) ? ratio.toFixed(1) : 'n/a'}× fewer`,
        target: `≤ ${limit}${running >= 500 ? `, ≥ ${RATIO_TARGET}× fewer` : ''}`,
        verdict: verdict(ok),
      });
    }
    return rows;
  } finally {
    await world.close();
  }
}
