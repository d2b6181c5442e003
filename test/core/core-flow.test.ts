import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { RUNNING_STATES } from '../../src/core/task.js';
import { createCoreHarness, newGeneration } from '../fakes/core-harness.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';

const START = new Date('2025-03-01T12:00:00.000Z');

describe('core end to end (fake API, memory store, memory publisher)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('12 tasks over 3 guilds with maxActive 5: all delivered exactly once, never more than 5 running, polls batched', async () => {
    // Generations take 30–85 s, different per task.
    const api = new FakeVideoApi({ autoSucceedAfterMs: (id) => 30_000 + (Number(id.split('-')[1]) % 12) * 5_000 });
    const h = createCoreHarness({
      api,
      gatherMs: 25,
      limits: { maxActiveGenerations: 5, guildMaxActiveGenerations: 3, submitMinIntervalMs: 2_000 },
    });
    const guilds = ['g1', 'g2', 'g3'];
    const started = [];
    for (let i = 0; i < 12; i++) {
      const guildId = guilds[i % 3]!;
      started.push(await h.service.start(newGeneration(guildId, `u${i}`, `prompt ${i} in ${guildId}`)));
    }

    let maxRunningInStore = 0;
    let maxRunningPerGuild = 0;
    for (let second = 0; second < 15 * 60; second++) {
      await vi.advanceTimersByTimeAsync(1_000);
      const running = h.store.all().filter((t) => RUNNING_STATES.has(t.state));
      maxRunningInStore = Math.max(maxRunningInStore, running.length);
      for (const guildId of guilds) {
        maxRunningPerGuild = Math.max(maxRunningPerGuild, running.filter((t) => t.guildId === guildId).length);
      }
      expect(h.scheduler.runningCount()).toBeLessThanOrEqual(5);
    }
    await h.delivery.idle();

    // Every task delivered once, each generation submitted once.
    const tasks = h.store.all();
    expect(tasks.map((t) => t.state)).toEqual(Array(12).fill('delivered'));
    for (const { task } of started) expect(h.publisher.resultsPostedFor(task.id)).toBe(1);
    expect(h.publisher.calls).toHaveLength(12);
    expect(h.api.submitCalls).toHaveLength(12);
    expect(new Set(h.api.submits.map((r) => r.prompt)).size).toBe(12);

    // The cap held and was reached.
    expect(maxRunningInStore).toBe(5);
    expect(api.maxActiveSeen).toBe(5);
    expect(maxRunningPerGuild).toBeLessThanOrEqual(3);

    // Status requests stayed within the batch size and carried several tasks at once.
    const batchSizes = h.api.batchCalls.map((c) => c.length);
    expect(Math.max(...batchSizes)).toBeLessThanOrEqual(50);
    const guildOf = new Map(tasks.map((t) => [t.providerTaskId!, t.guildId]));
    const crossGuild = h.api.batchCalls.filter((ids) => new Set(ids.map((id) => guildOf.get(id))).size > 1);
    expect(crossGuild.length).toBeGreaterThan(0);
    const idsChecked = batchSizes.reduce((a, b) => a + b, 0);
    expect(h.api.batchCalls.length).toBeLessThan(idsChecked / 2);

    await h.stop();
  });

  it('mixed outcomes: each member gets exactly one clear result, and nothing is submitted twice', async () => {
    const MINUTE = 60_000;
    const slowIds = new Set<string>();
    const api = new FakeVideoApi({
      // The slow one runs past the 30 min give-up; the others take a minute.
      autoSucceedAfterMs: (id) => (slowIds.has(id) ? 45 * MINUTE : MINUTE),
    });
    api.scriptSubmits(
      { kind: 'accepted', providerTaskId: 'prov-ok' },
      { kind: 'rejected', code: 'forbidden', message: 'The prompt was blocked by moderation.' },
      { kind: 'rate_limited', retryAfterMs: 8_000 },
    );
    const h = createCoreHarness({ api, gatherMs: 25 });
    const ok = await h.service.start(newGeneration('g1', 'u1', 'ok'));
    const rejected = await h.service.start(newGeneration('g2', 'u2', 'rejected'));
    const slow = await h.service.start(newGeneration('g3', 'u3', 'slow, after a 429'));
    const failing = await h.service.start(newGeneration('g1', 'u4', 'fails at the provider'));

    // Tell the fake provider how the slow and the failing generation go once they have ids.
    const providerIdOf = async (id: string) => (await h.store.get(id))?.providerTaskId;
    while (!(await providerIdOf(slow.task.id)) || !(await providerIdOf(failing.task.id))) {
      await vi.advanceTimersByTimeAsync(1_000);
    }
    slowIds.add((await providerIdOf(slow.task.id))!);
    api.setStatus((await providerIdOf(failing.task.id))!, {
      kind: 'failed',
      code: 'generation_failed',
      message: 'The model could not render this.',
    });

    await vi.advanceTimersByTimeAsync(2 * 60 * MINUTE);
    await h.delivery.idle();

    const state = async (id: string) => (await h.store.get(id))!;
    expect((await state(ok.task.id)).state).toBe('delivered');
    expect(h.publisher.resultsPostedFor(ok.task.id)).toBe(1);

    expect(await state(rejected.task.id)).toMatchObject({
      state: 'delivered',
      outcome: { kind: 'failed', message: 'The prompt was blocked by moderation.' },
    });
    expect(h.api.submits.filter((r) => r.prompt === 'rejected')).toHaveLength(1);

    // 429 then accepted; gave up after 30 min with a notice, then the late video.
    expect(h.api.submits.filter((r) => r.prompt === 'slow, after a 429')).toHaveLength(2);
    expect(h.publisher.callsFor(slow.task.id).map((c) => c.task.outcome?.kind)).toEqual(['timed_out', 'succeeded']);
    expect(await state(slow.task.id)).toMatchObject({ state: 'delivered', timeoutNoticePosted: true });

    expect(await state(failing.task.id)).toMatchObject({
      state: 'delivered',
      outcome: { kind: 'failed', code: 'generation_failed', message: 'The model could not render this.' },
    });
    expect(h.publisher.calls).toHaveLength(5);
    expect(h.api.submitCalls).toHaveLength(5);
    expect(h.scheduler.runningCount()).toBe(0);
    expect(h.registry.activeGuildCount()).toBe(0);
    await h.stop();
  });

  it('a crash mid-flight: the new process finishes every task once and never resubmits the one caught submitting', async () => {
    const api = new FakeVideoApi({ submitDelayMs: 1_000, autoSucceedAfterMs: () => 20_000 });
    const before = createCoreHarness({ api, limits: { submitMinIntervalMs: 2_000 } });
    const started = [];
    for (let i = 1; i <= 5; i++) started.push((await before.service.start(newGeneration('g1', `u${i}`, `task ${i}`))).task);
    await vi.advanceTimersByTimeAsync(4_500);

    // The process dies: its timers stop and the ledger is what it wrote so far.
    before.registry.stop();
    void before.scheduler.stop();
    void before.delivery.stop();
    const ledger = new MemoryTaskStore();
    for (const task of before.store.all()) await ledger.create(task);
    expect(ledger.all().map((t) => t.state)).toEqual(['submitted', 'submitted', 'submitting', 'queued', 'queued']);
    const submitsBeforeCrash = api.submitCalls.length;
    expect(submitsBeforeCrash).toBe(3);

    const after = createCoreHarness({ api, store: ledger, limits: { submitMinIntervalMs: 2_000 } });
    await after.service.recover();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await after.delivery.idle();

    expect(api.submits.slice(submitsBeforeCrash).map((r) => r.prompt)).toEqual(['task 4', 'task 5']);
    const [t1, t2, t3, t4, t5] = started.map((t) => t.id);
    for (const id of [t1, t2, t4, t5]) {
      expect((await ledger.get(id!))?.state).toBe('delivered');
      expect(after.publisher.resultsPostedFor(id!)).toBe(1);
    }
    expect(await ledger.get(t3!)).toMatchObject({ state: 'delivered', outcome: { kind: 'interrupted' } });
    expect(after.publisher.callsFor(t3!)).toHaveLength(1);
    expect(before.publisher.calls).toHaveLength(0);
    await after.stop();
  });
});
