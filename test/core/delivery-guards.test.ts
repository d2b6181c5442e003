import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeliveryCheck, DeliveryCheckResult } from '../../src/core/ports.js';
import { DELIVERY_BLOCKED_CODE } from '../../src/core/submit-scheduler.js';
import { transition } from '../../src/core/task.js';
import { createUsageLog } from '../../src/settings/usage-log.js';
import { openStoreBackend } from '../../src/store/open-store.js';
import { createCoreHarness, newGeneration } from '../fakes/core-harness.js';

const START = new Date('2025-03-01T12:00:00.000Z');

/** A check answering from a table per channel (ok unless set), recording what it was asked. */
function tableCheck() {
  const verdicts = new Map<string, DeliveryCheckResult>();
  const asked: string[] = [];
  const check: DeliveryCheck = {
    check: ({ channelId }) => {
      asked.push(channelId);
      return verdicts.get(channelId) ?? { ok: true };
    },
  };
  return { check, verdicts, asked };
}

describe('delivery guards: a waiting task whose result could not be posted is never submitted', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the check runs right before the submit: a blocked task ends cancelled, unsubmitted, and its member is told why', async () => {
    const guard = tableCheck();
    const h = createCoreHarness({ deliveryCheck: guard.check });
    guard.verdicts.set('g1-channel', { ok: false, reason: 'missing_permissions', permissions: ['AttachFiles'] });
    const { task } = await h.service.start(newGeneration('g1', 'u1', 'blocked'));
    const { task: fine } = await h.service.start(newGeneration('g2', 'u1', 'fine'));
    await vi.advanceTimersByTimeAsync(5_000);

    expect(h.api.submitCalls.map((c) => c.request.prompt)).toEqual(['fine']);
    const stored = (await h.store.get(task.id))!;
    expect(stored.state).toBe('cancelled');
    expect(stored.providerTaskId).toBeUndefined();
    expect(stored.outcome).toMatchObject({ kind: 'failed', code: DELIVERY_BLOCKED_CODE });
    expect(stored.undeliverableReason).toBe('missing_permissions');
    expect(h.progress.viewsFor(task.id).at(-1)).toEqual({
      kind: 'delivery_blocked',
      reason: 'missing_permissions',
      permissions: ['AttachFiles'],
    });
    expect((await h.store.get(fine.id))!.state).toBe('submitted');
    // Nothing is published for it (the channel is the problem) and its slot went back.
    expect(h.publisher.calls.map((c) => c.task.id)).not.toContain(task.id);
    expect(h.scheduler.runningCount()).toBe(1);
    await h.stop();
  });

  it('a check that turns bad while the task waits is seen at its turn, not only at the command', async () => {
    const guard = tableCheck();
    const h = createCoreHarness({ deliveryCheck: guard.check, limits: { maxActiveGenerations: 1 } });
    const { task: first } = await h.service.start(newGeneration('g1', 'u1', 'first'));
    await vi.advanceTimersByTimeAsync(100);
    const second = await h.service.start({ ...newGeneration('g1', 'u2', 'second'), channelId: 'doomed' });
    guard.verdicts.set('doomed', { ok: false, reason: 'channel_gone' });

    await h.store.update(first.id, (t) =>
      transition(t, 'succeeded', new Date(), { outcome: { kind: 'succeeded', videoUrl: 'https://v/1.mp4' } }),
    );
    h.scheduler.release(first.id);
    await vi.advanceTimersByTimeAsync(5_000);

    expect(h.api.submitCalls.map((c) => c.request.prompt)).toEqual(['first']);
    expect((await h.store.get(second.task.id))!.state).toBe('cancelled');
    expect(guard.asked).toContain('doomed');
    await h.stop();
  });

  it("recheckGuild ends that guild's blocked waiting tasks at once and leaves the others waiting", async () => {
    const guard = tableCheck();
    const h = createCoreHarness({ deliveryCheck: guard.check, limits: { maxActiveGenerations: 1 } });
    await h.service.start(newGeneration('g0', 'u0', 'running'));
    await vi.advanceTimersByTimeAsync(100);
    const gone = await h.service.start({ ...newGeneration('g1', 'u1', 'gone'), channelId: 'c-gone' });
    const kept = await h.service.start({ ...newGeneration('g1', 'u2', 'kept'), channelId: 'c-kept' });
    const other = await h.service.start({ ...newGeneration('g2', 'u3', 'other guild'), channelId: 'c-gone-too' });
    guard.verdicts.set('c-gone', { ok: false, reason: 'guild_gone' });
    guard.verdicts.set('c-gone-too', { ok: false, reason: 'guild_gone' });

    expect(await h.scheduler.recheckGuild('g1')).toBe(1);
    expect((await h.store.get(gone.task.id))!.state).toBe('cancelled');
    expect(h.progress.viewsFor(gone.task.id).at(-1)).toEqual({ kind: 'delivery_blocked', reason: 'guild_gone' });
    expect((await h.store.get(kept.task.id))!.state).toBe('queued');
    // Another guild's tasks are its own event's business.
    expect((await h.store.get(other.task.id))!.state).toBe('queued');
    expect(h.scheduler.positionOf(gone.task.id)).toBeUndefined();
    expect(h.scheduler.queuedCount()).toBe(2);
    expect(h.api.submitCalls).toHaveLength(1);
    await h.stop();
  });

  it("a blocked task does not count against the member's daily quota", async () => {
    const guard = tableCheck();
    const h = createCoreHarness({ deliveryCheck: guard.check, memberDailyQuota: 1 });
    guard.verdicts.set('g1-channel', { ok: false, reason: 'channel_gone' });
    await h.service.start(newGeneration('g1', 'u1', 'blocked'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.api.submitCalls).toHaveLength(0);

    guard.verdicts.clear();
    expect(await h.service.quotaLeft('g1', 'u1')).toEqual({ quota: 1, left: 1 });
    await h.service.start(newGeneration('g1', 'u1', 'again'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.api.submitCalls.map((c) => c.request.prompt)).toEqual(['again']);
    await h.stop();
  });

  it("a blocked task does not count against the server's daily budget", async () => {
    const guard = tableCheck();
    const backend = openStoreBackend('memory://');
    const h = createCoreHarness({
      deliveryCheck: guard.check,
      memberDailyQuota: 0,
      guildLimits: () => Promise.resolve({ dailyBudgetCredits: 1 }),
      usage: createUsageLog(backend),
    });
    guard.verdicts.set('g1-channel', { ok: false, reason: 'missing_permissions', permissions: ['SendMessages'] });
    await h.service.start(newGeneration('g1', 'u1', 'blocked'));
    await vi.advanceTimersByTimeAsync(5_000);

    guard.verdicts.clear();
    // A budget of one sora-2 10 s credit: the blocked task used none of it.
    await h.service.start(newGeneration('g1', 'u2', 'paid'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.api.submitCalls.map((c) => c.request.prompt)).toEqual(['paid']);
    await h.stop();
    await backend.close();
  });

  it('a running task whose server removed the bot is not posted there: undeliverable at once, kept in the ledger', async () => {
    const guard = tableCheck();
    const h = createCoreHarness({ deliveryCheck: guard.check });
    const { task } = await h.service.start(newGeneration('g1', 'u1', 'running when kicked'));
    await vi.advanceTimersByTimeAsync(100);
    const providerTaskId = (await h.store.get(task.id))!.providerTaskId!;
    guard.verdicts.set('g1-channel', { ok: false, reason: 'guild_gone' });
    h.api.setStatus(providerTaskId, { kind: 'succeeded', videoUrl: 'https://videos.example/kicked.mp4' });
    await vi.advanceTimersByTimeAsync(10_000);
    await h.delivery.idle();

    const stored = (await h.store.get(task.id))!;
    expect(stored.state).toBe('undeliverable');
    expect(stored.undeliverableReason).toMatch(/^guild_gone/);
    // The generation was made: it stays in the member's history.
    expect(stored.outcome).toMatchObject({ kind: 'succeeded' });
    expect((await h.service.history('g1', 'u1', 10)).map((t) => t.id)).toContain(task.id);
    expect(h.publisher.calls).toHaveLength(0);
    await h.stop();
  });

  it('a channel or permission problem of a finished task is left to Discord: the post is tried', async () => {
    const guard = tableCheck();
    const h = createCoreHarness({ deliveryCheck: guard.check });
    const { task } = await h.service.start(newGeneration('g1', 'u1', 'paid for'));
    await vi.advanceTimersByTimeAsync(100);
    const providerTaskId = (await h.store.get(task.id))!.providerTaskId!;
    guard.verdicts.set('g1-channel', { ok: false, reason: 'missing_permissions', permissions: ['AttachFiles'] });
    h.api.setStatus(providerTaskId, { kind: 'succeeded', videoUrl: 'https://videos.example/paid.mp4' });
    await vi.advanceTimersByTimeAsync(10_000);
    await h.delivery.idle();
    expect(h.publisher.calls.map((c) => c.task.id)).toEqual([task.id]);
    await h.stop();
  });

  it('recheckAll, after a restart, ends the blocked waiting tasks of every guild', async () => {
    const guard = tableCheck();
    const h = createCoreHarness({ deliveryCheck: guard.check, limits: { maxActiveGenerations: 1 } });
    await h.service.start(newGeneration('g0', 'u0', 'running'));
    await vi.advanceTimersByTimeAsync(100);
    const a = await h.service.start({ ...newGeneration('g1', 'u1', 'a'), channelId: 'c-a' });
    const b = await h.service.start({ ...newGeneration('g2', 'u2', 'b'), channelId: 'c-b' });
    const c = await h.service.start({ ...newGeneration('g2', 'u3', 'c'), channelId: 'c-c' });
    guard.verdicts.set('c-a', { ok: false, reason: 'guild_gone' });
    guard.verdicts.set('c-b', { ok: false, reason: 'channel_gone' });

    expect(await h.scheduler.recheckAll()).toBe(2);
    expect((await h.store.get(a.task.id))!.state).toBe('cancelled');
    expect((await h.store.get(b.task.id))!.state).toBe('cancelled');
    expect((await h.store.get(c.task.id))!.state).toBe('queued');
    await h.stop();
  });
});
