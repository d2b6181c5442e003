import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GuildStartLimits } from '../../src/core/generation-service.js';
import { memberCooldownEnd } from '../../src/core/member-cooldown.js';
import { UserFacingError } from '../../src/core/user-facing-error.js';
import { t } from '../../src/i18n/index.js';
import { createUsageLog } from '../../src/settings/usage-log.js';
import { openStoreBackend } from '../../src/store/open-store.js';
import { createCoreHarness, newGeneration } from '../fakes/core-harness.js';

const START = new Date('2025-03-01T12:00:00.000Z');
const startUnix = START.getTime() / 1000;

/** The error a refused start threw (fails the test when the start was accepted). */
async function refusal(start: Promise<unknown>): Promise<UserFacingError> {
  const error: unknown = await start.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(UserFacingError);
  return error as UserFacingError;
}

describe('per-member cooldown', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a burst with the time to try again, storing and spending nothing', async () => {
    const h = createCoreHarness({ memberCooldownSeconds: 10, limits: { submitMinIntervalMs: 0 } });
    await h.service.start(newGeneration('g1', 'u1'));
    await vi.advanceTimersByTimeAsync(4_000);

    const refused = await refusal(h.service.start(newGeneration('g1', 'u1')));
    expect(refused.code).toBe('MEMBER_COOLDOWN');
    expect(refused.params).toEqual({ retryAt: startUnix + 10, seconds: 10 });
    // Discord renders <t:…:R> as "in 6 seconds" in the member's own language.
    expect(refused.message).toBe(
      `You are starting videos too quickly: on this server a member can start one every 10 s. Try again <t:${startUnix + 10}:R>.`,
    );
    expect(refused.localized('ja')).toContain(`<t:${startUnix + 10}:R>`);
    expect(h.store.all()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.api.submits).toHaveLength(1);
    await h.stop();
  });

  it('allows the next start once the window has passed, and a refusal does not extend it', async () => {
    const h = createCoreHarness({ memberCooldownSeconds: 10 });
    await h.service.start(newGeneration('g1', 'u1'));
    await vi.advanceTimersByTimeAsync(9_999);
    await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({ code: 'MEMBER_COOLDOWN' });
    await vi.advanceTimersByTimeAsync(1);
    await expect(h.service.start(newGeneration('g1', 'u1'))).resolves.toMatchObject({ task: { userId: 'u1' } });
    expect(h.store.all()).toHaveLength(2);
    await h.stop();
  });

  it('is per member and per guild', async () => {
    const h = createCoreHarness({ memberCooldownSeconds: 10 });
    await h.service.start(newGeneration('g1', 'u1'));
    await expect(h.service.start(newGeneration('g1', 'u2'))).resolves.toBeDefined();
    await expect(h.service.start(newGeneration('g2', 'u1'))).resolves.toBeDefined();
    await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({ code: 'MEMBER_COOLDOWN' });
    await expect(h.service.start(newGeneration('g2', 'u2'))).resolves.toBeDefined();
    expect(h.store.all()).toHaveLength(4);
    await h.stop();
  });

  it("uses the guild's setting over the env default; 0 turns it off for that guild", async () => {
    const limits: Record<string, GuildStartLimits> = { slow: { memberCooldownSeconds: 60 }, off: { memberCooldownSeconds: 0 } };
    const h = createCoreHarness({ memberCooldownSeconds: 10, guildLimits: (g) => Promise.resolve(limits[g] ?? {}) });
    for (const guild of ['slow', 'off', 'plain']) await h.service.start(newGeneration(guild, 'u1'));

    await vi.advanceTimersByTimeAsync(10_000);
    // The env default (10 s) has passed; the slow guild's 60 s has not.
    const slow = await refusal(h.service.start(newGeneration('slow', 'u1')));
    expect(slow.params).toEqual({ retryAt: startUnix + 60, seconds: 60 });
    await expect(h.service.start(newGeneration('plain', 'u1'))).resolves.toBeDefined();
    // The guild that turned it off takes a burst.
    for (let i = 0; i < 3; i++) await h.service.start(newGeneration('off', 'u1'));
    expect(h.store.all().filter((task) => task.guildId === 'off')).toHaveLength(4);
    await h.stop();
  });

  it('is off when MEMBER_COOLDOWN_SECONDS is 0 and the guild sets nothing', async () => {
    const h = createCoreHarness({ memberCooldownSeconds: 0 });
    for (let i = 0; i < 5; i++) await h.service.start(newGeneration('g1', 'u1'));
    expect(h.store.all()).toHaveLength(5);
    await h.stop();
  });

  it('counts a task cancelled before its submit (a burst is a burst)', async () => {
    const h = createCoreHarness({ memberCooldownSeconds: 10, limits: { maxActiveGenerations: 0 } });
    const { task } = await h.service.start(newGeneration('g1', 'u1'));
    await expect(h.service.cancel('g1', task.id, 'u1')).resolves.toMatchObject({ kind: 'cancelled', wasRunning: false });
    await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({ code: 'MEMBER_COOLDOWN' });
    await h.stop();
  });

  it('a start refused for another reason (the budget) does not start a cooldown', async () => {
    const backend = openStoreBackend('memory://');
    const limits: GuildStartLimits = { dailyBudgetCredits: 1, memberDailyQuota: 0 };
    const h = createCoreHarness({ memberCooldownSeconds: 10, guildLimits: () => Promise.resolve(limits), usage: createUsageLog(backend) });
    await h.service.start(newGeneration('g1', 'u1'));
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(h.service.start(newGeneration('g1', 'u1'))).rejects.toMatchObject({ code: 'BUDGET_REACHED' });
    // The admin raises the budget a second later: the refused attempt left no cooldown behind.
    await vi.advanceTimersByTimeAsync(1_000);
    limits.dailyBudgetCredits = 5;
    await expect(h.service.start(newGeneration('g1', 'u1'))).resolves.toBeDefined();
    await h.stop();
    await backend.close();
  });

  it('lets only one of two simultaneous starts of a member through', async () => {
    const h = createCoreHarness({ memberCooldownSeconds: 10 });
    const results = await Promise.allSettled([h.service.start(newGeneration('g1', 'u1')), h.service.start(newGeneration('g1', 'u1'))]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'MEMBER_COOLDOWN' } });
    expect(h.store.all()).toHaveLength(1);
    await h.stop();
  });

  it('computes the end of the window from the newest task (pure)', () => {
    const now = new Date('2025-03-01T12:00:05.000Z');
    expect(memberCooldownEnd({ createdAt: START.toISOString() }, 10, now)).toEqual(new Date('2025-03-01T12:00:10.000Z'));
    expect(memberCooldownEnd({ createdAt: START.toISOString() }, 5, now)).toBeUndefined();
    expect(memberCooldownEnd({ createdAt: START.toISOString() }, 0, now)).toBeUndefined();
    expect(memberCooldownEnd(undefined, 10, now)).toBeUndefined();
    expect(t('zh-CN', 'error.memberCooldown', { seconds: 10, retryAt: 1 })).toContain('<t:1:R>');
  });
});

describe('remaining daily quota', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says what is left after each accepted start, and nothing when the quota is unlimited', async () => {
    const h = createCoreHarness({ memberDailyQuota: 3 });
    expect(await h.service.quotaLeft('g1', 'u1')).toEqual({ quota: 3, left: 3 });
    expect((await h.service.start(newGeneration('g1', 'u1'))).quotaLeft).toEqual({ quota: 3, left: 2 });
    expect((await h.service.start(newGeneration('g1', 'u1'))).quotaLeft).toEqual({ quota: 3, left: 1 });
    expect(await h.service.quotaLeft('g1', 'u1')).toEqual({ quota: 3, left: 1 });
    expect(await h.service.quotaLeft('g1', 'u2')).toEqual({ quota: 3, left: 3 });
    expect((await h.service.start(newGeneration('g1', 'u1'))).quotaLeft).toEqual({ quota: 3, left: 0 });
    expect(await h.service.quotaLeft('g1', 'u1')).toEqual({ quota: 3, left: 0 });
    await h.stop();

    const unlimited = createCoreHarness({ memberDailyQuota: 0 });
    expect((await unlimited.service.start(newGeneration('g1', 'u1'))).quotaLeft).toBeUndefined();
    expect(await unlimited.service.quotaLeft('g1', 'u1')).toBeUndefined();
    await unlimited.stop();
  });

  it("uses the guild's quota, and a new UTC day starts afresh", async () => {
    const h = createCoreHarness({ memberDailyQuota: 10, guildLimits: () => Promise.resolve({ memberDailyQuota: 2 }) });
    expect((await h.service.start(newGeneration('g1', 'u1'))).quotaLeft).toEqual({ quota: 2, left: 1 });
    await vi.advanceTimersByTimeAsync(12 * 60 * 60_000);
    expect(await h.service.quotaLeft('g1', 'u1')).toEqual({ quota: 2, left: 2 });
    await h.stop();
  });
});
