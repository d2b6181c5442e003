import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generationCredits } from '../../src/core/credits.js';
import type { GuildLimits } from '../../src/core/ports.js';
import type { GenerationRequest } from '../../src/core/task.js';
import { createUsageLog } from '../../src/settings/usage-log.js';
import { openStoreBackend } from '../../src/store/open-store.js';
import { createCoreHarness, newGeneration } from '../fakes/core-harness.js';

const START = new Date('2025-03-01T12:00:00.000Z');

function withRequest(guildId: string, userId: string, request: Partial<GenerationRequest>) {
  const generation = newGeneration(guildId, userId);
  return { ...generation, request: { ...generation.request, ...request } };
}

const PRO_15 = { model: 'sora-2-pro', duration: 15 } as const;
const PRO_10 = { model: 'sora-2-pro', duration: 10 } as const;
const PLAIN_10 = { model: 'sora-2', duration: 10 } as const;
const PLAIN_15 = { model: 'sora-2', duration: 15 } as const;

describe('guild limits in the core', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('weighs a generation by price: sora-2 10 s = 1 credit, sora-2-pro ×10, ×seconds/10', () => {
    expect(generationCredits(PLAIN_10)).toBe(1);
    expect(generationCredits(PLAIN_15)).toBe(1.5);
    expect(generationCredits({ model: 'sora-2', duration: 25 })).toBe(2.5);
    expect(generationCredits(PRO_10)).toBe(10);
    expect(generationCredits({ model: 'sora-2-pro', duration: 25 })).toBe(25);
  });

  describe('per-member daily quota', () => {
    it("uses the guild's quota over MEMBER_DAILY_QUOTA, only in that guild", async () => {
      const limits: Record<string, GuildLimits> = { g1: { memberDailyQuota: 1 } };
      const h = createCoreHarness({ memberDailyQuota: 10, guildLimits: (g) => Promise.resolve(limits[g] ?? {}) });
      await h.service.start(newGeneration('g1', 'u1'));
      await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({
        code: 'QUOTA_REACHED',
        message: expect.stringContaining('your 1 videos') as unknown,
      });
      // The other guild keeps the env default.
      await h.service.start(newGeneration('g2', 'u1'));
      await h.service.start(newGeneration('g2', 'u1'));
      expect(h.store.all()).toHaveLength(3);
      await h.stop();
    });

    it('treats a guild quota of 0 as unlimited even when the env default is lower', async () => {
      const h = createCoreHarness({ memberDailyQuota: 1, guildLimits: () => Promise.resolve({ memberDailyQuota: 0 }) });
      for (let i = 0; i < 4; i++) await h.service.start(newGeneration('g1', 'u1'));
      expect(h.store.all()).toHaveLength(4);
      await h.stop();
    });
  });

  describe('per-guild daily budget', () => {
    function budgetHarness(dailyBudgetCredits: number) {
      const backend = openStoreBackend('memory://');
      const h = createCoreHarness({
        memberDailyQuota: 0,
        guildLimits: (g) => Promise.resolve(g === 'g1' ? { dailyBudgetCredits } : {}),
        usage: createUsageLog(backend),
      });
      return { h, close: async () => (await h.stop(), await backend.close()) };
    }

    it('counts every member of the guild, weights sora-2-pro, and refuses once the budget is spent', async () => {
      const { h, close } = budgetHarness(25);
      await h.service.start(withRequest('g1', 'u1', PRO_15)); // 15
      expect(h.budgetsReached).toEqual([]);
      await h.service.start(withRequest('g1', 'u2', PRO_10)); // 25: exactly the budget
      expect(h.budgetsReached).toEqual([{ guildId: 'g1', utcDay: '2025-03-01', spentCredits: 25, budgetCredits: 25 }]);

      const refused = h.service.start(withRequest('g1', 'u3', PLAIN_10));
      await expect(refused).rejects.toMatchObject({ code: 'BUDGET_REACHED' });
      await expect(h.service.start(withRequest('g1', 'u3', PLAIN_10))).rejects.toThrow(/25 of 25 credits/);
      expect(h.store.all()).toHaveLength(2);
      // Another guild has no budget.
      await h.service.start(withRequest('g2', 'u3', PRO_15));
      await close();
    });

    it('refuses a video that costs more than what is left, and still takes a cheaper one', async () => {
      const { h, close } = budgetHarness(12);
      await h.service.start(withRequest('g1', 'u1', PRO_10)); // 10
      const error = h.service.start(withRequest('g1', 'u1', PRO_10));
      await expect(error).rejects.toMatchObject({ code: 'BUDGET_REACHED' });
      await expect(h.service.start(withRequest('g1', 'u1', PRO_10))).rejects.toThrow(/2 credits left today and this video would cost 10/);
      // Not reached yet: nothing for the admin log.
      expect(h.budgetsReached).toEqual([]);
      await h.service.start(withRequest('g1', 'u1', PLAIN_15)); // 11.5
      await expect(h.service.start(withRequest('g1', 'u1', PLAIN_10))).rejects.toThrow(/0\.5 credits left/);
      await close();
    });

    it('does not count a task that failed at the provider', async () => {
      const { h, close } = budgetHarness(10);
      h.api.scriptSubmits({ kind: 'rejected', code: 'forbidden', message: 'blocked by moderation' });
      await h.service.start(withRequest('g1', 'u1', PRO_10));
      await vi.advanceTimersByTimeAsync(1);
      expect(h.store.all()[0]?.outcome?.kind).toBe('failed');
      await expect(h.service.start(withRequest('g1', 'u1', PRO_10))).resolves.toMatchObject({ task: { userId: 'u1' } });
      await expect(h.service.start(withRequest('g1', 'u1', PLAIN_10))).rejects.toMatchObject({ code: 'BUDGET_REACHED' });
      await close();
    });

    it('starts afresh on the next UTC day', async () => {
      vi.setSystemTime(new Date('2025-03-01T23:59:00.000Z'));
      const { h, close } = budgetHarness(10);
      await h.service.start(withRequest('g1', 'u1', PRO_10));
      await expect(h.service.start(withRequest('g1', 'u1', PLAIN_10))).rejects.toMatchObject({ code: 'BUDGET_REACHED' });
      await vi.advanceTimersByTimeAsync(60_000);
      await expect(h.service.start(withRequest('g1', 'u1', PRO_10))).resolves.toMatchObject({ task: { guildId: 'g1' } });
      await close();
    });

    it('cannot be beaten by two members at the same moment', async () => {
      const { h, close } = budgetHarness(10);
      const results = await Promise.allSettled([
        h.service.start(withRequest('g1', 'u1', PRO_10)),
        h.service.start(withRequest('g1', 'u2', PRO_10)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(h.store.all()).toHaveLength(1);
      await close();
    });
  });

  describe('per-guild concurrency', () => {
    it("honours the guild's own cap from a synchronous lookup, and a raised cap after a pump", async () => {
      const caps = new Map<string, number>([['g1', 1]]);
      const h = createCoreHarness({
        memberDailyQuota: 0,
        limits: { maxActiveGenerations: 10, guildMaxActiveGenerations: 3, submitMinIntervalMs: 0 },
        guildMaxActiveGenerationsOf: (guildId) => caps.get(guildId),
      });
      for (let i = 0; i < 4; i++) {
        await h.service.start(newGeneration('g1', `u${i}`, `g1 video ${i}`));
        await h.service.start(newGeneration('g2', `u${i}`, `g2 video ${i}`));
      }
      await vi.advanceTimersByTimeAsync(10);
      const submittedIn = (guildId: string) => h.api.submits.filter((r) => r.prompt.startsWith(guildId)).length;
      expect(submittedIn('g1')).toBe(1);
      // g2 has no setting: the env default of 3.
      expect(submittedIn('g2')).toBe(3);

      caps.set('g1', 2);
      h.scheduler.pump();
      await vi.advanceTimersByTimeAsync(10);
      expect(submittedIn('g1')).toBe(2);
      await h.stop();
    });
  });
});
