import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { systemClock, systemTimers } from '../../src/core/ports.js';
import { transition, type Task } from '../../src/core/task.js';
import { GuildPoller, serviceIdOfTask, type PollSchedule } from '../../src/poller/guild-poller.js';
import { GenerationTimeEstimator, cadenceKey } from '../../src/poller/poll-cadence.js';
import { PollerRegistry } from '../../src/poller/poller-registry.js';
import { StatusBatcher, StatusBatchers } from '../../src/poller/status-batcher.js';
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

function setup() {
  const store = new MemoryTaskStore();
  const api = new FakeVideoApi();
  const batcher = new StatusBatcher({ api, timers: systemTimers, maxBatchSize: 50, gatherMs: 0, minRequestIntervalMs: 0 });
  const outcomes: Task[] = [];
  const stillRunning: string[] = [];
  const emptied: string[] = [];
  const poller = new GuildPoller('guild-1', {
    store,
    batcher,
    clock: systemClock,
    timers: systemTimers,
    logger: new SilentLogger(),
    schedule,
    events: { onOutcome: (task) => outcomes.push(task), onStillRunning: (task) => stillRunning.push(task.id) },
    onEmpty: (guildId) => emptied.push(guildId),
  });
  const submit = async (providerTaskId: string, overrides: Partial<Task> = {}) => {
    const task = makeTask({ state: 'submitted', providerTaskId, submittedAt: new Date().toISOString(), ...overrides });
    await store.create(task);
    return task;
  };
  return { store, api, poller, outcomes, stillRunning, emptied, submit };
}

/** The batcher's flush is one more timer hop (Node clamps a 0 ms timeout to 1 ms). */
const HOP = 1;

describe('GuildPoller', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits while pending, then reports the success exactly once and stops when empty', async () => {
    const h = setup();
    const task = await h.submit('p1');
    h.poller.follow(task);

    await vi.advanceTimersByTimeAsync(4_999);
    expect(h.api.batchCalls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1 + HOP);
    expect(h.api.batchCalls).toEqual([['p1']]);
    expect(h.outcomes).toHaveLength(0);
    expect(h.stillRunning).toEqual([task.id]);

    h.api.setStatus('p1', { kind: 'succeeded', videoUrl: 'https://videos.example/p1.mp4' });
    await vi.advanceTimersByTimeAsync(5_000 + HOP);
    expect(h.outcomes).toHaveLength(1);
    expect(h.outcomes[0]).toMatchObject({
      id: task.id,
      state: 'succeeded',
      outcome: { kind: 'succeeded', videoUrl: 'https://videos.example/p1.mp4' },
    });
    expect((await h.store.get(task.id))?.state).toBe('succeeded');
    expect(h.poller.size).toBe(0);
    expect(h.emptied).toEqual(['guild-1']);

    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(h.api.batchCalls).toHaveLength(2);
    expect(h.outcomes).toHaveLength(1);
  });

  it('reports a failed generation with the API message', async () => {
    const h = setup();
    h.api.setStatus('p1', { kind: 'failed', code: 'content_policy', message: 'The video violates the content policy.' });
    const task = await h.submit('p1');
    h.poller.follow(task, 0);
    await vi.advanceTimersByTimeAsync(HOP);
    expect(h.outcomes.map((t) => t.outcome)).toEqual([
      { kind: 'failed', code: 'content_policy', message: 'The video violates the content policy.' },
    ]);
    expect((await h.store.get(task.id))?.state).toBe('failed');
  });

  it('checks every due task of the guild in one request', async () => {
    const h = setup();
    const tasks = [await h.submit('p1'), await h.submit('p2'), await h.submit('p3')];
    for (const task of tasks) h.poller.follow(task, 0);
    await vi.advanceTimersByTimeAsync(HOP);
    expect(h.api.batchCalls).toEqual([['p1', 'p2', 'p3']]);
  });

  it('backs off after a failed status request, honouring retryAfterMs, then succeeds', async () => {
    const h = setup();
    h.api.scriptBatchErrors({ kind: 'error', code: 'too_many_requests', message: 'slow down', retryable: true, retryAfterMs: 30_000 });
    h.api.setStatus('p1', { kind: 'succeeded', videoUrl: 'https://videos.example/p1.mp4' });
    const task = await h.submit('p1');
    h.poller.follow(task, 0);
    await vi.advanceTimersByTimeAsync(HOP);
    expect(h.api.batchCalls).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(29_999);
    expect(h.api.batchCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1 + HOP);
    expect(h.api.batchCalls).toHaveLength(2);
    expect(h.outcomes.map((t) => t.state)).toEqual(['succeeded']);
  });

  it('backs off exponentially without retryAfterMs and resets after a good answer', async () => {
    const h = setup();
    const error = { kind: 'error', code: 'api_error', message: '502', retryable: true } as const;
    h.api.scriptBatchErrors(error, error);
    const task = await h.submit('p1');
    h.poller.follow(task, 0);
    const callTimes: number[] = [];
    for (let i = 0; i < 60; i++) {
      const before = h.api.batchCalls.length;
      await vi.advanceTimersByTimeAsync(1_000);
      if (h.api.batchCalls.length > before) callTimes.push(Date.now() - START.getTime());
    }
    // 0 (fails) → +10 s (2×interval, fails) → +20 s (4×interval, ok) → +5 s …
    expect(callTimes.slice(0, 4)).toEqual([1_000, 11_000, 31_000, 36_000]);
  });

  it('gives up after pollGiveUpMs, keeps a slow check, and still reports a late success', async () => {
    const h = setup();
    const task = await h.submit('p1');
    h.poller.follow(task);

    await vi.advanceTimersByTimeAsync(30 * MINUTE - 1);
    expect(h.outcomes).toHaveLength(0);
    // Noticed at the first check at or after the give-up time.
    await vi.advanceTimersByTimeAsync(schedule.pollIntervalMs + 1_000);
    expect(h.outcomes.map((t) => [t.state, t.outcome?.kind])).toEqual([['timed_out', 'timed_out']]);
    expect((await h.store.get(task.id))?.state).toBe('timed_out');

    // The slow check: one request per slowPollIntervalMs.
    const callsAtGiveUp = h.api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(30 * MINUTE);
    expect(h.api.batchCalls.length - callsAtGiveUp).toBe(3);

    h.api.setStatus('p1', { kind: 'succeeded', videoUrl: 'https://videos.example/late.mp4' });
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(h.outcomes.map((t) => t.state)).toEqual(['timed_out', 'succeeded']);
    expect((await h.store.get(task.id))?.outcome).toEqual({ kind: 'succeeded', videoUrl: 'https://videos.example/late.mp4' });
    expect(h.poller.size).toBe(0);
  });

  it('waits for a timeout notice being posted before recording the late result', async () => {
    const h = setup();
    const task = await h.submit('p1');
    h.poller.follow(task);
    await vi.advanceTimersByTimeAsync(30 * MINUTE + schedule.pollIntervalMs + 1_000);
    expect(h.outcomes).toHaveLength(1);
    // Delivery is posting the notice.
    await h.store.update(task.id, (t) => transition(t, 'posting', new Date()));
    h.api.setStatus('p1', { kind: 'succeeded', videoUrl: 'https://videos.example/late.mp4' });
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(h.outcomes).toHaveLength(1);
    expect((await h.store.get(task.id))?.state).toBe('posting');

    await h.store.update(task.id, (t) => transition(t, 'timed_out', new Date(), { timeoutNoticePosted: true }));
    await vi.advanceTimersByTimeAsync(schedule.pollIntervalMs + HOP);
    expect(h.outcomes.map((t) => t.state)).toEqual(['timed_out', 'succeeded']);
    expect(await h.store.get(task.id)).toMatchObject({ state: 'succeeded', timeoutNoticePosted: true });
  });

  it('expires a task when the late-result window closes and stops following it', async () => {
    const h = setup();
    const task = await h.submit('p1');
    h.poller.follow(task);
    await vi.advanceTimersByTimeAsync(24 * 60 * MINUTE + 10 * MINUTE);
    expect((await h.store.get(task.id))?.state).toBe('expired');
    expect(h.outcomes.map((t) => t.state)).toEqual(['timed_out']);
    expect(h.poller.size).toBe(0);
    const calls = h.api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(24 * 60 * MINUTE);
    expect(h.api.batchCalls).toHaveLength(calls);
  });

  it('stops following a task another path already finished', async () => {
    const h = setup();
    const task = await h.submit('p1');
    h.poller.follow(task, 0);
    await h.store.update(task.id, (t) => transition(t, 'failed', new Date()));
    h.api.setStatus('p1', { kind: 'succeeded', videoUrl: 'https://videos.example/p1.mp4' });
    await vi.advanceTimersByTimeAsync(HOP);
    expect(h.outcomes).toHaveLength(0);
    expect(h.poller.size).toBe(0);
    expect((await h.store.get(task.id))?.state).toBe('failed');
  });
});

/**
 * A registry with the adaptive cadence (5 s base interval) over one StatusBatcher, recording when
 * each batch request was sent; `budgetWindowMs` 5 000 gives one followed task two requests per 5 s.
 */
function cadenceRegistry(options: { budgetWindowMs?: number; onOutcome?: (task: Task) => void } = {}) {
  const store = new MemoryTaskStore();
  const api = new FakeVideoApi();
  const sentAtMs: number[] = [];
  const retrieve = api.retrieveBatch.bind(api);
  api.retrieveBatch = (service, ids) => {
    sentAtMs.push(Date.now());
    return retrieve(service, ids);
  };
  const batcher = new StatusBatcher({
    api,
    timers: systemTimers,
    maxBatchSize: 50,
    gatherMs: 0,
    minRequestIntervalMs: 0,
    ...(options.budgetWindowMs === undefined ? {} : { budgetWindowMs: options.budgetWindowMs }),
  });
  const estimator = new GenerationTimeEstimator();
  const poller = new PollerRegistry({
    store,
    batcher,
    clock: systemClock,
    timers: systemTimers,
    logger: new SilentLogger(),
    schedule: { ...schedule, cadence: { baseIntervalMs: 5_000, earlyFactor: 3, maxIntervalMs: 30_000 } },
    events: { onOutcome: options.onOutcome ?? (() => undefined) },
    estimator,
  });
  return { store, api, sentAtMs, estimator, poller };
}

describe('GuildPoller with an adaptive cadence', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('learns generation times and then checks seldom early and at the base interval near the finish', async () => {
    // The registry starts a new guild poller whenever the previous one emptied.
    const { store, api, estimator, poller } = cadenceRegistry();
    const runOne = async (providerTaskId: string, generationMs: number) => {
      const task = makeTask({ state: 'submitted', providerTaskId, submittedAt: new Date().toISOString() });
      await store.create(task);
      poller.follow(task);
      await vi.advanceTimersByTimeAsync(generationMs);
      api.setStatus(providerTaskId, { kind: 'succeeded', videoUrl: `https://videos.example/${providerTaskId}.mp4` });
      await vi.advanceTimersByTimeAsync(30_000);
    };
    // Three finished generations of about a minute teach the poller what to expect.
    for (const id of ['a', 'b', 'c']) await runOne(id, 60_000);
    // Each finish was seen between the last pending check and the next: the estimate is the middle.
    const learned = estimator.expectedMs(cadenceKey(makeTask().request))!;
    expect(learned).toBeGreaterThanOrEqual(55_000);
    expect(learned).toBeLessThanOrEqual(62_500);

    const before = api.batchCalls.length;
    const task = makeTask({ state: 'submitted', providerTaskId: 'd', submittedAt: new Date().toISOString() });
    await store.create(task);
    poller.follow(task);
    await vi.advanceTimersByTimeAsync(40_000);
    // At a fixed 5 s cadence 40 s would take 8 checks; early in the generation only every ~15 s.
    const earlyChecks = api.batchCalls.length - before;
    expect(earlyChecks).toBeGreaterThanOrEqual(2);
    expect(earlyChecks).toBeLessThanOrEqual(3);
    const nearFinish = api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(20_000);
    // Around the expected finish (from 70 % of it) it is back at the base interval.
    expect(api.batchCalls.length - nearFinish).toBeGreaterThanOrEqual(3);
    poller.stop();
  });

  it('with a request budget, checks near the finish between beats and sees a steady generation finish at once', async () => {
    const seenAtMs = new Map<string, number>();
    const { store, api, sentAtMs, poller } = cadenceRegistry({
      budgetWindowMs: 5_000,
      onOutcome: (t) => void seenAtMs.set(t.providerTaskId!, Date.now()),
    });
    const runOne = async (providerTaskId: string, generationMs: number) => {
      const task = makeTask({ state: 'submitted', providerTaskId, submittedAt: new Date().toISOString() });
      await store.create(task);
      poller.follow(task);
      await vi.advanceTimersByTimeAsync(generationMs);
      api.setStatus(providerTaskId, { kind: 'succeeded', videoUrl: `https://videos.example/${providerTaskId}.mp4` });
      const finishedAtMs = Date.now();
      await vi.advanceTimersByTimeAsync(30_000);
      return seenAtMs.get(providerTaskId)! - finishedAtMs;
    };
    // 61 s: between two beats of 5 s.
    for (const id of ['a', 'b', 'c']) await runOne(id, 61_000);
    const lags: number[] = [];
    for (let i = 0; i < 30; i++) lags.push(await runOne(`later-${i}`, 61_000));
    // A beat-only poller sees it 4 s late every time (61 s, beats at 65 s); here sooner each time,
    // and once the finish time is learned within milliseconds, for good (the span is not forgotten
    // while its probes keep seeing the finish).
    for (const lag of lags) expect(lag).toBeLessThan(4_000);
    expect(lags.slice(-20).every((lag) => lag < 100)).toBe(true);
    // Never more than the budget in any 5 s window.
    for (let i = 2; i < sentAtMs.length; i++) expect(sentAtMs[i]! - sentAtMs[i - 2]!).toBeGreaterThanOrEqual(5_000);
    poller.stop();
  });

  it('with a request budget, checks a generation that outlived its steady model’s span at the dense step again', async () => {
    const { store, api, sentAtMs, estimator, poller } = cadenceRegistry({ budgetWindowMs: 5_000 });
    const follow = async (providerTaskId: string) => {
      const task = makeTask({ state: 'submitted', providerTaskId, submittedAt: new Date().toISOString() });
      await store.create(task);
      poller.follow(task);
    };
    for (let i = 0; i < 12; i++) {
      await follow(`steady-${i}`);
      await vi.advanceTimersByTimeAsync(61_000);
      api.setStatus(`steady-${i}`, { kind: 'succeeded', videoUrl: `https://videos.example/${i}.mp4` });
      await vi.advanceTimersByTimeAsync(30_000);
    }
    const key = cadenceKey(makeTask().request);
    expect(estimator.steadySpan(key)).toBeDefined();
    // This one runs on well past the span: the budget's two requests per 5 s are its to use.
    await follow('slow');
    await vi.advanceTimersByTimeAsync(75_000);
    const from = sentAtMs.length;
    await vi.advanceTimersByTimeAsync(20_000);
    // Every 2.5 s (8 in 20 s), not only on the 5 s beats (4).
    expect(sentAtMs.length - from).toBeGreaterThanOrEqual(7);
    for (let i = 2; i < sentAtMs.length; i++) expect(sentAtMs[i]! - sentAtMs[i - 2]!).toBeGreaterThanOrEqual(5_000);
    poller.stop();
  });
});

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

describe('GuildPoller over several services', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function multiSetup(extra: { cadence?: PollSchedule['cadence']; estimator?: GenerationTimeEstimator } = {}) {
    const store = new MemoryTaskStore();
    const api = new FakeVideoApi();
    const batchers = new StatusBatchers({ api, timers: systemTimers, maxBatchSize: 50, gatherMs: 0, minRequestIntervalMs: 0 });
    const outcomes: Task[] = [];
    const poller = new GuildPoller('guild-1', {
      store,
      batcher: batchers,
      clock: systemClock,
      timers: systemTimers,
      logger: new SilentLogger(),
      schedule: { ...schedule, ...(extra.cadence ? { cadence: extra.cadence } : {}) },
      events: { onOutcome: (task) => outcomes.push(task) },
      ...(extra.estimator ? { estimator: extra.estimator } : {}),
      onEmpty: () => undefined,
    });
    const submit = async (providerTaskId: string, request: Task['request']) => {
      const task = makeTask({ state: 'submitted', providerTaskId, submittedAt: new Date().toISOString(), request });
      await store.create(task);
      return task;
    };
    return { store, api, batchers, poller, outcomes, submit };
  }

  it('asks each service’s tasks endpoint once for its own ids, old records on Sora', async () => {
    const h = multiSetup();
    const tasks = [
      await h.submit('v1', { prompt: 'p', model: 'veo31-fast' }),
      await h.submit('k1', { prompt: 'p', model: 'kling-v2-6', duration: 5 }),
      await h.submit('v2', { prompt: 'p', model: 'veo3' }),
      await h.submit('s1', { prompt: 'p', model: 'sora-2', duration: 10 }),
      // A stored record of a model the catalogue no longer has (before the catalogue there was only Sora).
      await h.submit('old', { prompt: 'p', model: 'sora-1-retired', duration: 10 }),
    ];
    for (const task of tasks) h.poller.follow(task, 0);
    h.api.setStatus('k1', { kind: 'succeeded', videoUrl: 'https://videos.example/k1.mp4' });
    await vi.advanceTimersByTimeAsync(HOP);

    expect(h.api.batchRequests.map((r) => [r.service, [...r.ids].sort()]).sort()).toEqual([
      ['kling', ['k1']],
      ['sora', ['old', 's1']],
      ['veo', ['v1', 'v2']],
    ]);
    expect(h.outcomes.map((t) => t.providerTaskId)).toEqual(['k1']);
    expect(serviceIdOfTask(tasks[4]!)).toBe('sora');
    expect(serviceIdOfTask(tasks[0]!)).toBe('veo');
  });

  it('backs off only the service whose status request failed', async () => {
    const h = multiSetup();
    const veoTask = await h.submit('v1', { prompt: 'p', model: 'veo31-fast' });
    const lumaTask = await h.submit('l1', { prompt: 'p', model: 'luma' });
    h.poller.follow(veoTask, 0);
    h.poller.follow(lumaTask, 0);
    // The first request of the pass fails; which one is first depends on grouping order (Veo's here).
    h.api.scriptBatchErrors({ kind: 'error', code: 'api_not_implemented', message: 'gone', retryable: false });
    await vi.advanceTimersByTimeAsync(HOP);
    expect(h.api.batchRequests.map((r) => r.service)).toEqual(['veo', 'luma']);

    // Luma keeps the base interval; Veo waits 2 × interval.
    const perService = () =>
      h.api.batchRequests.reduce<Record<string, number>>((n, r) => ({ ...n, [r.service]: (n[r.service] ?? 0) + 1 }), {});
    await vi.advanceTimersByTimeAsync(schedule.pollIntervalMs + HOP);
    expect(perService()).toEqual({ veo: 1, luma: 2 });
    await vi.advanceTimersByTimeAsync(schedule.pollIntervalMs + HOP);
    expect(perService()).toEqual({ veo: 2, luma: 3 });
  });

  it('seeds the cadence with the catalogue’s typical time when asked, before anything is learned', async () => {
    const cadence = { baseIntervalMs: 5_000, earlyFactor: 3, maxIntervalMs: 30_000 };
    const count = async (seedFromCatalogue: boolean) => {
      const h = multiSetup({ cadence: { ...cadence, seedFromCatalogue }, estimator: new GenerationTimeEstimator() });
      // veo31-fast: typically about 2 minutes.
      h.poller.follow(await h.submit('v1', { prompt: 'p', model: 'veo31-fast' }));
      await vi.advanceTimersByTimeAsync(60_000 + 2 * HOP);
      const calls = h.api.batchRequests.length;
      h.poller.stop();
      return calls;
    };
    // Without a seed: every 5 s. With it: every 15 s early in the expected two minutes.
    expect(await count(false)).toBe(12);
    expect(await count(true)).toBe(4);
  });
});
