import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from '../../src/core/circuit-breaker.js';
import { ModelAvailability } from '../../src/core/model-availability.js';
import { systemClock, systemTimers } from '../../src/core/ports.js';
import { MODEL_UNAVAILABLE_CODE, SubmitScheduler } from '../../src/core/submit-scheduler.js';
import type { Task } from '../../src/core/task.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { RecordingProgress } from '../fakes/recording-progress.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

const START = new Date('2026-12-01T12:00:00.000Z');
const COOLDOWN_MS = 10 * 60_000;

function setup() {
  const store = new MemoryTaskStore();
  const api = new FakeVideoApi();
  const availability = new ModelAvailability(systemClock, COOLDOWN_MS);
  const breaker = new CircuitBreaker(systemClock, 60_000);
  const ended: Task[] = [];
  const notices: { model: string; code: string; firstTime: boolean }[] = [];
  const accountProblems: string[] = [];
  const scheduler = new SubmitScheduler({
    store,
    api,
    clock: systemClock,
    timers: systemTimers,
    breaker,
    progress: new RecordingProgress(),
    logger: new SilentLogger(),
    limits: { maxActiveGenerations: 1, guildMaxActiveGenerations: 1, submitMinIntervalMs: 0 },
    availability,
    events: {
      onSubmitted: () => {},
      onFinishedWithoutGeneration: (task) => ended.push(task),
      onAccountProblem: (code) => accountProblems.push(code),
      onModelUnavailable: (task, code, firstTime) => notices.push({ model: task.request.model, code, firstTime }),
    },
  });
  return { store, api, availability, breaker, scheduler, ended, notices, accountProblems };
}

async function queued(store: MemoryTaskStore, model: string, prompt: string, guildId = 'g1'): Promise<Task> {
  const task = makeTask({ guildId, request: { prompt, model } });
  await store.create(task);
  return task;
}

describe('a model Ace Data Cloud does not serve', () => {
  beforeEach(() => vi.useFakeTimers({ now: START }));
  afterEach(() => vi.useRealTimers());

  it('stops that model only: its waiting tasks end unsubmitted, other models keep going, the breaker stays shut', async () => {
    const h = setup();
    h.api.scriptSubmits({ kind: 'model_unavailable', scope: 'service', code: 'api_not_implemented', message: 'not implemented' });
    const first = await queued(h.store, 'sora-2', 'sora first');
    const veo = await queued(h.store, 'veo31-fast', 'veo', 'g2');
    const second = await queued(h.store, 'sora-2-pro', 'sora second', 'g3');
    for (const task of [first, veo, second]) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(1_000);

    // One submit of Sora found out; the other Sora task (same service) was never sent.
    const prompts = h.api.submitCalls.map((call) => call.request.prompt);
    expect(prompts).toEqual(['sora first', 'veo']);
    expect(h.breaker.isOpen()).toBe(false);
    expect(h.accountProblems).toEqual([]);
    expect(h.notices).toEqual([{ model: 'sora-2', code: 'api_not_implemented', firstTime: true }]);
    for (const id of [first.id, second.id]) {
      const stored = (await h.store.get(id))!;
      expect(stored.state).toBe('failed');
      expect(stored.outcome).toMatchObject({ kind: 'failed', code: MODEL_UNAVAILABLE_CODE });
    }
    expect(h.ended.map((t) => t.id).sort()).toEqual([first.id, second.id].sort());
    expect((await h.store.get(veo.id))!.state).toBe('submitted');
    expect(h.availability.isUnavailable('sora-2-pro')).toBe(true);
    expect(h.availability.isUnavailable('veo31-fast')).toBe(false);
  });

  it('a task of that model queued later ends without a submit; after the cool-down the model is tried again', async () => {
    const h = setup();
    h.availability.markUnavailable('kling-v2-6', 'model', 'bad_request');
    const waiting = await queued(h.store, 'kling-v2-6', 'kling while down');
    h.scheduler.enqueue(waiting);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.api.submitCalls).toHaveLength(0);
    expect((await h.store.get(waiting.id))!.outcome).toMatchObject({ code: MODEL_UNAVAILABLE_CODE });
    // Model scope: the service's other models are untouched.
    expect(h.availability.isUnavailable('kling-v3')).toBe(false);

    await vi.advanceTimersByTimeAsync(COOLDOWN_MS);
    const later = await queued(h.store, 'kling-v2-6', 'kling again');
    h.scheduler.enqueue(later);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.api.submitCalls.map((call) => call.request.prompt)).toEqual(['kling again']);
    expect(h.availability.health('kling-v2-6').state).toBe('ok');
  });

  it('reports health: unknown, answered, not served with its retry time', () => {
    const availability = new ModelAvailability(systemClock, COOLDOWN_MS);
    expect(availability.health('luma')).toEqual({ state: 'unknown' });
    availability.markAnswered('luma');
    expect(availability.health('luma').state).toBe('ok');
    expect(availability.markUnavailable('luma', 'service', 'no_api')).toBe(true);
    expect(availability.markUnavailable('luma', 'service', 'no_api')).toBe(false);
    const health = availability.health('luma');
    expect(health.state === 'unavailable' && health.retryAt.getTime() - health.since.getTime()).toBe(COOLDOWN_MS);
    expect(availability.unavailableAmong(['luma', 'veo31'])).toEqual(new Set(['luma']));
  });
});
