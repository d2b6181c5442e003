/**
 * `npx tsx bench/usage-report.ts`: how long a usage report takes over a ledger of 10 000 tasks
 * (sqlite, Redis when it answers, memory): one guild's 7 and 90 days (`/sora-admin usage`), every
 * guild's 90 days (`GET /usage`), and drawing the chart. Seeding goes through the store's own
 * `create`, so the indexes are the real ones. Figures are for this machine, not targets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Task } from '../src/core/task.js';
import { allGuildsUsageReport, guildUsageReport } from '../src/core/usage-report.js';
import { svgToPng } from '../src/discord/usage-chart-png.js';
import { usageChartSvg } from '../src/discord/usage-chart-svg.js';
import { createKeyvTaskStore } from '../src/store/keyv-task-store.js';
import { openStoreBackend } from '../src/store/open-store.js';
import { deleteRedisKeys, isRedisAvailable, REDIS_URL, uniqueRedisPrefix } from '../test/store/redis-helpers.js';

const TASKS = 10_000;
const GUILDS = 10;
const DAYS_SPREAD = 90;
const NOW = new Date('2026-12-02T18:00:00.000Z');
const clock = { now: () => NOW };
const MODELS = ['sora-2', 'veo31-fast', 'kling-v2-6', 'sora-2-pro'];

function task(index: number): Task {
  // Spread over 90 days and 10 guilds; guild g0 holds a tenth of the ledger (1 000 tasks).
  const createdAt = new Date(NOW.getTime() - (index % DAYS_SPREAD) * 86_400_000 - (index % 3600) * 1000).toISOString();
  return {
    schemaVersion: 1,
    id: `b${index}`,
    guildId: `g${index % GUILDS}`,
    channelId: 'c1',
    userId: `u${index % 37}`,
    request: { prompt: 'a bench cat', model: MODELS[index % MODELS.length]!, duration: 10 },
    state: 'delivered',
    ...(index % 11 === 0
      ? { outcome: { kind: 'failed', code: 'api_error', message: 'x' } }
      : { outcome: { kind: 'succeeded', videoUrl: 'https://v' } }),
    providerTaskId: `p${index}`,
    uploadLimitBytes: 10 * 1024 * 1024,
    submitAttempts: 1,
    createdAt,
    updatedAt: createdAt,
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

async function measure(label: string, storeUrl: string, options: Parameters<typeof openStoreBackend>[1] = {}): Promise<void> {
  const backend = openStoreBackend(storeUrl, options);
  const store = createKeyvTaskStore(backend, { clock });
  try {
    const seed = await timed(async () => {
      for (let i = 0; i < TASKS; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => store.create(task(i + j))));
    });
    const week = await timed(() => guildUsageReport(store, clock, 'g0', 7));
    const quarter = await timed(() => guildUsageReport(store, clock, 'g0', 90));
    const all = await timed(() => allGuildsUsageReport(store, clock, 90));
    const chart = await timed(() => svgToPng(usageChartSvg({ perDay: quarter.value.perDay, budgetCredits: 20 }).svg));
    console.log(
      `${label.padEnd(7)} seed ${TASKS} in ${(seed.ms / 1000).toFixed(1)} s · g0 7 days (${week.value.total.videos + week.value.notCounted} tasks) ${week.ms.toFixed(0)} ms · ` +
        `g0 90 days (${quarter.value.total.videos + quarter.value.notCounted} tasks) ${quarter.ms.toFixed(0)} ms · ` +
        `every guild 90 days (${all.value.total.videos + all.value.notCounted} tasks) ${all.ms.toFixed(0)} ms · chart PNG ${chart.ms.toFixed(0)} ms (${chart.value.length} bytes)`,
    );
  } finally {
    await store.close();
    await backend.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sora-usage-bench-'));
try {
  await measure('memory', 'memory://');
  await measure('sqlite', `sqlite://${join(dir, 'bench.sqlite')}`);
  if (await isRedisAvailable()) {
    const prefix = uniqueRedisPrefix('usage-bench');
    try {
      await measure('redis', REDIS_URL, { redis: { keyPrefix: prefix } });
    } finally {
      await deleteRedisKeys(prefix);
    }
  } else {
    console.log(`redis   skipped: nothing answers at ${REDIS_URL}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
