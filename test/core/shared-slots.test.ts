import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from '../../src/core/circuit-breaker.js';
import { systemClock, systemTimers } from '../../src/core/ports.js';
import { SubmitScheduler } from '../../src/core/submit-scheduler.js';
import { RUNNING_STATES, transition, type Task } from '../../src/core/task.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';
import { FULL_RETRY_MS, MemoryCoordination } from '../fakes/memory-coordination.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { RecordingProgress } from '../fakes/recording-progress.js';
import { SilentLogger, type LogLine } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

const START = new Date('2025-03-01T12:00:00.000Z');

/** One bot process: its scheduler and what it reported. */
interface BotProcess {
  instanceId: string;
  scheduler: SubmitScheduler;
  submitted: Task[];
  logLines: LogLine[];
}

/**
 * Two bot processes on one Redis: one ledger (`store`), one provider account (`api`) and one slot
 * pool, each process with its own scheduler (local limits high, so only the shared pool limits).
 */
function world(pool: MemoryCoordination) {
  const store = new MemoryTaskStore();
  const api = new FakeVideoApi();
  function processOn(instanceId: string): BotProcess {
    const submitted: Task[] = [];
    const logLines: LogLine[] = [];
    const scheduler = new SubmitScheduler({
      store,
      api,
      clock: systemClock,
      timers: systemTimers,
      breaker: new CircuitBreaker(systemClock, 60_000),
      progress: new RecordingProgress(),
      logger: new SilentLogger(logLines),
      limits: { maxActiveGenerations: 10, guildMaxActiveGenerations: 10, submitMinIntervalMs: 0 },
      events: {
        onSubmitted: (task) => submitted.push(task),
        onFinishedWithoutGeneration: () => undefined,
        onAccountProblem: () => undefined,
      },
      slots: pool.instance(instanceId).slots,
    });
    return { instanceId, scheduler, submitted, logLines };
  }
  /** Queued tasks of one guild, created in the ledger, with distinct prompts. */
  async function queued(guildId: string, count: number): Promise<Task[]> {
    const tasks = Array.from({ length: count }, (_, i) =>
      makeTask({ guildId, request: { ...makeTask().request, prompt: `${guildId} #${i}` } }),
    );
    for (const task of tasks) await store.create(task);
    return tasks;
  }
  /** The provider finished a generation: its process records it and frees the slot. */
  async function finish(process: BotProcess, taskId: string): Promise<void> {
    await store.update(taskId, (t) => transition(t, 'succeeded', new Date()));
    process.scheduler.release(taskId);
  }
  /** The most generations running at once across both processes, from the ledger's write log. */
  function maxRunningAtOnce(): number {
    const running = new Set<string>();
    let max = 0;
    for (const change of store.stateChanges) {
      if (RUNNING_STATES.has(change.to)) running.add(change.id);
      else running.delete(change.id);
      max = Math.max(max, running.size);
    }
    return max;
  }
  /** Task ids in submit order, mapped back from the prompts the provider received. */
  function submitOrder(): (string | undefined)[] {
    const all = store.all();
    return api.submitCalls.map((call) => all.find((t) => t.request.prompt === call.request.prompt)?.id);
  }
  return { store, api, processOn, queued, finish, maxRunningAtOnce, submitOrder };
}

describe('SubmitScheduler with a slot pool shared by two processes', () => {
  let stops: (() => Promise<void>)[] = [];
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(async () => {
    const stopping = Promise.all(stops.map((stop) => stop()));
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    stops = [];
    vi.useRealTimers();
  });
  function setup(options: ConstructorParameters<typeof MemoryCoordination>[0]) {
    const pool = new MemoryCoordination(options);
    const w = world(pool);
    const a = w.processOn('A');
    const b = w.processOn('B');
    stops.push(
      () => a.scheduler.stop(),
      () => b.scheduler.stop(),
    );
    return { pool, ...w, a, b };
  }

  it('never runs more than the shared cap across both processes, and submits every task in the end', async () => {
    const h = setup({ maxActiveGenerations: 2 });
    const tasksA = await h.queued('guild-a', 3);
    const tasksB = await h.queued('guild-b', 3);
    for (const task of tasksA) h.a.scheduler.enqueue(task);
    for (const task of tasksB) h.b.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(10);

    expect(h.api.submitCalls).toHaveLength(2);
    expect(h.pool.heldSlots().size).toBe(2);
    expect(h.a.scheduler.runningCount() + h.b.scheduler.runningCount()).toBe(2);
    // The refused process asks again after a while: still nothing beyond the cap.
    await vi.advanceTimersByTimeAsync(3 * FULL_RETRY_MS);
    expect(h.api.submitCalls).toHaveLength(2);

    const finished = new Set<string>();
    for (let round = 0; round < 10 && finished.size < 6; round++) {
      for (const process of [h.a, h.b]) {
        for (const task of process.submitted) {
          if (finished.has(task.id)) continue;
          finished.add(task.id);
          await h.finish(process, task.id);
        }
      }
      await vi.advanceTimersByTimeAsync(10);
      expect(h.pool.heldSlots().size).toBeLessThanOrEqual(2);
    }

    expect(finished.size).toBe(6);
    expect(h.maxRunningAtOnce()).toBe(2);
    // Each process submitted exactly its own guild's tasks.
    expect(h.a.submitted.map((t) => t.id).sort()).toEqual(tasksA.map((t) => t.id).sort());
    expect(h.b.submitted.map((t) => t.id).sort()).toEqual(tasksB.map((t) => t.id).sort());
    expect(h.pool.heldSlots().size).toBe(0);
  });

  it("serves guilds round-robin across both processes: a process with one busy guild gets that guild's share, not half", async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const busy = await h.queued('guild-a', 6);
    const others = [...(await h.queued('guild-b1', 2)), ...(await h.queued('guild-b2', 2)), ...(await h.queued('guild-b3', 2))];
    for (const task of busy) h.a.scheduler.enqueue(task);
    for (const task of others) h.b.scheduler.enqueue(task);
    const guildOf = new Map([...busy, ...others].map((t) => [t.id, t.guildId]));

    const served: string[] = [];
    for (let step = 0; step < 8; step++) {
      // One slot: whoever holds it finishes, then both processes ask again (notice or retry).
      await vi.advanceTimersByTimeAsync(2 * FULL_RETRY_MS);
      const [running] = [...h.pool.heldSlots().keys()];
      expect(running).toBeDefined();
      served.push(guildOf.get(running!)!);
      await h.finish(guildOf.get(running!) === 'guild-a' ? h.a : h.b, running!);
    }
    expect(served).toEqual(['guild-a', 'guild-b1', 'guild-b2', 'guild-b3', 'guild-a', 'guild-b1', 'guild-b2', 'guild-b3']);
    expect(h.maxRunningAtOnce()).toBe(1);
  });

  it('a process that stops withdraws its guilds, so the other one does not wait for a stale offer', async () => {
    const h = setup({ maxActiveGenerations: 5, submitMinIntervalMs: 0 });
    await h.pool.instance('A').slots.pause(100);
    // A (whose guild is first in line) offers while the account is paused, then stops.
    const [first] = await h.queued('guild-a', 1);
    h.a.scheduler.enqueue(first!);
    await vi.advanceTimersByTimeAsync(10);
    await h.a.scheduler.stop();
    expect(h.pool.callsOf('withdraw', 'A')).toHaveLength(1);
    const [other] = await h.queued('guild-b', 1);
    h.b.scheduler.enqueue(other!);
    await vi.advanceTimersByTimeAsync(200);
    expect(h.submitOrder()).toEqual([other!.id]);
  });

  it('while the pool is full, a burst of commands does not ask it once per command; a freed slot is still taken at once', async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const [first, ...burst] = await h.queued('guild-a', 51);
    h.a.scheduler.enqueue(first!);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.api.submitCalls).toHaveLength(1);
    const asksBefore = h.pool.callsOf('tryTake', 'A').length;

    // Commands keep arriving, one every 10 ms.
    for (const task of burst) {
      h.a.scheduler.enqueue(task);
      await vi.advanceTimersByTimeAsync(10);
    }
    // One ask learns the pool is full; the others wait for its answer's retry time.
    expect(h.pool.callsOf('tryTake', 'A').length - asksBefore).toBeLessThanOrEqual(1);

    await h.finish(h.a, first!.id);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.api.submitCalls).toHaveLength(2);
  });

  it('a process with nothing left to offer withdraws its guilds from the shared round-robin', async () => {
    const h = setup({ maxActiveGenerations: 5 });
    const [only] = await h.queued('guild-a', 1);
    h.a.scheduler.enqueue(only!);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.api.submitCalls).toHaveLength(1);
    expect(h.pool.callsOf('withdraw', 'A')).toHaveLength(1);
    // B's guild is not held up by A's finished offer.
    const [other] = await h.queued('guild-b', 1);
    h.b.scheduler.enqueue(other!);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.api.submitCalls).toHaveLength(2);
  });

  it('a slot freed by one process goes to the other through the slot-freed notice, without waiting for its retry', async () => {
    const h = setup({ maxActiveGenerations: 2 });
    const [a1, a2] = await h.queued('guild-a', 2);
    const [b1] = await h.queued('guild-b', 1);
    h.a.scheduler.enqueue(a1!);
    h.a.scheduler.enqueue(a2!);
    await vi.advanceTimersByTimeAsync(10);
    h.b.scheduler.enqueue(b1!);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.submitOrder()).toEqual([a1!.id, a2!.id]);
    expect(h.b.scheduler.queuedCount()).toBe(1);

    await h.finish(h.a, a1!.id);
    // Far less than the refused take's retry (FULL_RETRY_MS): only the notice can wake B this soon.
    await vi.advanceTimersByTimeAsync(50);
    expect(h.submitOrder()).toEqual([a1!.id, a2!.id, b1!.id]);
    expect([...h.pool.heldSlots().keys()].sort()).toEqual([a2!.id, b1!.id].sort());
    expect(h.b.scheduler.queuedCount()).toBe(0);
  });

  it('waits out the shared submit pacing between the processes', async () => {
    const h = setup({ maxActiveGenerations: 5, submitMinIntervalMs: 2_000 });
    for (const task of await h.queued('guild-a', 2)) h.a.scheduler.enqueue(task);
    for (const task of await h.queued('guild-b', 2)) h.b.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(h.api.submitCalls).toHaveLength(2);

    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.api.submitCalls).toHaveLength(4);
    const times = h.api.submitCalls.map((c) => c.atMs);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(2_000);
    expect(h.a.submitted).toHaveLength(2);
    expect(h.b.submitted).toHaveLength(2);
  });

  it('gives the slot back when the task is cancelled while its slot is being asked for', async () => {
    const h = setup({ maxActiveGenerations: 2, latencyMs: 20 });
    const [t1, t2] = await h.queued('guild-a', 2);
    h.a.scheduler.enqueue(t1!);
    h.a.scheduler.enqueue(t2!);
    await vi.advanceTimersByTimeAsync(5);
    expect(h.pool.callsOf('tryTake', 'A').map((c) => c.args[1])).toEqual([t1!.id]);

    expect(h.a.scheduler.dequeue(t1!.id, 'guild-a')).toBe(true);
    await vi.advanceTimersByTimeAsync(200);

    expect(h.pool.callsOf('releaseSlot', 'A').map((c) => c.args[0])).toEqual([t1!.id]);
    expect([...h.pool.heldSlots().keys()]).toEqual([t2!.id]);
    // The cancelled task was never sent; the next one went ahead.
    expect(h.submitOrder()).toEqual([t2!.id]);
    expect(h.a.scheduler.runningCount()).toBe(1);
  });

  it('gives the slot back when the scheduler stops while its slot is being asked for', async () => {
    const h = setup({ maxActiveGenerations: 2, latencyMs: 20 });
    const [t1] = await h.queued('guild-a', 1);
    h.a.scheduler.enqueue(t1!);
    await vi.advanceTimersByTimeAsync(5);
    const stopped = h.a.scheduler.stop();
    await vi.advanceTimersByTimeAsync(200);
    await stopped;

    expect(h.pool.heldSlots().size).toBe(0);
    expect(h.api.submitCalls).toHaveLength(0);
  });

  it("forgetGuild drops the guild's queue and running tasks here, leaving their shared slots to the new owner", async () => {
    const h = setup({ maxActiveGenerations: 2 });
    const [g1, g2, g3] = await h.queued('guild-a', 3);
    const [other] = await h.queued('guild-x', 1);
    for (const task of [g1!, g2!, g3!]) h.a.scheduler.enqueue(task);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.submitOrder()).toEqual([g1!.id, g2!.id]);
    h.a.scheduler.enqueue(other!);

    h.a.scheduler.forgetGuild('guild-a');
    expect(h.a.scheduler.runningCount()).toBe(0);
    expect(h.a.scheduler.queuedCount()).toBe(1);
    expect(h.a.scheduler.positionOf(g3!.id)).toBeUndefined();
    // A later release of a forgotten task is not A's to make.
    h.a.scheduler.release(g1!.id);
    await vi.advanceTimersByTimeAsync(3 * FULL_RETRY_MS);
    expect(h.pool.callsOf('releaseSlot', 'A')).toEqual([]);
    expect([...h.pool.heldSlots().keys()].sort()).toEqual([g1!.id, g2!.id].sort());
    expect(h.submitOrder()).toEqual([g1!.id, g2!.id]);

    // B takes guild-a over: it holds the two running tasks' slots and queues g3.
    const guildTasks = (await h.store.listUnfinished()).filter((t) => t.guildId === 'guild-a');
    h.b.scheduler.load(guildTasks, ['guild-a']);
    h.b.scheduler.pump();
    await vi.advanceTimersByTimeAsync(10);
    expect(h.b.scheduler.runningCount()).toBe(2);
    expect(h.b.scheduler.queuedCount()).toBe(1);

    await h.finish(h.b, g1!.id);
    await vi.advanceTimersByTimeAsync(50);
    // The freed slot could go to A's other guild or B's g3; both then run, one after the other.
    const afterRelease = h.submitOrder().slice(2);
    expect(afterRelease).toHaveLength(1);
    expect([g3!.id, other!.id]).toContain(afterRelease[0]);
    expect(h.pool.heldSlots().size).toBe(2);
  });

  it('load() with adopted guilds reconciles their slots: leaks go, running tasks stay, other guilds are untouched', async () => {
    const h = setup({ maxActiveGenerations: 3 });
    // A crashed process left two leaked slots of guild-a; guild-x's slot belongs to someone else.
    h.pool.plantSlot('ghost-1', 'guild-a');
    h.pool.plantSlot('ghost-2', 'guild-a');
    h.pool.plantSlot('other-1', 'guild-x');
    const running = makeTask({ guildId: 'guild-a', state: 'submitted', providerTaskId: 'prov-running', submitAttempts: 1 });
    await h.store.create(running);
    const [q1, q2] = await h.queued('guild-a', 2);
    const guildTasks = (await h.store.listUnfinished()).filter((t) => t.guildId === 'guild-a');

    h.b.scheduler.load(guildTasks, ['guild-a']);
    h.b.scheduler.pump();
    await vi.advanceTimersByTimeAsync(10);

    expect(h.pool.callsOf('reconcile', 'B')).toEqual([{ instanceId: 'B', op: 'reconcile', args: ['guild-a', running.id] }]);
    // Reconciled before the take: the leaks' slots went to q1 (the cap is 3: running, other-1, q1).
    expect(Object.fromEntries(h.pool.heldSlots())).toEqual({ [running.id]: 'guild-a', 'other-1': 'guild-x', [q1!.id]: 'guild-a' });
    expect(h.submitOrder()).toEqual([q1!.id]);
    expect(h.b.scheduler.runningCount()).toBe(2);
    expect(h.b.scheduler.queuedCount()).toBe(1);
    expect(h.b.scheduler.positionOf(q2!.id)).toBe(1);
    expect(h.b.scheduler.positions().size).toBe(1);

    // Loading the same (now stale) snapshot again changes nothing: q1 runs here already.
    h.b.scheduler.load(guildTasks);
    expect(h.b.scheduler.queuedCount()).toBe(1);
    expect(h.b.scheduler.runningCount()).toBe(2);
    expect((await h.pool.instance('B').slots.guildsHoldingSlots()).sort()).toEqual(['guild-a', 'guild-x']);
  });

  it('enqueue is idempotent: a task already queued or running is not added again', async () => {
    const h = setup({ maxActiveGenerations: 1 });
    const [t1, t2] = await h.queued('guild-a', 2);
    expect(h.a.scheduler.enqueue(t1!)).toBe(1);
    expect(h.a.scheduler.enqueue(t2!)).toBe(2);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.a.scheduler.enqueue(t2!)).toBe(1);
    h.a.scheduler.enqueue(t1!);
    expect(h.a.scheduler.queuedCount()).toBe(1);
    expect(h.a.scheduler.runningCount()).toBe(1);
    await h.finish(h.a, t1!.id);
    await vi.advanceTimersByTimeAsync(10);
    expect(h.submitOrder()).toEqual([t1!.id, t2!.id]);
  });

  it("a rate-limited submit (429) gives the shared slot back and holds both processes for the provider's pause", async () => {
    const h = setup({ maxActiveGenerations: 1, latencyMs: 1 });
    h.api.scriptSubmits({ kind: 'rate_limited', retryAfterMs: 5_000 });
    const [ta] = await h.queued('guild-a', 1);
    const [tb] = await h.queued('guild-b', 1);
    h.a.scheduler.enqueue(ta!);
    await vi.advanceTimersByTimeAsync(1);
    h.b.scheduler.enqueue(tb!);
    await vi.advanceTimersByTimeAsync(100);

    // The slot is free again, but the account is busy: B does not submit into the pause either.
    expect(h.submitOrder()).toEqual([ta!.id]);
    expect(h.pool.heldSlots().size).toBe(0);
    expect(h.pool.callsOf('pause', 'A').map((c) => c.args)).toEqual([['5000']]);
    expect((await h.store.get(ta!.id))?.state).toBe('queued');
    expect(h.a.scheduler.queuedCount()).toBe(1);
    expect(h.a.scheduler.runningCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(4_800);
    expect(h.api.submitCalls).toHaveLength(1);

    // After the pause one of them gets the single slot; the other follows when it is freed.
    await vi.advanceTimersByTimeAsync(1_200);
    expect(h.api.submitCalls).toHaveLength(2);
    expect(h.pool.heldSlots().size).toBe(1);
    const firstId = [...h.pool.heldSlots().keys()][0]!;
    await h.finish(firstId === ta!.id ? h.a : h.b, firstId);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(h.submitOrder().slice(1).sort()).toEqual([ta!.id, tb!.id].sort());
    expect(h.maxRunningAtOnce()).toBe(1);
  });

  it('asks the pool again later when it cannot be reached', async () => {
    const h = setup({ maxActiveGenerations: 2 });
    h.pool.setReachable('A', false);
    const [t1] = await h.queued('guild-a', 1);
    h.a.scheduler.enqueue(t1!);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.api.submitCalls).toHaveLength(0);
    expect(h.a.logLines.some((l) => l.level === 'warn' && l.msg === 'could not ask the shared slot pool; trying again')).toBe(true);

    h.pool.setReachable('A', true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.submitOrder()).toEqual([t1!.id]);
    expect([...h.pool.heldSlots().keys()]).toEqual([t1!.id]);
  });
});
