import { describe, expect, it } from 'vitest';
import { QueueEtas } from '../../src/core/queue-etas.js';
import type { QueueView } from '../../src/core/submit-scheduler.js';

const MIN = 60_000;
const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const limits = { maxActiveGenerations: 1, guildMaxActiveGenerations: 3, submitMinIntervalMs: 0, concurrencyOf: () => 3 };
const view = (running: string[], waiting: string[], shared = false): QueueView => ({
  running: running.map((taskId) => ({ taskId, guildId: 'g' })),
  waiting: waiting.map((taskId) => ({ taskId, guildId: 'g' })),
  limits,
  shared,
});
const queued = (id: string, model = 'sora-2') => ({ id, request: { prompt: 'p', model, duration: 10 }, state: 'queued' as const });

describe('QueueEtas', () => {
  const times = { expectedMs: (r: { model: string }) => (r.model === 'sora-2' ? 2 * MIN : undefined) };

  it('counts a running task from its submit time in the ledger', () => {
    const etas = new QueueEtas(times);
    etas.track({ ...queued('run'), state: 'submitted', submittedAt: new Date(NOW - MIN).toISOString() });
    etas.track(queued('wait'));
    expect(etas.estimates(view(['run'], ['wait']), NOW).get('wait')).toEqual({ startAtMs: NOW + MIN, readyAtMs: NOW + 3 * MIN });
  });

  it('gives no estimate behind a model whose time is not learned, and none with shared slots', () => {
    const etas = new QueueEtas(times);
    etas.track(queued('run', 'kling-v2-6'));
    etas.track(queued('wait'));
    expect(etas.estimates(view(['run'], ['wait']), NOW).size).toBe(0);

    const shared = new QueueEtas(times);
    shared.track(queued('wait'));
    expect(shared.estimates(view([], ['wait'], true), NOW).size).toBe(0);
    expect(shared.estimates(view([], ['wait']), NOW).get('wait')).toEqual({ startAtMs: NOW, readyAtMs: NOW + 2 * MIN });
  });

  it('forgets tasks that left the queue and the slots', () => {
    const etas = new QueueEtas(times);
    etas.track(queued('a'));
    etas.track(queued('b'));
    etas.estimates(view([], ['a', 'b']), NOW);
    expect(etas.size).toBe(2);
    etas.estimates(view(['b'], []), NOW);
    expect(etas.size).toBe(1);
  });

  it('says when a running task should be ready, once its model is learned', () => {
    const etas = new QueueEtas(times);
    const submittedAt = new Date(NOW).toISOString();
    expect(etas.readyAtMs({ request: { prompt: 'p', model: 'sora-2' }, submittedAt, createdAt: submittedAt })).toBe(NOW + 2 * MIN);
    expect(etas.readyAtMs({ request: { prompt: 'p', model: 'kling-v2-6' }, submittedAt, createdAt: submittedAt })).toBeUndefined();
  });
});
