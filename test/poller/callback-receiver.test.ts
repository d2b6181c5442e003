import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/ports.js';
import type { Task } from '../../src/core/task.js';
import { CallbackReceiver, newCallbackSecret, secretsMatch } from '../../src/poller/callback-receiver.js';
import { classifyCallbackBody } from '../../src/sora/wire.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

const SUCCESS_BODY = {
  success: true,
  task_id: 'prov-1',
  trace_id: 'trace',
  data: [{ id: 'sora-2:task_1', video_url: 'https://videos.example/1.mp4', state: 'succeeded' }],
};

async function setup(overrides: Partial<Task> = {}) {
  const store = new MemoryTaskStore();
  const secret = newCallbackSecret();
  const task = makeTask({
    state: 'submitted',
    providerTaskId: 'prov-1',
    callbackSecret: secret,
    submittedAt: new Date().toISOString(),
    ...overrides,
  });
  await store.create(task);
  const outcomes: Task[] = [];
  const unfollowed: string[] = [];
  const receiver = new CallbackReceiver({
    store,
    clock: systemClock,
    logger: new SilentLogger(),
    follower: { unfollow: (t) => unfollowed.push(t.id) },
    events: { onOutcome: (t) => outcomes.push(t) },
  });
  return { store, task, secret, receiver, outcomes, unfollowed };
}

describe('CallbackReceiver', () => {
  it('applies a success once, stops polling the task, and refuses the replay', async () => {
    const h = await setup();
    const verdict = await h.receiver.receive(h.task.id, h.secret, classifyCallbackBody(SUCCESS_BODY));
    expect(verdict).toEqual({ status: 200, applied: 'succeeded' });
    expect(await h.store.get(h.task.id)).toMatchObject({
      state: 'succeeded',
      outcome: { kind: 'succeeded', videoUrl: 'https://videos.example/1.mp4' },
    });
    expect(h.unfollowed).toEqual([h.task.id]);
    expect(h.outcomes.map((t) => t.id)).toEqual([h.task.id]);

    const replay = await h.receiver.receive(h.task.id, h.secret, classifyCallbackBody(SUCCESS_BODY));
    expect(replay.status).toBe(404);
    expect(h.outcomes).toHaveLength(1);
  });

  it('applies a failure with the provider message', async () => {
    const h = await setup();
    const body = { success: false, task_id: 'prov-1', error: { code: 'forbidden', message: 'content rejected' } };
    expect(await h.receiver.receive(h.task.id, h.secret, classifyCallbackBody(body))).toEqual({ status: 200, applied: 'failed' });
    expect((await h.store.get(h.task.id))?.outcome).toEqual({ kind: 'failed', code: 'forbidden', message: 'content rejected' });
  });

  it('applies a failure body without task_id (the other services’ documented failure shape), but not a success without one', async () => {
    const h = await setup();
    expect(classifyCallbackBody({ success: true, video_url: 'https://cdn.example/v.mp4' })).toBeUndefined();
    const body = { success: false, error: { code: 'content_policy', message: 'refused' }, trace_id: 'trace-1' };
    expect(await h.receiver.receive(h.task.id, h.secret, classifyCallbackBody(body))).toEqual({ status: 200, applied: 'failed' });
    expect((await h.store.get(h.task.id))?.outcome).toEqual({ kind: 'failed', code: 'content_policy', message: 'refused' });
  });

  it('answers 404 and changes nothing for a forged secret, an unknown task or another provider task', async () => {
    const h = await setup();
    const report = classifyCallbackBody(SUCCESS_BODY);
    expect((await h.receiver.receive(h.task.id, `${h.secret}x`, report)).status).toBe(404);
    expect((await h.receiver.receive(h.task.id, newCallbackSecret(), report)).status).toBe(404);
    expect((await h.receiver.receive('nosuchtask', h.secret, report)).status).toBe(404);
    const other = classifyCallbackBody({ ...SUCCESS_BODY, task_id: 'prov-2' });
    expect((await h.receiver.receive(h.task.id, h.secret, other)).status).toBe(404);
    expect((await h.store.get(h.task.id))?.state).toBe('submitted');
    expect(h.outcomes).toHaveLength(0);
  });

  it('refuses a task that never had a callback secret, even with an empty secret', async () => {
    const h = await setup({ callbackSecret: undefined });
    expect((await h.receiver.receive(h.task.id, '', classifyCallbackBody(SUCCESS_BODY))).status).toBe(404);
  });

  it('accepts a still-running report without changing the task, and rejects a body that is not a callback', async () => {
    const h = await setup();
    const running = classifyCallbackBody({ task_id: 'prov-1', data: [{ state: 'pending' }] });
    expect(await h.receiver.receive(h.task.id, h.secret, running)).toEqual({ status: 202, applied: 'nothing' });
    expect((await h.receiver.receive(h.task.id, h.secret, classifyCallbackBody(['nope']))).status).toBe(400);
    expect((await h.store.get(h.task.id))?.state).toBe('submitted');
  });

  it.each([
    [
      'kling (flat, state "succeed")',
      'kling',
      { success: true, video_id: 'v', video_url: 'https://cdn.klingai.com/k.mp4', duration: '5.1', state: 'succeed' },
    ],
    ['wan (flat, state "completed")', 'wan', { success: true, video_url: 'https://dashscope.example/w.mp4?Expires=1', state: 'completed' }],
    [
      'seedance (data object)',
      'seedance',
      { success: true, data: { task_id: 'cgt-1', status: 'succeeded', video_url: 'https://cdn.example/s.mp4' } },
    ],
  ])('applies a %s callback of another service the same way', async (_name, _service, shape) => {
    const h = await setup();
    const report = classifyCallbackBody({ task_id: 'prov-1', ...shape });
    expect(await h.receiver.receive(h.task.id, h.secret, report)).toEqual({ status: 200, applied: 'succeeded' });
    expect((await h.store.get(h.task.id))?.outcome).toMatchObject({ kind: 'succeeded' });
  });

  it('loses cleanly to the poller: a task already finished answers 404', async () => {
    const h = await setup({ state: 'delivered' });
    expect((await h.receiver.receive(h.task.id, h.secret, classifyCallbackBody(SUCCESS_BODY))).status).toBe(404);
  });
});

describe('secretsMatch', () => {
  it('matches only the same secret, whatever the lengths', () => {
    const secret = newCallbackSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(secretsMatch(secret, secret)).toBe(true);
    expect(secretsMatch(secret.slice(0, -1), secret)).toBe(false);
    expect(secretsMatch('', secret)).toBe(false);
  });
});
