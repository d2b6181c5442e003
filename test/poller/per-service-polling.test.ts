import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceId } from '../../src/core/models/catalogue.js';
import { systemClock, systemTimers } from '../../src/core/ports.js';
import type { Task } from '../../src/core/task.js';
import { PollerRegistry } from '../../src/poller/poller-registry.js';
import { StatusBatchers } from '../../src/poller/status-batcher.js';
import { createAceDataClient, type AceDataClient } from '../../src/sora/sora-client.js';
import { createAceDataVideoApi } from '../../src/sora/video-api.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';
import { LocalAceData } from '../sora/local-acedata.js';

function fixture(service: ServiceId, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${service}/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

const POLL_MS = 60;

let server: LocalAceData;
let client: AceDataClient;

beforeEach(async () => {
  server = await new LocalAceData().start();
  client = createAceDataClient({ baseUrl: server.url, apiToken: 'sk-poll-token', requestTimeoutMs: 5_000 });
});

afterEach(async () => {
  await client.close();
  await server.close();
});

function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('timed out waiting'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe('polling tasks of several services', () => {
  it('sends one request to each service’s tasks path per poll, and applies each answer', async () => {
    const veoDone = fixture('veo', 'tasks-response-succeeded.json');
    const klingDone = fixture('kling', 'tasks-response-succeeded.json');
    // Each tasks path knows only its own records (an id sent to the wrong service would stay pending).
    server.on('/veo/tasks', (request) => {
      const ids = (request.body as { ids: string[] }).ids;
      return { status: 200, body: { items: ids.includes(veoDone.id as string) ? [veoDone] : [], count: 1 } };
    });
    server.on('/kling/tasks', (request) => {
      const ids = (request.body as { ids: string[] }).ids;
      return { status: 200, body: { items: ids.includes(klingDone.id as string) ? [klingDone] : [], count: 1 } };
    });

    const store = new MemoryTaskStore();
    const outcomes: Task[] = [];
    const batchers = new StatusBatchers({
      api: createAceDataVideoApi(client),
      timers: systemTimers,
      maxBatchSize: 50,
      gatherMs: 10,
      minRequestIntervalMs: 20,
    });
    const registry = new PollerRegistry({
      store,
      batcher: batchers,
      clock: systemClock,
      timers: systemTimers,
      logger: new SilentLogger(),
      schedule: {
        pollIntervalMs: POLL_MS,
        slowPollIntervalMs: 60_000,
        maxBackoffMs: 60_000,
        pollGiveUpMs: 60_000,
        lateResultWindowMs: 60_000,
      },
      events: { onOutcome: (task) => outcomes.push(task) },
    });
    try {
      const submittedAt = new Date().toISOString();
      const tasks = [
        makeTask({
          guildId: 'g1',
          state: 'submitted',
          submittedAt,
          providerTaskId: veoDone.id as string,
          request: { prompt: 'p', model: 'veo31-fast' },
        }),
        makeTask({
          guildId: 'g2',
          state: 'submitted',
          submittedAt,
          providerTaskId: klingDone.id as string,
          request: { prompt: 'p', model: 'kling-v2-6', duration: 5 },
        }),
        makeTask({
          guildId: 'g1',
          state: 'submitted',
          submittedAt,
          providerTaskId: 'kling-still-running',
          request: { prompt: 'p', model: 'kling-v3', duration: 7 },
        }),
      ];
      for (const task of tasks) await store.create(task);
      // Followed together, so they share the first poll beat.
      for (const task of tasks) registry.follow(task);

      await until(() => outcomes.length === 2);

      const firstPoll = server.requests.slice(0, 2).map((r) => [r.path, [...(r.body as { ids: string[] }).ids].sort()]);
      expect(firstPoll.sort()).toEqual([
        ['/kling/tasks', [klingDone.id, 'kling-still-running'].sort()],
        ['/veo/tasks', [veoDone.id]],
      ]);
      expect(server.requests.every((r) => (r.body as { action: string }).action === 'retrieve_batch')).toBe(true);
      expect(outcomes.map((t) => [t.request.model, t.outcome?.kind]).sort()).toEqual([
        ['kling-v2-6', 'succeeded'],
        ['veo31-fast', 'succeeded'],
      ]);
      expect(batchers.services().sort()).toEqual(['kling', 'veo']);
      // The running Kling task is still followed, on Kling's path only.
      const before = server.requests.length;
      await until(() => server.requests.length > before);
      expect(server.requests.slice(before).map((r) => r.path)).toEqual(['/kling/tasks']);
    } finally {
      registry.stop();
    }
  });
});
