import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { systemTimers } from '../../src/core/ports.js';
import { StatusBatcher, StatusBatchers } from '../../src/poller/status-batcher.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';

function setup(options: { gatherMs?: number; minRequestIntervalMs?: number; budgetWindowMs?: number } = {}) {
  const api = new FakeVideoApi();
  const batcher = new StatusBatcher({
    api,
    timers: systemTimers,
    maxBatchSize: 50,
    gatherMs: options.gatherMs ?? 100,
    minRequestIntervalMs: options.minRequestIntervalMs ?? 20,
    ...(options.budgetWindowMs === undefined ? {} : { budgetWindowMs: options.budgetWindowMs }),
  });
  return { api, batcher };
}

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

describe('StatusBatcher', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-01T12:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('merges the ids of several callers into one request and maps each result back', async () => {
    const { api, batcher } = setup();
    api.setStatus('a', { kind: 'succeeded', videoUrl: 'https://v/a.mp4' });
    api.setStatus('b', { kind: 'pending' });
    api.setStatus('c', { kind: 'failed', code: 'bad', message: 'no' });
    const first = batcher.fetch(['a', 'b']);
    await vi.advanceTimersByTimeAsync(50);
    const second = batcher.fetch(['c', 'a']);
    expect(api.batchCalls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(50);

    expect(api.batchCalls).toEqual([['a', 'b', 'c']]);
    expect(batcher.requestsSent).toBe(1);
    const mine = await first;
    const theirs = await second;
    expect(mine).toBeInstanceOf(Map);
    expect(theirs).toBeInstanceOf(Map);
    expect([...(mine as Map<string, unknown>).keys()].sort()).toEqual(['a', 'b']);
    expect((theirs as Map<string, unknown>).get('c')).toEqual({ kind: 'failed', code: 'bad', message: 'no' });
    expect((theirs as Map<string, unknown>).get('a')).toEqual({ kind: 'succeeded', videoUrl: 'https://v/a.mp4' });
    expect((theirs as Map<string, unknown>).has('b')).toBe(false);
  });

  it('leaves ids the provider did not return out of the map', async () => {
    const { api, batcher } = setup();
    api.setStatus('known', { kind: 'pending' });
    const result = batcher.fetch(['known', 'unknown']);
    await vi.advanceTimersByTimeAsync(100);
    const map = (await result) as Map<string, unknown>;
    expect([...map.keys()]).toEqual(['known']);
  });

  it('splits more than 50 ids into requests of at most 50, spaced apart, covering each id once', async () => {
    const { api, batcher } = setup({ minRequestIntervalMs: 20 });
    const all = [...ids('g1', 70), ...ids('g2', 50)];
    for (const id of all) api.setStatus(id, { kind: 'succeeded', videoUrl: `https://v/${id}.mp4` });
    const results = [batcher.fetch(all.slice(0, 70)), batcher.fetch(all.slice(70))];
    // 120 ids ≥ 50: sent without waiting for the gather window.
    await vi.advanceTimersByTimeAsync(0);
    expect(api.batchCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(40);

    expect(api.batchCalls.map((c) => c.length)).toEqual([50, 50, 20]);
    expect(api.batchCalls.flat().sort()).toEqual([...all].sort());
    const [g1, g2] = (await Promise.all(results)) as Map<string, unknown>[];
    expect(g1?.size).toBe(70);
    expect(g2?.size).toBe(50);
    expect(g2?.get('g2-49')).toEqual({ kind: 'succeeded', videoUrl: 'https://v/g2-49.mp4' });
  });

  it('gives a failed request’s error only to the callers whose ids were in it', async () => {
    const { api, batcher } = setup();
    api.scriptBatchErrors({ kind: 'error', code: 'too_many_requests', message: 'slow down', retryable: true, retryAfterMs: 2_000 });
    const inFirstChunk = batcher.fetch(ids('x', 50));
    const inSecondChunk = batcher.fetch(['y']);
    await vi.advanceTimersByTimeAsync(100);
    await expect(inFirstChunk).resolves.toMatchObject({ kind: 'error', code: 'too_many_requests', retryAfterMs: 2_000 });
    await expect(inSecondChunk).resolves.toBeInstanceOf(Map);
  });

  it('turns a thrown request into a retryable error', async () => {
    const { api, batcher } = setup();
    api.scriptBatchErrors(new Error('ECONNRESET'));
    const result = batcher.fetch(['a']);
    await vi.advanceTimersByTimeAsync(100);
    await expect(result).resolves.toMatchObject({ kind: 'error', retryable: true });
  });

  it('sends a fetch that arrives after the flush in a request of its own', async () => {
    const { api, batcher } = setup();
    const first = batcher.fetch(['a']);
    await vi.advanceTimersByTimeAsync(100);
    await first;
    const second = batcher.fetch(['b']);
    await vi.advanceTimersByTimeAsync(100);
    await second;
    expect(api.batchCalls).toEqual([['a'], ['b']]);
  });
});

describe('StatusBatcher request budget', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-01T12:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('allows ceil(followed / 50) + 1 requests per window', () => {
    const { batcher } = setup({ budgetWindowMs: 1_000 });
    expect(batcher.requestsPerWindow()).toBe(1);
    for (const id of ids('t', 5)) batcher.track(id);
    expect(batcher.requestsPerWindow()).toBe(2);
    for (const id of ids('u', 50)) batcher.track(id);
    expect(batcher.requestsPerWindow()).toBe(3);
    for (const id of ids('u', 50)) batcher.untrack(id);
    expect(batcher.requestsPerWindow()).toBe(2);
    expect(setup().batcher.requestsPerWindow()).toBe(Number.POSITIVE_INFINITY);
  });

  it('asked more often than the budget allows, sends no more and merges the waiting ids', async () => {
    const { api, batcher } = setup({ gatherMs: 0, minRequestIntervalMs: 0, budgetWindowMs: 1_000 });
    for (const id of ids('t', 5)) batcher.track(id);
    // 2 requests per 1 s window; a caller asks every 100 ms for 3 s.
    const results: Promise<unknown>[] = [];
    for (let step = 0; step < 30; step++) {
      results.push(batcher.fetch([`t-${step % 5}`]));
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(results);
    const sentAt = api.batchCalls.length;
    // 3 s of asking plus the last window: at most 2 per started second.
    expect(sentAt).toBeGreaterThanOrEqual(6);
    expect(sentAt).toBeLessThanOrEqual(8);
    // Every caller got an answer; the later requests carry several callers' ids.
    expect(api.batchCalls.flat().length).toBeGreaterThan(api.batchCalls.length);
  });

  it('never sends more than the budget in any window', async () => {
    const { api, batcher } = setup({ gatherMs: 0, minRequestIntervalMs: 0, budgetWindowMs: 1_000 });
    batcher.track('a');
    const startedAt: number[] = [];
    const original = api.retrieveBatch.bind(api);
    api.retrieveBatch = (service, chunk) => {
      startedAt.push(Date.now());
      return original(service, chunk);
    };
    const results: Promise<unknown>[] = [];
    for (let step = 0; step < 40; step++) {
      results.push(batcher.fetch(['a']));
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(results);
    for (let i = 2; i < startedAt.length; i++) expect(startedAt[i]! - startedAt[i - 2]!).toBeGreaterThanOrEqual(1_000);
    expect(startedAt.length).toBeGreaterThanOrEqual(4);
  });

  it('sends a full sweep of several requests at once within the budget', async () => {
    const { api, batcher } = setup({ gatherMs: 0, minRequestIntervalMs: 0, budgetWindowMs: 1_000 });
    const all = ids('s', 120);
    for (const id of all) batcher.track(id);
    const result = batcher.fetch(all);
    await vi.advanceTimersByTimeAsync(0);
    expect(api.batchCalls.map((c) => c.length)).toEqual([50, 50, 20]);
    expect(((await result) as Map<string, unknown>).size).toBe(0);
  });
});

describe('StatusBatchers (one batcher per tasks endpoint)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-01T12:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function pool(minRequestIntervalMs = 20) {
    const api = new FakeVideoApi();
    const batchers = new StatusBatchers({ api, timers: systemTimers, maxBatchSize: 50, gatherMs: 100, minRequestIntervalMs });
    return { api, batchers };
  }

  it('creates a service’s batcher on first use, once, and asks that service’s endpoint', async () => {
    const { api, batchers } = pool();
    expect(batchers.services()).toEqual([]);
    const veo = batchers.forService('veo');
    expect(batchers.forService('veo')).toBe(veo);
    expect(veo.service).toBe('veo');
    const kling = batchers.forService('kling');
    expect(batchers.services()).toEqual(['veo', 'kling']);

    const results = [veo.fetch(['v1', 'v2']), kling.fetch(['k1']), veo.fetch(['v3'])];
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(results);
    // Ids of one service are merged; services are never mixed in one request.
    expect(api.batchRequests).toEqual([
      { service: 'veo', ids: ['v1', 'v2', 'v3'] },
      { service: 'kling', ids: ['k1'] },
    ]);
    expect(batchers.requestsSent).toBe(2);
  });

  it('paces each endpoint on its own', async () => {
    const { api, batchers } = pool(1_000);
    const all = ids('v', 60);
    const pending = [batchers.forService('veo').fetch(all), batchers.forService('luma').fetch(['l1'])];
    await vi.advanceTimersByTimeAsync(100);
    // Veo's first 50 and Luma's request go out at once; Veo's second chunk waits for its own interval.
    expect(api.batchRequests.map((r) => [r.service, r.ids.length])).toEqual([
      ['veo', 50],
      ['luma', 1],
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(api.batchRequests.map((r) => [r.service, r.ids.length])).toEqual([
      ['veo', 50],
      ['luma', 1],
      ['veo', 10],
    ]);
    await Promise.all(pending);
  });

  it('a lone StatusBatcher serves Sora by default and makes its siblings for other services', async () => {
    const { api, batcher } = setup();
    expect(batcher.service).toBe('sora');
    expect(batcher.forService('sora')).toBe(batcher);
    const seedance = batcher.forService('seedance');
    expect(seedance).not.toBe(batcher);
    expect(batcher.forService('seedance')).toBe(seedance);
    expect(seedance.forService('sora')).toBe(batcher);

    const results = [batcher.fetch(['s1']), seedance.fetch(['d1'])];
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(results);
    expect(api.batchRequests).toEqual([
      { service: 'sora', ids: ['s1'] },
      { service: 'seedance', ids: ['d1'] },
    ]);
  });
});

describe('StatusBatcher: followed tasks ride along', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-01T12:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fills a request’s room with other listening tasks and tells each listener, without adding a request', async () => {
    const { api, batcher } = setup({ gatherMs: 0, minRequestIntervalMs: 0, budgetWindowMs: 1_000 });
    const heard = new Map<string, unknown>();
    batcher.track('asked', () => heard.set('asked', 'should not be told'));
    batcher.track('rider-done', (status) => heard.set('rider-done', status));
    batcher.track('rider-running', (status) => heard.set('rider-running', status));
    // Followed without a listener: counted in the budget, never added to someone else's request.
    batcher.track('silent');
    api.setStatus('asked', { kind: 'pending' });
    api.setStatus('rider-done', { kind: 'succeeded', videoUrl: 'https://v/done.mp4' });
    api.setStatus('rider-running', { kind: 'pending' });
    api.setStatus('silent', { kind: 'succeeded', videoUrl: 'https://v/silent.mp4' });

    const result = batcher.fetch(['asked']);
    await vi.advanceTimersByTimeAsync(10);
    const statuses = await result;

    expect(api.batchCalls).toEqual([['asked', 'rider-done', 'rider-running']]);
    // The caller gets only what it asked for.
    expect(statuses instanceof Map ? [...statuses.keys()] : statuses).toEqual(['asked']);
    expect(heard).toEqual(
      new Map<string, unknown>([
        ['rider-done', { kind: 'succeeded', videoUrl: 'https://v/done.mp4' }],
        ['rider-running', { kind: 'pending' }],
      ]),
    );
  });

  it('gives every listener its turn when they do not all fit, and never rides an untracked task', async () => {
    const api = new FakeVideoApi();
    const batcher = new StatusBatcher({ api, timers: systemTimers, maxBatchSize: 3, gatherMs: 0, minRequestIntervalMs: 0 });
    const riders = ids('r', 6);
    for (const id of riders) batcher.track(id, () => undefined);
    batcher.untrack('r-5');
    for (let round = 0; round < 3; round++) {
      const result = batcher.fetch(['asked']);
      await vi.advanceTimersByTimeAsync(10);
      await result;
    }
    expect(api.batchCalls).toHaveLength(3);
    for (const call of api.batchCalls) expect(call).toHaveLength(3);
    const carried = new Set(api.batchCalls.flatMap((call) => call.slice(1)));
    expect(carried).toEqual(new Set(['r-0', 'r-1', 'r-2', 'r-3', 'r-4']));
  });
});
