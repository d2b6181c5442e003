import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { MAX_STARTS_IN_FLIGHT, positionWorthAnEdit } from '../../src/core/generation-service.js';
import type { Task } from '../../src/core/task.js';
import { UserFacingError } from '../../src/core/user-facing-error.js';
import { createCoreHarness, newGeneration } from '../fakes/core-harness.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { makeTask } from '../fakes/task-factory.js';

const START = new Date('2025-03-01T12:00:00.000Z');
const SUCCEEDED = { kind: 'succeeded', videoUrl: 'https://videos.example/old.mp4' } as const;

describe('GenerationService', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('start', () => {
    it('records a queued task and hands it to the scheduler', async () => {
      const h = createCoreHarness();
      const { task, position, accountProblem } = await h.service.start(newGeneration('g1', 'u1', 'a fox'));
      expect(position).toBe(1);
      expect(accountProblem).toBe(false);
      expect(task.id).toMatch(/^[a-z2-9]{10}$/);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.api.submits).toEqual([task.request]);
      expect((await h.store.get(task.id))?.state).toBe('submitted');
      await h.stop();
    });

    it('refuses with QUOTA_REACHED once the member used the daily quota', async () => {
      const h = createCoreHarness({ memberDailyQuota: 2 });
      await h.service.start(newGeneration('g1', 'u1'));
      await h.service.start(newGeneration('g1', 'u1'));
      const third = h.service.start(newGeneration('g1', 'u1'));
      await expect(third).rejects.toBeInstanceOf(UserFacingError);
      await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({ code: 'QUOTA_REACHED' });
      expect(h.store.all()).toHaveLength(2);
      // Another member is not affected.
      await expect(h.service.start(newGeneration('g1', 'u2'))).resolves.toMatchObject({ task: { userId: 'u2' } });
      await h.stop();
    });

    it('does not count tasks that failed at the provider (rejected submit or failed generation)', async () => {
      const h = createCoreHarness({ memberDailyQuota: 1 });
      h.api.scriptSubmits({ kind: 'rejected', code: 'forbidden', message: 'blocked by moderation' });
      await h.service.start(newGeneration('g1', 'u1'));
      await vi.advanceTimersByTimeAsync(1);
      expect(h.store.all()[0]?.outcome?.kind).toBe('failed');

      const second = await h.service.start(newGeneration('g1', 'u1'));
      await vi.advanceTimersByTimeAsync(2_000);
      const providerTaskId = (await h.store.get(second.task.id))?.providerTaskId;
      expect(providerTaskId).toBeDefined();
      h.api.setStatus(providerTaskId!, {
        kind: 'failed',
        code: 'generation_failed',
        message: 'The model could not render this prompt.',
      });
      await vi.advanceTimersByTimeAsync(10_000);
      expect((await h.store.get(second.task.id))?.outcome?.kind).toBe('failed');

      const third = await h.service.start(newGeneration('g1', 'u1'));
      await vi.advanceTimersByTimeAsync(2_000);
      expect((await h.store.get(third.task.id))?.state).toBe('submitted');
      await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({ code: 'QUOTA_REACHED' });
      await h.stop();
    });

    it('counts the quota per UTC day', async () => {
      vi.setSystemTime(new Date('2025-03-01T23:59:00.000Z'));
      const h = createCoreHarness({ memberDailyQuota: 1 });
      await h.service.start(newGeneration('g1', 'u1'));
      await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({ code: 'QUOTA_REACHED' });
      await vi.advanceTimersByTimeAsync(60_000); // 00:00 UTC
      await expect(h.service.start(newGeneration('g1', 'u1'))).resolves.toMatchObject({ task: { userId: 'u1' } });
      await h.stop();
    });

    it('counts every task of the day, even past the 100 most recent', async () => {
      const h = createCoreHarness({ memberDailyQuota: 150 });
      for (let i = 0; i < 150; i++) {
        await h.store.create(makeTask({ guildId: 'g1', userId: 'u1', state: 'delivered', outcome: SUCCEEDED }));
      }
      await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({ code: 'QUOTA_REACHED' });
      await h.stop();
    });

    it('cannot be beaten by two commands at the same moment', async () => {
      const h = createCoreHarness({ memberDailyQuota: 1 });
      const results = await Promise.allSettled([h.service.start(newGeneration('g1', 'u1')), h.service.start(newGeneration('g1', 'u1'))]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'QUOTA_REACHED' } });
      expect(h.store.all()).toHaveLength(1);
      await h.stop();
    });

    it('refreshes a waiting reply only when its position changed, and stops once the token died', async () => {
      const h = createCoreHarness({ limits: { maxActiveGenerations: 1 } });
      const live = (g: string, u: string) => ({
        ...newGeneration(g, u),
        interaction: { applicationId: 'app', token: `tok-${u}`, expiresAt: new Date(START.getTime() + 60_000).toISOString() },
      });
      await h.service.start(live('g1', 'u1'));
      const second = await h.service.start(live('g1', 'u2'));
      const third = await h.service.start(live('g1', 'u3'));
      await vi.advanceTimersByTimeAsync(1);
      expect([second.position, third.position]).toEqual([1, 2]);

      h.service.refreshWaitingReplies();
      expect(h.progress.viewsFor(second.task.id)).toEqual([]);
      expect(h.progress.viewsFor(third.task.id)).toEqual([]);

      expect(h.scheduler.dequeue(second.task.id, 'g1')).toBe(true);
      h.service.refreshWaitingReplies();
      expect(h.progress.viewsFor(third.task.id)).toEqual([{ kind: 'queued', position: 1, providerBusy: false }]);
      expect(h.progress.viewsFor(second.task.id)).toEqual([]);

      await vi.advanceTimersByTimeAsync(61_000);
      h.scheduler.dequeue(third.task.id, 'g1');
      h.service.refreshWaitingReplies();
      expect(h.progress.viewsFor(third.task.id)).toHaveLength(1);
      await h.stop();
    });

    it('estimates a waiting start and ready time from the learned times, and edits only when it moved', async () => {
      const MIN = 60_000;
      let learned: number | undefined;
      const h = createCoreHarness({ limits: { maxActiveGenerations: 1 }, times: { expectedMs: () => learned } });
      const live = (u: string) => ({
        ...newGeneration('g1', u),
        interaction: { applicationId: 'app', token: `tok-${u}`, expiresAt: new Date(START.getTime() + 14 * MIN).toISOString() },
      });
      await h.service.start(live('u1'));
      // Nothing learned yet: the position only.
      const unknown = await h.service.start(live('u2'));
      expect(unknown.eta).toBeUndefined();

      learned = 2 * MIN;
      const third = await h.service.start(live('u3'));
      const now = Date.now();
      // Behind the running one (2 min) and u2 (2 min): starts in 4, ready in 6.
      expect(third.eta).toEqual({ startAtMs: now + 4 * MIN, readyAtMs: now + 6 * MIN });

      h.service.refreshWaitingReplies();
      // u2 gets its estimate (it had none); u3's is unchanged, so no edit.
      expect(h.progress.viewsFor(unknown.task.id)).toEqual([
        { kind: 'queued', position: 1, providerBusy: false, eta: { startAtMs: now + 2 * MIN, readyAtMs: now + 4 * MIN } },
      ]);
      expect(h.progress.viewsFor(third.task.id)).toEqual([]);

      // The model got slower: u3's start moves by 2 minutes, worth an edit.
      learned = 3 * MIN;
      h.service.refreshWaitingReplies();
      expect(h.progress.viewsFor(third.task.id)).toEqual([
        { kind: 'queued', position: 2, providerBusy: false, eta: { startAtMs: now + 6 * MIN, readyAtMs: now + 9 * MIN } },
      ]);
      await h.stop();
    });

    it('spreads the edits of newly known estimates over refreshes, oldest replies first', async () => {
      const learned: { ms?: number } = {};
      const h = createCoreHarness({ limits: { maxActiveGenerations: 1 }, memberDailyQuota: 0, times: { expectedMs: () => learned.ms } });
      const expiresAt = new Date(START.getTime() + 14 * 60_000).toISOString();
      const started = [];
      for (let i = 0; i < 131; i++) {
        started.push(
          await h.service.start({ ...newGeneration('g1', `u${i}`), interaction: { applicationId: 'app', token: `t${i}`, expiresAt } }),
        );
      }
      const waiting = started.slice(1);
      const edited = () => waiting.filter((e) => h.progress.viewsFor(e.task.id).some((v) => v.kind === 'queued' && v.eta)).length;
      learned.ms = 60_000;
      h.service.refreshWaitingReplies();
      expect(edited()).toBe(100);
      expect(h.progress.viewsFor(waiting[0]!.task.id)).toHaveLength(1);
      expect(h.progress.viewsFor(waiting[129]!.task.id)).toHaveLength(0);
      h.service.refreshWaitingReplies();
      expect(edited()).toBe(130);
      await h.stop();
    });

    it('edits a far-back position only once it moved by a tenth either way; the last ten and the account problem at once', () => {
      expect(positionWorthAnEdit(5, 5)).toBe(false);
      expect(positionWorthAnEdit(5, 4)).toBe(true);
      expect(positionWorthAnEdit(11, 10)).toBe(true);
      expect(positionWorthAnEdit(1000, 999)).toBe(false);
      expect(positionWorthAnEdit(1000, 901)).toBe(false);
      expect(positionWorthAnEdit(1000, 900)).toBe(true);
      expect(positionWorthAnEdit(50, 46)).toBe(false);
      expect(positionWorthAnEdit(50, 45)).toBe(true);
      // Pushed back by newcomers of other guilds (a burst): a tenth too, not every place.
      expect(positionWorthAnEdit(900, 901)).toBe(false);
      expect(positionWorthAnEdit(900, 989)).toBe(false);
      expect(positionWorthAnEdit(900, 990)).toBe(true);
      // Shown exactly, so any change of an exact position is shown.
      expect(positionWorthAnEdit(9, 12)).toBe(true);
      expect(positionWorthAnEdit(900, -1)).toBe(true);
      expect(positionWorthAnEdit(-1, 900)).toBe(true);
      // 10 000 members waiting, one leaves the head every refresh: edits are rare, not 10 000 each time.
      let shown = 10_000;
      let edits = 0;
      for (let position = 9_999; position >= 1; position--) {
        if (!positionWorthAnEdit(shown, position)) continue;
        shown = position;
        edits++;
      }
      expect(shown).toBe(1);
      expect(edits).toBeLessThan(100);
    });

    it('tells the caller when submits are stopped by an account problem', async () => {
      const h = createCoreHarness();
      h.api.scriptSubmits({ kind: 'account_problem', code: 'used_up', message: 'credits used up' });
      await h.service.start(newGeneration('g1', 'u1'));
      await vi.advanceTimersByTimeAsync(1);
      const second = await h.service.start(newGeneration('g1', 'u2'));
      expect(second.accountProblem).toBe(true);
      expect(second.position).toBe(2);
      expect(h.accountProblems).toEqual([{ code: 'used_up', firstTime: true }]);
      await h.stop();
    });
  });

  describe('find and history', () => {
    it('finds a task of this guild by our id or the provider id, not another guild’s', async () => {
      const h = createCoreHarness();
      const mine = makeTask({ id: 'abc234defg', guildId: 'g1', state: 'submitted', providerTaskId: 'f3c1-provider-id' });
      const theirs = makeTask({ id: 'zzz234defg', guildId: 'g2', state: 'submitted', providerTaskId: 'other-provider-id' });
      await h.store.create(mine);
      await h.store.create(theirs);

      expect((await h.service.find('g1', 'abc234defg'))?.id).toBe(mine.id);
      expect(await h.service.find('g1', '  ABC234DEFG '))?.toMatchObject({ id: mine.id });
      expect((await h.service.find('g1', 'f3c1-provider-id'))?.id).toBe(mine.id);
      expect(await h.service.find('g1', 'zzz234defg')).toBeUndefined();
      expect(await h.service.find('g1', 'other-provider-id')).toBeUndefined();
      expect(await h.service.find('g1', 'nothing')).toBeUndefined();
      expect((await h.service.find('g2', 'other-provider-id'))?.id).toBe(theirs.id);
    });

    it('lists the member’s tasks in this guild, newest first', async () => {
      const h = createCoreHarness();
      const first = await h.service.start(newGeneration('g1', 'u1', 'first'));
      await vi.advanceTimersByTimeAsync(60_000);
      await h.service.start(newGeneration('g2', 'u1', 'elsewhere'));
      const second = await h.service.start(newGeneration('g1', 'u1', 'second'));
      await h.service.start(newGeneration('g1', 'u2', 'someone else'));
      const history = await h.service.history('g1', 'u1', 10);
      expect(history.map((t) => t.id)).toEqual([second.task.id, first.task.id]);
      expect(await h.service.history('g1', 'u1', 1)).toHaveLength(1);
      await h.stop();
    });
  });

  describe('recover after a restart', () => {
    async function seeded(tasks: Task[], options: Parameters<typeof createCoreHarness>[0] = {}) {
      const store = new MemoryTaskStore();
      for (const task of tasks) await store.create(task);
      return createCoreHarness({ ...options, store });
    }

    it('a submitting task becomes interrupted, is published once and is never resubmitted', async () => {
      const task = makeTask({ state: 'submitting', submitAttempts: 1 });
      const h = await seeded([task]);
      await h.service.recover();
      await vi.advanceTimersByTimeAsync(60 * 60_000);
      await h.delivery.idle();

      expect(h.api.submitCalls).toHaveLength(0);
      expect(h.store.statesOf(task.id, 'submitting')).toEqual(['submitting', 'interrupted', 'posting', 'delivered']);
      expect(h.publisher.calls).toHaveLength(1);
      expect(h.publisher.calls[0]?.task.outcome).toEqual({ kind: 'interrupted' });
      expect(h.scheduler.queuedCount() + h.scheduler.runningCount()).toBe(0);
      await h.stop();
    });

    it('a posting task is published again, looking for the existing message first', async () => {
      const task = makeTask({ state: 'posting', providerTaskId: 'prov-old', outcome: SUCCEEDED });
      const h = await seeded([task]);
      await h.service.recover();
      await h.delivery.idle();

      expect(h.publisher.calls).toHaveLength(1);
      expect(h.publisher.calls[0]).toMatchObject({ lookForExisting: true, stateInStore: 'posting' });
      expect((await h.store.get(task.id))?.state).toBe('delivered');
      expect(h.api.submitCalls).toHaveLength(0);
      await h.stop();
    });

    it('a submitted task is followed, holds its slot, and is delivered once when done', async () => {
      const task = makeTask({ state: 'submitted', providerTaskId: 'prov-old', submittedAt: START.toISOString() });
      const queued = makeTask({ state: 'queued', guildId: 'guild-2' });
      const h = await seeded([task, queued], { limits: { maxActiveGenerations: 1 } });
      await h.service.recover();
      await vi.advanceTimersByTimeAsync(1_000);

      expect(h.api.batchCalls.flat()).toContain('prov-old');
      expect(h.scheduler.runningCount()).toBe(1);
      // The recovered generation holds the only slot: the queued task waits.
      expect(h.api.submitCalls).toHaveLength(0);

      h.api.setStatus('prov-old', { kind: 'succeeded', videoUrl: 'https://videos.example/prov-old.mp4' });
      await vi.advanceTimersByTimeAsync(5_000);
      await h.delivery.idle();
      expect((await h.store.get(task.id))?.state).toBe('delivered');
      expect(h.publisher.resultsPostedFor(task.id)).toBe(1);
      expect(h.api.submitCalls).toHaveLength(1);
      expect((await h.store.get(queued.id))?.state).toBe('submitted');

      await vi.advanceTimersByTimeAsync(60 * 60_000);
      expect(h.publisher.resultsPostedFor(task.id)).toBe(1);
      await h.stop();
    });

    it('a queued task is submitted exactly once', async () => {
      const task = makeTask({ state: 'queued' });
      const api = new FakeVideoApi({ autoSucceedAfterMs: () => 20_000 });
      const h = await seeded([task], { api });
      await h.service.recover();
      await vi.advanceTimersByTimeAsync(60 * 60_000);
      await h.delivery.idle();

      expect(h.api.submits).toEqual([task.request]);
      expect((await h.store.get(task.id))?.state).toBe('delivered');
      expect(h.publisher.resultsPostedFor(task.id)).toBe(1);
      await h.stop();
    });

    it('a timed-out task whose notice was not posted gets it, and a late result still arrives', async () => {
      const task = makeTask({
        state: 'timed_out',
        providerTaskId: 'prov-late',
        submittedAt: new Date(START.getTime() - 40 * 60_000).toISOString(),
        outcome: { kind: 'timed_out' },
      });
      const h = await seeded([task]);
      await h.service.recover();
      await vi.advanceTimersByTimeAsync(1_000);
      await h.delivery.idle();
      expect(h.publisher.calls.map((c) => c.task.outcome?.kind)).toEqual(['timed_out']);
      expect(await h.store.get(task.id)).toMatchObject({ state: 'timed_out', timeoutNoticePosted: true });

      h.api.setStatus('prov-late', { kind: 'succeeded', videoUrl: 'https://videos.example/late.mp4' });
      await vi.advanceTimersByTimeAsync(60_000);
      await h.delivery.idle();
      expect((await h.store.get(task.id))?.state).toBe('delivered');
      expect(h.publisher.resultsPostedFor(task.id)).toBe(1);
      expect(h.api.submitCalls).toHaveLength(0);
      await h.stop();
    });

    it('resumes every kind at once and reports the count', async () => {
      const tasks = [
        makeTask({ state: 'queued' }),
        makeTask({ state: 'submitting' }),
        makeTask({ state: 'submitted', providerTaskId: 'prov-a', submittedAt: START.toISOString() }),
        makeTask({ state: 'succeeded', providerTaskId: 'prov-b', outcome: SUCCEEDED }),
        makeTask({ state: 'posting', providerTaskId: 'prov-c', outcome: SUCCEEDED }),
        makeTask({ state: 'delivered', providerTaskId: 'prov-d', outcome: SUCCEEDED }),
      ];
      const h = await seeded(tasks);
      await expect(h.service.recover()).resolves.toEqual({ resumed: 5 });
      await vi.advanceTimersByTimeAsync(1_000);
      await h.delivery.idle();
      expect(h.api.submits).toEqual([tasks[0]!.request]);
      expect(h.publisher.calls.map((c) => [c.task.id, c.lookForExisting])).toEqual(
        expect.arrayContaining([
          [tasks[1]!.id, false],
          [tasks[3]!.id, false],
          [tasks[4]!.id, true],
        ]),
      );
      expect(h.publisher.calls).toHaveLength(3);
      expect(h.publisher.callsFor(tasks[5]!.id)).toHaveLength(0);
      await h.stop();
    });
  });
});

describe('GenerationService admission', () => {
  it(`holds at most ${MAX_STARTS_IN_FLIGHT} starts (ledger writes) in flight in a burst across guilds, and starts them all`, async () => {
    /** A store whose writes take a while, counting how many are in flight at once. */
    class SlowStore extends MemoryTaskStore {
      inFlight = 0;
      mostInFlight = 0;
      override async create(task: Task): Promise<void> {
        this.inFlight++;
        this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        try {
          await super.create(task);
        } finally {
          this.inFlight--;
        }
      }
    }
    const store = new SlowStore();
    const h = createCoreHarness({ store });
    const starts = Array.from({ length: 200 }, (_, i) => h.service.start(newGeneration(`guild-${i}`, 'u1', `prompt ${i}`)));
    const started = await Promise.all(starts);
    expect(started).toHaveLength(200);
    expect(store.all().filter((t) => t.state === 'queued' || t.state === 'submitting' || t.state === 'submitted').length).toBe(200);
    expect(store.mostInFlight).toBe(MAX_STARTS_IN_FLIGHT);
    await h.stop();
  });
});
