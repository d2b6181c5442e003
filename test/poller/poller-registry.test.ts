import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { systemClock, systemTimers } from '../../src/core/ports.js';
import type { Task } from '../../src/core/task.js';
import { PollerRegistry } from '../../src/poller/poller-registry.js';
import { StatusBatcher } from '../../src/poller/status-batcher.js';
import { TEST_SCHEDULE } from '../fakes/core-harness.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

function setup() {
  const store = new MemoryTaskStore();
  const api = new FakeVideoApi();
  const batcher = new StatusBatcher({ api, timers: systemTimers, maxBatchSize: 50, gatherMs: 100, minRequestIntervalMs: 20 });
  const outcomes: Task[] = [];
  const registry = new PollerRegistry({
    store,
    batcher,
    clock: systemClock,
    timers: systemTimers,
    logger: new SilentLogger(),
    schedule: TEST_SCHEDULE,
    events: { onOutcome: (task) => outcomes.push(task) },
  });
  const submit = async (guildId: string, providerTaskId: string) => {
    const task = makeTask({ guildId, state: 'submitted', providerTaskId, submittedAt: new Date().toISOString() });
    await store.create(task);
    return task;
  };
  return { store, api, batcher, registry, outcomes, submit };
}

describe('PollerRegistry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-01T12:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('applies a finish heard in another guild’s request at once, and reports it exactly once', async () => {
    const h = setup();
    const often = await h.submit('guild-often', 'often');
    const seldom = await h.submit('guild-seldom', 'seldom');
    h.registry.follow(often, 5_000);
    // Its own first check is a minute away.
    h.registry.follow(seldom, 60_000);
    h.api.setStatus('often', { kind: 'pending' });
    h.api.setStatus('seldom', { kind: 'succeeded', videoUrl: 'https://videos.example/seldom.mp4' });

    await vi.advanceTimersByTimeAsync(5_000 + 200);
    expect(h.api.batchCalls).toEqual([['often', 'seldom']]);
    expect(h.outcomes.map((t) => t.providerTaskId)).toEqual(['seldom']);
    expect((await h.store.get(seldom.id))?.state).toBe('succeeded');

    // Its own check time passes: nothing is asked or reported again for it.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.outcomes.map((t) => t.providerTaskId)).toEqual(['seldom']);
    expect(h.api.batchCalls.slice(1).every((call) => !call.includes('seldom'))).toBe(true);
    h.registry.stop();
  });

  it('runs one poller per guild and counts the followed tasks', async () => {
    const h = setup();
    h.registry.follow(await h.submit('g1', 'p1'));
    h.registry.follow(await h.submit('g1', 'p2'));
    h.registry.follow(await h.submit('g2', 'p3'));
    expect(h.registry.activeGuildCount()).toBe(2);
    expect(h.registry.followedCount()).toBe(3);
  });

  it('merges the status requests of several guild pollers into one request', async () => {
    const h = setup();
    for (const [guildId, id] of [
      ['g1', 'p1'],
      ['g2', 'p2'],
      ['g3', 'p3'],
      ['g1', 'p4'],
    ] as const) {
      h.registry.follow(await h.submit(guildId, id));
    }
    h.api.setStatus('p2', { kind: 'succeeded', videoUrl: 'https://videos.example/p2.mp4' });
    await vi.advanceTimersByTimeAsync(TEST_SCHEDULE.pollIntervalMs + 100);
    expect(h.api.batchCalls).toHaveLength(1);
    expect([...h.api.batchCalls[0]!].sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    // The answer reached the right guild's poller.
    expect(h.outcomes.map((t) => [t.guildId, t.providerTaskId])).toEqual([['g2', 'p2']]);
    expect(h.registry.activeGuildCount()).toBe(2);
  });

  it('drops a guild’s poller when it has nothing left and starts a new one on the next follow', async () => {
    const h = setup();
    h.api.setStatus('p1', { kind: 'succeeded', videoUrl: 'https://videos.example/p1.mp4' });
    h.registry.follow(await h.submit('g1', 'p1'), 0);
    await vi.advanceTimersByTimeAsync(200);
    expect(h.outcomes).toHaveLength(1);
    expect(h.registry.activeGuildCount()).toBe(0);

    const calls = h.api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.api.batchCalls).toHaveLength(calls);

    h.api.setStatus('p2', { kind: 'succeeded', videoUrl: 'https://videos.example/p2.mp4' });
    h.registry.follow(await h.submit('g1', 'p2'));
    expect(h.registry.activeGuildCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(TEST_SCHEDULE.pollIntervalMs + 100);
    expect(h.api.batchCalls.at(-1)).toEqual(['p2']);
    expect(h.outcomes.map((t) => t.providerTaskId)).toEqual(['p1', 'p2']);
    expect(h.registry.activeGuildCount()).toBe(0);
  });

  it('stop() stops every poller and ignores later follows', async () => {
    const h = setup();
    h.registry.follow(await h.submit('g1', 'p1'));
    h.registry.follow(await h.submit('g2', 'p2'));
    h.registry.stop();
    h.registry.follow(await h.submit('g3', 'p3'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.api.batchCalls).toHaveLength(0);
    expect(h.registry.activeGuildCount()).toBe(0);
  });
});
