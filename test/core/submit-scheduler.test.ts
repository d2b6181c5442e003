import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { CircuitBreaker } from '../../src/core/circuit-breaker.js';
import { systemClock, systemTimers, type SubmitOutcome } from '../../src/core/ports.js';
import { SubmitScheduler, type SubmitLimits } from '../../src/core/submit-scheduler.js';
import { RUNNING_STATES, transition, type Task } from '../../src/core/task.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { RecordingProgress } from '../fakes/recording-progress.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

const START = new Date('2025-03-01T12:00:00.000Z');

function setup(limits: Partial<SubmitLimits> = {}, cooldownMs = 60_000, apiOptions: ConstructorParameters<typeof FakeVideoApi>[0] = {}) {
  const store = new MemoryTaskStore();
  const api = new FakeVideoApi(apiOptions);
  const progress = new RecordingProgress();
  const breaker = new CircuitBreaker(systemClock, cooldownMs);
  const submitted: Task[] = [];
  const finishedWithoutGeneration: Task[] = [];
  const accountProblems: { code: string; message: string; firstTime: boolean }[] = [];
  const scheduler = new SubmitScheduler({
    store,
    api,
    clock: systemClock,
    timers: systemTimers,
    breaker,
    progress,
    logger: new SilentLogger(),
    limits: { maxActiveGenerations: 5, guildMaxActiveGenerations: 5, submitMinIntervalMs: 0, ...limits },
    events: {
      onSubmitted: (task) => submitted.push(task),
      onFinishedWithoutGeneration: (task) => finishedWithoutGeneration.push(task),
      onAccountProblem: (code, message, firstTime) => accountProblems.push({ code, message, firstTime }),
    },
  });
  /** Prompts of submitted requests mapped back to task ids, in submit order. */
  const submitOrder = (tasks: Task[]) => api.submitCalls.map((call) => tasks.find((t) => t.request.prompt === call.request.prompt)?.id);
  const runningInStore = () => store.all().filter((t) => RUNNING_STATES.has(t.state)).length;
  return { store, api, progress, breaker, scheduler, submitted, finishedWithoutGeneration, accountProblems, submitOrder, runningInStore };
}

/** Distinct prompts so submit order can be mapped back to tasks. */
async function createDistinct(store: MemoryTaskStore, guildIds: string[]): Promise<Task[]> {
  const tasks = guildIds.map((guildId, i) => makeTask({ guildId, request: { ...makeTask().request, prompt: `p${i}-${guildId}` } }));
  for (const task of tasks) await store.create(task);
  return tasks;
}

describe('SubmitScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('records a submit at the time it was sent, not when its slow answer came back', async () => {
    const h = setup({}, 60_000, { submitDelayMs: 3_000 });
    const [task] = await createDistinct(h.store, ['guild-1']);
    const sentAtMs = Date.now();
    h.scheduler.enqueue(task!);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.submitted).toHaveLength(1);
    // The provider's clock started within those 3 s: the learned generation time starts at the send.
    const submittedAtMs = Date.parse(h.submitted[0]!.submittedAt!);
    expect(submittedAtMs - sentAtMs).toBeLessThan(1_000);
    expect((await h.store.get(task!.id))?.submittedAt).toBe(h.submitted[0]!.submittedAt);
  });

  it('never runs more than maxActiveGenerations at once', async () => {
    const h = setup({ maxActiveGenerations: 3 });
    const tasks = await createDistinct(
      h.store,
      Array.from({ length: 8 }, (_, i) => `guild-${i % 4}`),
    );
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.api.submitCalls).toHaveLength(3);
    expect(h.scheduler.runningCount()).toBe(3);
    expect(h.runningInStore()).toBe(3);
    expect(h.scheduler.queuedCount()).toBe(5);

    // Each finished generation frees exactly one slot.
    for (let released = 0; released < 5; released++) {
      const done = h.submitted[released]!.id;
      await h.store.update(done, (t) => transition(t, 'succeeded', new Date()));
      h.scheduler.release(done);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(h.api.submitCalls).toHaveLength(4 + released);
      expect(h.runningInStore()).toBeLessThanOrEqual(3);
      expect(h.scheduler.runningCount()).toBe(3);
    }
    expect(h.scheduler.queuedCount()).toBe(0);
    expect(new Set(h.submitted.map((t) => t.id)).size).toBe(8);
  });

  it('holds each guild to guildMaxActiveGenerations while other guilds go ahead', async () => {
    const h = setup({ maxActiveGenerations: 5, guildMaxActiveGenerations: 2 });
    const tasks = await createDistinct(h.store, ['A', 'A', 'A', 'A', 'B']);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.submitOrder(tasks)).toEqual([tasks[0]!.id, tasks[1]!.id, tasks[4]!.id]);
    expect(h.scheduler.runningCount()).toBe(3);

    h.scheduler.release(tasks[0]!.id);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.submitOrder(tasks)).toEqual([tasks[0]!.id, tasks[1]!.id, tasks[4]!.id, tasks[2]!.id]);
  });

  it('serves guilds round-robin, FIFO inside a guild', async () => {
    const h = setup({ maxActiveGenerations: 10 });
    const tasks = await createDistinct(h.store, ['A', 'A', 'A', 'B', 'B', 'C']);
    const [a1, a2, a3, b1, b2, c1] = tasks.map((t) => t.id);
    h.scheduler.load(tasks);
    h.scheduler.pump();
    await vi.advanceTimersByTimeAsync(1);
    expect(h.submitOrder(tasks)).toEqual([a1, b1, c1, a2, b2, a3]);
  });

  it("serves the members of a guild round-robin: one member's burst cannot starve the others", async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const burst = ['m1', 'm1', 'm1', 'm1'].map((userId, i) =>
      makeTask({ guildId: 'G', userId, request: { ...makeTask().request, prompt: `burst ${i}` } }),
    );
    const late = ['m2', 'm3'].map((userId) =>
      makeTask({ guildId: 'G', userId, request: { ...makeTask().request, prompt: `late ${userId}` } }),
    );
    const tasks = [...burst, ...late];
    for (const task of tasks) await h.store.create(task);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(1);
    // m1's first task took the slot; m2 and m3 come before m1's second, though they arrived later.
    expect(h.scheduler.positionOf(late[0]!.id)).toBe(1);
    expect(h.scheduler.positionOf(late[1]!.id)).toBe(2);
    expect(h.scheduler.positionOf(burst[1]!.id)).toBe(3);
    for (let i = 0; i < 5; i++) {
      h.scheduler.release(h.submitted[i]!.id);
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(h.submitOrder(tasks)).toEqual([burst[0]!.id, late[0]!.id, late[1]!.id, burst[1]!.id, burst[2]!.id, burst[3]!.id]);
  });

  it('keeps round-robin under the global cap as slots free up one by one', async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const tasks = await createDistinct(h.store, ['A', 'A', 'A', 'B', 'B', 'C']);
    const [a1, a2, a3, b1, b2, c1] = tasks.map((t) => t.id);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(1);
    for (let i = 0; i < 5; i++) {
      h.scheduler.release(h.submitted[i]!.id);
      await vi.advanceTimersByTimeAsync(1);
    }
    // a1 went at once; then A, B, C take turns.
    expect(h.submitOrder(tasks)).toEqual([a1, a2, b1, c1, a3, b2]);
  });

  it('keeps the pacing gap between submits', async () => {
    const h = setup({ submitMinIntervalMs: 2_000 });
    const tasks = await createDistinct(h.store, ['A', 'B', 'C']);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(h.api.submitCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.api.submitCalls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.api.submitCalls.map((c) => c.atMs - START.getTime())).toEqual([0, 2_000, 4_000]);
  });

  it('on 429 puts the task back at the head of the queue, honours the pause, then submits it', async () => {
    const h = setup({ submitMinIntervalMs: 1_000 });
    h.api.scriptSubmits({ kind: 'rate_limited', retryAfterMs: 10_000 });
    const tasks = await createDistinct(h.store, ['A', 'A', 'A']);
    const [t1, t2, t3] = tasks.map((t) => t.id);
    for (const task of tasks) h.scheduler.enqueue(task);

    await vi.advanceTimersByTimeAsync(9_999);
    expect(h.api.submitCalls).toHaveLength(1);
    expect((await h.store.get(t1!))?.state).toBe('queued');
    expect(h.scheduler.positionOf(t1!)).toBe(1);
    expect(h.progress.viewsFor(t1!)).toContainEqual({ kind: 'queued', position: 1, providerBusy: true });

    await vi.advanceTimersByTimeAsync(1);
    expect(h.submitOrder(tasks)).toEqual([t1, t1]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.submitOrder(tasks)).toEqual([t1, t1, t2, t3]);
    expect(h.api.submitCalls.map((c) => c.atMs - START.getTime())).toEqual([0, 10_000, 11_000, 12_000]);
    expect((await h.store.get(t1!))?.submitAttempts).toBe(2);
    expect(h.store.statesOf(t1!)).toEqual(['queued', 'submitting', 'queued', 'submitting', 'submitted']);
    expect(h.submitted.map((t) => t.id)).toEqual([t1, t2, t3]);
  });

  it('on 429 without Retry-After pauses for the default 5 s', async () => {
    const h = setup();
    h.api.scriptSubmits({ kind: 'rate_limited' });
    const [task] = await createDistinct(h.store, ['A']);
    h.scheduler.enqueue(task!);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(h.api.submitCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.api.submitCalls).toHaveLength(2);
    expect((await h.store.get(task!.id))?.state).toBe('submitted');
  });

  it('on an account problem opens the breaker, submits nothing until the cool-down, then resumes', async () => {
    const h = setup({ submitMinIntervalMs: 1_000 }, 60_000);
    h.api.scriptSubmits({ kind: 'account_problem', code: 'used_up', message: 'Your credits are used up.' });
    const tasks = await createDistinct(h.store, ['A', 'B']);
    const [t1, t2] = tasks.map((t) => t.id);
    for (const task of tasks) h.scheduler.enqueue(task);

    await vi.advanceTimersByTimeAsync(59_999);
    expect(h.api.submitCalls).toHaveLength(1);
    expect(h.breaker.isOpen()).toBe(true);
    expect(h.accountProblems).toEqual([{ code: 'used_up', message: 'Your credits are used up.', firstTime: true }]);
    expect((await h.store.get(t1!))?.state).toBe('queued');
    expect((await h.store.get(t2!))?.state).toBe('queued');
    expect(h.progress.viewsFor(t1!)).toContainEqual({ kind: 'account_problem' });
    expect(h.scheduler.runningCount()).toBe(0);

    await vi.advanceTimersByTimeAsync(1);
    expect(h.api.submitCalls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_000);
    // t1's guild used its round-robin turn, so B's task goes first after the cool-down.
    expect(h.submitOrder(tasks)).toEqual([t1, t2, t1]);
    expect(h.api.submitCalls.map((c) => c.atMs - START.getTime())).toEqual([0, 60_000, 61_000]);
    expect(h.submitted.map((t) => t.id).sort()).toEqual([t1, t2].sort());
    expect(h.breaker.isOpen()).toBe(false);
  });

  it('reports firstTime once when several submits in flight hit the account problem', async () => {
    const h = setup({ submitMinIntervalMs: 0 });
    const problem: SubmitOutcome = { kind: 'account_problem', code: 'invalid_token', message: 'bad token' };
    h.api.scriptSubmits(problem, problem);
    const tasks = await createDistinct(h.store, ['A', 'B']);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.api.submitCalls).toHaveLength(2);
    expect(h.accountProblems.map((p) => p.firstTime)).toEqual([true, false]);
    expect(h.scheduler.queuedCount()).toBe(2);
  });

  it('a rejected submit fails with the API message and is never sent again', async () => {
    const h = setup();
    h.api.scriptSubmits({ kind: 'rejected', code: 'forbidden', message: 'The prompt was blocked by moderation.' });
    const tasks = await createDistinct(h.store, ['A', 'A']);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(60 * 60_000);

    const failed = await h.store.get(tasks[0]!.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.outcome).toEqual({ kind: 'failed', code: 'forbidden', message: 'The prompt was blocked by moderation.' });
    expect(h.finishedWithoutGeneration.map((t) => t.id)).toEqual([tasks[0]!.id]);
    expect(h.api.submits.filter((r) => r.prompt === tasks[0]!.request.prompt)).toHaveLength(1);
    // Its slot was freed: the next task went through.
    expect(h.submitted.map((t) => t.id)).toEqual([tasks[1]!.id]);
    expect(h.scheduler.runningCount()).toBe(1);
  });

  it.each<[string, SubmitOutcome | Error, string]>([
    ['an uncertain answer', { kind: 'uncertain', code: 'timeout', message: 'no answer in 30 s' }, 'timeout'],
    ['a thrown submit', new Error('socket hang up'), 'internal_error'],
  ])('%s fails the task and never resubmits it', async (_label, outcome, code) => {
    const h = setup();
    h.api.scriptSubmits(outcome);
    const [task] = await createDistinct(h.store, ['A']);
    h.scheduler.enqueue(task!);
    await vi.advanceTimersByTimeAsync(24 * 60 * 60_000);
    h.scheduler.pump();
    await vi.advanceTimersByTimeAsync(1);

    expect(h.api.submitCalls).toHaveLength(1);
    const failed = await h.store.get(task!.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.submitAttempts).toBe(1);
    expect(failed?.outcome).toMatchObject({ kind: 'failed', code });
    // The core gives a code; the Discord layer says it was not sent again (test/discord/failure-reasons).
    expect(failed?.outcome?.kind === 'failed' && failed.outcome.reason).toEqual({ code: 'submit_unconfirmed', params: { code } });
    expect(h.finishedWithoutGeneration).toHaveLength(1);
    expect(h.scheduler.runningCount()).toBe(0);
  });

  it('dequeue removes a waiting task so it is never submitted', async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const tasks = await createDistinct(h.store, ['A', 'A', 'A']);
    const [t1, t2, t3] = tasks.map((t) => t.id);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(1);

    expect(h.scheduler.dequeue(t2!, 'A')).toBe(true);
    await h.store.update(t2!, (t) => transition(t, 'cancelled', new Date()));
    expect(h.scheduler.dequeue(t2!, 'A')).toBe(false);
    expect(h.scheduler.dequeue(t1!, 'A')).toBe(false); // running, not waiting
    expect(h.scheduler.positionOf(t3!)).toBe(1);

    h.scheduler.release(t1!);
    await vi.advanceTimersByTimeAsync(1);
    h.scheduler.release(t3!);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.submitOrder(tasks)).toEqual([t1, t3]);
    expect((await h.store.get(t2!))?.state).toBe('cancelled');
  });

  it('skips a task that left the queued state behind its back, without spending a submit', async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const tasks = await createDistinct(h.store, ['A', 'A', 'A']);
    const [t1, t2, t3] = tasks.map((t) => t.id);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(1);
    await h.store.update(t2!, (t) => transition(t, 'cancelled', new Date()));

    h.scheduler.release(t1!);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.submitOrder(tasks)).toEqual([t1, t3]);
    expect(h.scheduler.runningCount()).toBe(1);
  });

  it('positionOf counts the same positions as walking the whole service order, for mixed guilds, members and a moved ring', async () => {
    const h = setup({ maxActiveGenerations: 2, guildMaxActiveGenerations: 1 });
    // A deterministic mix: 7 guilds of uneven size, 3 members, and some submits so the ring has turned.
    let seed = 7;
    const next = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    const tasks: Task[] = [];
    for (let i = 0; i < 120; i++) {
      const task = makeTask({
        guildId: `guild-${next(7)}`,
        userId: `user-${next(3)}`,
        request: { ...makeTask().request, prompt: `p${i}` },
      });
      await h.store.create(task);
      tasks.push(task);
    }
    for (const task of tasks.slice(0, 60)) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(10);
    for (const task of tasks.slice(60)) h.scheduler.enqueue(task);
    h.scheduler.dequeue(tasks[70]!.id, tasks[70]!.guildId);

    const walked = h.scheduler.positions();
    expect(walked.size).toBe(h.scheduler.queuedCount());
    for (const [id, position] of walked) expect(h.scheduler.positionOf(id), id).toBe(position);
    expect([...walked.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: walked.size }, (_, i) => i + 1));
  });

  it('positionOf follows service order across guilds', async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const tasks = await createDistinct(h.store, ['A', 'A', 'A', 'B', 'B', 'C']);
    const [a1, a2, a3, b1, b2, c1] = tasks.map((t) => t.id);
    const positionsAtEnqueue = tasks.map((task) => h.scheduler.enqueue(task));
    await vi.advanceTimersByTimeAsync(1);

    expect(positionsAtEnqueue.slice(0, 3)).toEqual([1, 1, 2]);
    expect(h.scheduler.positionOf(a1!)).toBeUndefined(); // running
    expect(h.scheduler.positionOf('unknown')).toBeUndefined();
    const positions = [a2, b1, c1, a3, b2].map((id) => h.scheduler.positionOf(id!));
    expect(positions).toEqual([1, 2, 3, 4, 5]);

    // The positions shown are the order the tasks are then really submitted in.
    for (let i = 0; i < 5; i++) {
      h.scheduler.release(h.submitted[i]!.id);
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(h.submitOrder(tasks).slice(1)).toEqual([a2, b1, c1, a3, b2]);
  });

  it('stop() ends submitting: a later pump or release sends nothing', async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const tasks = await createDistinct(h.store, ['A', 'A']);
    for (const task of tasks) h.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(1);
    await h.scheduler.stop();
    h.scheduler.release(tasks[0]!.id);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.api.submitCalls).toHaveLength(1);
  });
});
