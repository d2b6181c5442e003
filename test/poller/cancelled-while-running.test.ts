import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock, systemTimers } from '../../src/core/ports.js';
import { transition, type Task } from '../../src/core/task.js';
import { GuildPoller, type PollSchedule } from '../../src/poller/guild-poller.js';
import { StatusBatcher } from '../../src/poller/status-batcher.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

const START = new Date('2025-03-01T12:00:00.000Z');
const MINUTE = 60_000;
const schedule: PollSchedule = {
  pollIntervalMs: 5_000,
  slowPollIntervalMs: 10 * MINUTE,
  maxBackoffMs: 2 * MINUTE,
  pollGiveUpMs: 30 * MINUTE,
  lateResultWindowMs: 24 * 60 * MINUTE,
};
/** The batcher's flush is one more timer hop. */
const HOP = 1;

/** A poller wired as the composition root wires it: outcomes free the slot, "still running" edits the reply. */
function setup() {
  const store = new MemoryTaskStore();
  const api = new FakeVideoApi();
  const batcher = new StatusBatcher({ api, timers: systemTimers, maxBatchSize: 50, gatherMs: 0, minRequestIntervalMs: 0 });
  const outcomes: Task[] = [];
  const stillRunning: string[] = [];
  const poller = new GuildPoller('guild-1', {
    store,
    batcher,
    clock: systemClock,
    timers: systemTimers,
    logger: new SilentLogger(),
    schedule,
    events: { onOutcome: (task) => outcomes.push(task), onStillRunning: (task) => stillRunning.push(task.id) },
    onEmpty: () => undefined,
  });
  return { store, api, poller, outcomes, stillRunning };
}

/** What `GenerationService.cancel` writes for a running task: the poller keeps its own older copy. */
const stopFollowing = (store: MemoryTaskStore, task: Task) =>
  store.update(task.id, (t) => transition(t, 'cancelled', new Date(), { finishedAt: new Date().toISOString() }));

describe('GuildPoller: a task the member stopped following while it ran', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is still asked about (it holds a provider slot) but no longer reported as running', async () => {
    const h = setup();
    const task = makeTask({ state: 'submitted', providerTaskId: 'p1', submittedAt: new Date().toISOString() });
    await h.store.create(task);
    h.poller.follow(task);
    await vi.advanceTimersByTimeAsync(schedule.pollIntervalMs + HOP);
    expect(h.stillRunning).toEqual([task.id]);

    await stopFollowing(h.store, task);
    const callsAtCancel = h.api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(3 * schedule.pollIntervalMs);

    expect(h.api.batchCalls.length - callsAtCancel).toBe(3);
    // "Still running" would edit the member's reply back to "generating" with a Stop following button.
    expect(h.stillRunning).toEqual([task.id]);
    expect(h.outcomes).toHaveLength(0);
    expect(h.poller.size).toBe(1);
  });

  it('reports the cancelled task once when the provider finishes it (slot freed), and stays cancelled', async () => {
    const h = setup();
    const task = makeTask({ state: 'submitted', providerTaskId: 'p1', submittedAt: new Date().toISOString() });
    await h.store.create(task);
    h.poller.follow(task);
    await stopFollowing(h.store, task);
    await vi.advanceTimersByTimeAsync(2 * schedule.pollIntervalMs);
    expect(h.outcomes).toHaveLength(0);

    h.api.setStatus('p1', { kind: 'succeeded', videoUrl: 'https://videos.example/p1.mp4' });
    await vi.advanceTimersByTimeAsync(schedule.pollIntervalMs + HOP);
    expect(h.outcomes.map((t) => [t.id, t.state])).toEqual([[task.id, 'cancelled']]);
    expect(await h.store.get(task.id)).toMatchObject({ state: 'cancelled' });
    expect((await h.store.get(task.id))?.outcome).toBeUndefined();
    expect(h.poller.size).toBe(0);

    const calls = h.api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(h.api.batchCalls).toHaveLength(calls);
    expect(h.outcomes).toHaveLength(1);
  });

  it('reports it once at the give-up time when the provider never answers, and then stops asking', async () => {
    const h = setup();
    const task = makeTask({ state: 'submitted', providerTaskId: 'p1', submittedAt: new Date().toISOString() });
    await h.store.create(task);
    h.poller.follow(task);
    await stopFollowing(h.store, task);

    await vi.advanceTimersByTimeAsync(30 * MINUTE - 1);
    expect(h.outcomes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(schedule.pollIntervalMs + 1_000);
    expect(h.outcomes.map((t) => t.state)).toEqual(['cancelled']);
    expect(h.poller.size).toBe(0);

    const calls = h.api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(24 * 60 * MINUTE);
    expect(h.api.batchCalls).toHaveLength(calls);
    expect(h.outcomes).toHaveLength(1);
  });
});
