import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { DeliveryService } from '../../src/core/delivery.js';
import { systemClock, systemTimers, type PublishOutcome } from '../../src/core/ports.js';
import { transition, type Task } from '../../src/core/task.js';
import { MemoryPublisher } from '../fakes/memory-publisher.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { RecordingProgress } from '../fakes/recording-progress.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

const SUCCEEDED = { kind: 'succeeded', videoUrl: 'https://videos.example/p1.mp4' } as const;

function setup() {
  const store = new MemoryTaskStore();
  const publisher = new MemoryPublisher(store);
  const progress = new RecordingProgress();
  const published: Task[] = [];
  const delivery = new DeliveryService({
    store,
    publisher,
    progress,
    clock: systemClock,
    timers: systemTimers,
    logger: new SilentLogger(),
    onPublished: (task) => published.push(task),
  });
  const add = async (overrides: Partial<Task>) => {
    const task = makeTask({ providerTaskId: 'p1', ...overrides });
    await store.create(task);
    return task;
  };
  return { store, publisher, progress, published, delivery, add };
}

describe('DeliveryService', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-01T12:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes posting before publishing and delivered after', async () => {
    const h = setup();
    const task = await h.add({ state: 'succeeded', outcome: SUCCEEDED });
    h.delivery.deliver(task.id);
    await h.delivery.idle();

    expect(h.publisher.calls).toHaveLength(1);
    const [call] = h.publisher.calls;
    expect(call?.stateInStore).toBe('posting');
    expect(call?.lookForExisting).toBe(false);
    expect(call?.task.outcome).toEqual(SUCCEEDED);

    const stored = await h.store.get(task.id);
    expect(stored).toMatchObject({ state: 'delivered', resultMessageId: 'msg-1', deliveryMode: 'upload' });
    expect(stored?.deliveredAt).toBe(new Date().toISOString());
    expect(h.store.statesOf(task.id, 'succeeded')).toEqual(['succeeded', 'posting', 'delivered']);
    expect(h.published.map((t) => t.state)).toEqual(['delivered']);
    expect(h.progress.viewsFor(task.id)).toEqual([{ kind: 'finished' }]);
  });

  it('coalesces repeated calls and never republishes a delivered task', async () => {
    const h = setup();
    const task = await h.add({ state: 'failed', outcome: { kind: 'failed', code: 'bad', message: 'no' } });
    h.delivery.deliver(task.id);
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    expect(h.publisher.calls).toHaveLength(1);
    expect((await h.store.get(task.id))?.state).toBe('delivered');
  });

  it.each(['queued', 'submitting', 'submitted'] as const)('does not publish a %s task', async (state) => {
    const h = setup();
    const task = await h.add({ state });
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    expect(h.publisher.calls).toHaveLength(0);
    expect((await h.store.get(task.id))?.state).toBe(state);
  });

  it('marks the task undeliverable and stops when the channel refuses', async () => {
    const h = setup();
    h.publisher.scriptOutcomes({ kind: 'undeliverable', code: 50013, reason: 'Missing Permissions' });
    const task = await h.add({ state: 'succeeded', outcome: SUCCEEDED, channelId: 'chan-9' });
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    await vi.advanceTimersByTimeAsync(60 * 60_000);

    const stored = await h.store.get(task.id);
    expect(stored?.state).toBe('undeliverable');
    expect(stored?.undeliverableReason).toBe('50013: Missing Permissions');
    expect(h.publisher.calls).toHaveLength(1);
    expect(h.published).toHaveLength(1);
    const view = h.progress.viewsFor(task.id)[0];
    expect(view).toMatchObject({ kind: 'failed' });
    expect(view?.kind === 'failed' && view.reason).toMatchObject({ code: 'not_posted', params: { channelId: 'chan-9' } });
  });

  it('retries after the delay asked for, reusing the nonce and looking for the earlier message', async () => {
    const h = setup();
    h.publisher.scriptOutcomes({ kind: 'retry', retryAfterMs: 3_000, reason: '503' });
    const task = await h.add({ state: 'succeeded', outcome: SUCCEEDED });
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    expect((await h.store.get(task.id))?.state).toBe('posting');

    await vi.advanceTimersByTimeAsync(2_999);
    expect(h.publisher.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await h.delivery.idle();
    expect(h.publisher.calls).toHaveLength(2);
    expect(h.publisher.calls[1]).toMatchObject({ lookForExisting: true, stateInStore: 'posting' });
    expect((await h.store.get(task.id))?.state).toBe('delivered');
    expect(h.published).toHaveLength(1);
  });

  it('backs off exponentially and gives up as undeliverable after repeated transient failures', async () => {
    const h = setup();
    const retry: PublishOutcome = { kind: 'retry', retryAfterMs: 0, reason: 'network' };
    h.publisher.scriptOutcomes(...Array.from({ length: 20 }, () => retry));
    const task = await h.add({ state: 'succeeded', outcome: SUCCEEDED });
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    await vi.advanceTimersByTimeAsync(999);
    expect(h.publisher.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // 1 s
    expect(h.publisher.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(h.publisher.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1); // then 2 s
    expect(h.publisher.calls).toHaveLength(3);

    await vi.advanceTimersByTimeAsync(3 * 60 * 60_000);
    const stored = await h.store.get(task.id);
    expect(stored?.state).toBe('undeliverable');
    expect(stored?.undeliverableReason).toContain('gave up');
    const attempts = h.publisher.calls.length;
    expect(attempts).toBeGreaterThan(3);
    expect(attempts).toBeLessThan(20);
    await vi.advanceTimersByTimeAsync(3 * 60 * 60_000);
    expect(h.publisher.calls).toHaveLength(attempts);
  });

  it('retries a publisher that throws instead of leaving the task stuck in posting', async () => {
    const h = setup();
    const task = await h.add({ state: 'succeeded', outcome: SUCCEEDED });
    h.publisher.scriptOutcomes(new TypeError('render bug'));
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    expect((await h.store.get(task.id))?.state).toBe('posting');
    await vi.advanceTimersByTimeAsync(1_000);
    await h.delivery.idle();
    expect(h.publisher.calls).toHaveLength(1);
    expect((await h.store.get(task.id))?.state).toBe('delivered');
  });

  it('posts the timeout notice and returns the task to timed_out for the slow check', async () => {
    const h = setup();
    const task = await h.add({ state: 'timed_out', outcome: { kind: 'timed_out' } });
    h.delivery.deliver(task.id);
    await h.delivery.idle();

    expect(h.publisher.calls).toHaveLength(1);
    expect(h.publisher.calls[0]).toMatchObject({ stateInStore: 'posting', lookForExisting: false });
    expect(h.publisher.calls[0]?.task.outcome).toEqual({ kind: 'timed_out' });
    const stored = await h.store.get(task.id);
    expect(stored).toMatchObject({ state: 'timed_out', timeoutNoticePosted: true });
    expect(stored?.deliveredAt).toBeUndefined();
    expect(h.published.map((t) => t.state)).toEqual(['timed_out']);

    // The notice is posted once.
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    expect(h.publisher.calls).toHaveLength(1);

    // A late result is then delivered as usual.
    await h.store.update(task.id, (t) => transition(t, 'succeeded', new Date(), { outcome: SUCCEEDED }));
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    expect(h.publisher.calls).toHaveLength(2);
    expect(h.publisher.calls[1]?.task.outcome).toEqual(SUCCEEDED);
    expect((await h.store.get(task.id))?.state).toBe('delivered');
  });

  it('giving up on a timeout notice keeps the task alive for its late result', async () => {
    const h = setup();
    const retry: PublishOutcome = { kind: 'retry', retryAfterMs: 0, reason: '503' };
    h.publisher.scriptOutcomes(...Array.from({ length: 30 }, () => retry));
    const task = await h.add({ state: 'timed_out', outcome: { kind: 'timed_out' } });
    h.delivery.deliver(task.id);
    await vi.advanceTimersByTimeAsync(3 * 60 * 60_000);
    await h.delivery.idle();
    const noticeAttempts = h.publisher.calls.length;
    expect(noticeAttempts).toBeLessThan(30);
    expect((await h.store.get(task.id))?.state).toBe('timed_out');

    // Discord is back when the video arrives: it is still delivered.
    h.publisher.clearScript();
    await h.store.update(task.id, (t) => transition(t, 'succeeded', new Date(), { outcome: SUCCEEDED }));
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    expect(h.publisher.calls).toHaveLength(noticeAttempts + 1);
    expect((await h.store.get(task.id))?.state).toBe('delivered');
  });

  it('a recovered posting task is published again looking for the existing message first', async () => {
    const h = setup();
    const task = await h.add({ state: 'posting', outcome: SUCCEEDED, postingStartedAt: new Date().toISOString() });
    h.delivery.deliver(task.id, { recovered: true });
    await h.delivery.idle();
    expect(h.publisher.calls).toHaveLength(1);
    expect(h.publisher.calls[0]?.lookForExisting).toBe(true);
    expect((await h.store.get(task.id))?.state).toBe('delivered');
  });

  it('a recovered task that never reached posting has nothing to look for', async () => {
    const h = setup();
    const task = await h.add({ state: 'interrupted', outcome: { kind: 'interrupted' } });
    h.delivery.deliver(task.id, { recovered: true });
    await h.delivery.idle();
    expect(h.publisher.calls[0]).toMatchObject({ lookForExisting: false, stateInStore: 'posting' });
    expect((await h.store.get(task.id))?.state).toBe('delivered');
  });

  it('stop() cancels pending retries', async () => {
    const h = setup();
    h.publisher.scriptOutcomes({ kind: 'retry', retryAfterMs: 1_000, reason: '503' });
    const task = await h.add({ state: 'succeeded', outcome: SUCCEEDED });
    h.delivery.deliver(task.id);
    await h.delivery.idle();
    await h.delivery.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.publisher.calls).toHaveLength(1);
    expect((await h.store.get(task.id))?.state).toBe('posting');
  });
});
