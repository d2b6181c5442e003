import { describe, expect, it } from 'vitest';
import type { Task } from '../../src/core/task.js';
import { countsAgainstBudget, generationCredits } from '../../src/core/credits.js';
import { guildUsageReport, summarizeUsage, usageDays, USAGE_TOP_MEMBERS } from '../../src/core/usage-report.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { makeTask } from '../store/task-store.contract.js';

const DAYS = ['2026-11-30', '2026-12-01', '2026-12-02'];

function started(day: string, overrides: Partial<Task> & { model?: string; duration?: number } = {}): Task {
  const { model = 'sora-2', duration = 10, ...rest } = overrides;
  const createdAt = `${day}T12:00:00.000Z`;
  return makeTask({
    state: 'delivered',
    createdAt,
    updatedAt: createdAt,
    providerTaskId: 'p',
    outcome: { kind: 'succeeded', videoUrl: 'https://cdn.example/v.mp4' },
    request: { prompt: 'a cat', model, ...(duration ? { duration } : {}) },
    ...rest,
  });
}

describe('usageDays', () => {
  it('lists the asked number of UTC days ending today, oldest first, across a month end', () => {
    expect(usageDays(new Date('2026-12-02T23:59:59.999Z'), 3)).toEqual(DAYS);
    expect(usageDays(new Date('2026-12-02T00:00:00.000Z'), 1)).toEqual(['2026-12-02']);
    expect(usageDays(new Date('2026-03-01T05:00:00.000Z'), 90)).toHaveLength(90);
    expect(usageDays(new Date('2026-03-01T05:00:00.000Z'), 90)[0]).toBe('2025-12-02');
  });
});

describe('summarizeUsage', () => {
  it('counts videos and credits per day with every day present, and ignores days outside the range', () => {
    const tasks = [
      started('2026-11-30'),
      started('2026-12-02', { model: 'sora-2-pro', duration: 25 }),
      started('2026-12-02', { duration: 15 }),
      started('2026-11-29'),
    ];
    const report = summarizeUsage(tasks, DAYS);
    expect(report.days).toEqual(DAYS);
    expect(report.perDay).toEqual([
      { day: '2026-11-30', videos: 1, credits: 1 },
      { day: '2026-12-01', videos: 0, credits: 0 },
      { day: '2026-12-02', videos: 2, credits: 26.5 },
    ]);
    expect(report.total).toEqual({ videos: 3, credits: 27.5 });
  });

  it('counts credits exactly as the daily budget does: no provider failures, no cancels before a submit', () => {
    const day = '2026-12-01';
    const tasks = [
      started(day),
      // Failed at the provider: nothing billed, the budget does not count it.
      started(day, { state: 'delivered', outcome: { kind: 'failed', code: 'api_error', message: 'boom' } }),
      // Cancelled while queued: never submitted.
      started(day, { state: 'cancelled', providerTaskId: undefined, outcome: undefined }),
      // Cancelled after its submit: the provider still bills it.
      started(day, { state: 'cancelled', outcome: undefined, model: 'veo31-fast', duration: 0 }),
      // Still running: it counts from its start, as in the budget.
      started(day, { state: 'submitted', outcome: undefined }),
    ];
    const report = summarizeUsage(tasks, DAYS);
    const budgetCounts = tasks.filter(countsAgainstBudget).reduce((sum, t) => sum + generationCredits(t.request), 0);
    expect(report.total).toEqual({ videos: 3, credits: budgetCounts });
    expect(report.total.credits).toBe(4.15);
    expect(report.notCounted).toBe(2);
  });

  it('names the top members by credits, then videos, and sums the others', () => {
    const tasks: Task[] = [];
    // Member m<i> makes i videos of sora-2 10 s (1 credit each); m0 makes one Sora 2 Pro 25 s.
    for (let member = 1; member <= USAGE_TOP_MEMBERS + 2; member += 1) {
      for (let n = 0; n < member; n += 1) tasks.push(started('2026-12-01', { userId: `m${member}` }));
    }
    tasks.push(started('2026-12-01', { userId: 'm0', model: 'sora-2-pro', duration: 25 }));
    const report = summarizeUsage(tasks, DAYS);
    expect(report.members).toHaveLength(USAGE_TOP_MEMBERS);
    expect(report.members[0]).toEqual({ userId: 'm0', videos: 1, credits: 25 });
    expect(report.members[1]).toEqual({ userId: 'm12', videos: 12, credits: 12 });
    expect(report.members.map((m) => m.userId).at(-1)).toBe('m4');
    expect(report.otherMembers).toEqual({ count: 3, videos: 1 + 2 + 3, credits: 6 });
  });

  it('leaves otherMembers out when everyone is named', () => {
    const report = summarizeUsage([started('2026-12-01', { userId: 'a' })], DAYS);
    expect(report.members).toEqual([{ userId: 'a', videos: 1, credits: 1 }]);
    expect(report.otherMembers).toBeUndefined();
  });

  it('sums per model (most credits first) and, when asked, per guild', () => {
    const tasks = [
      started('2026-12-01', { model: 'veo31-fast', duration: 0, guildId: 'gA' }),
      started('2026-12-01', { model: 'veo31-fast', duration: 0, guildId: 'gB' }),
      started('2026-12-02', { model: 'sora-2', duration: 15, guildId: 'gB' }),
      started('2026-12-02', { model: 'kling-v2-6', duration: 10, guildId: 'gB' }),
    ];
    const report = summarizeUsage(tasks, DAYS, { perGuild: true });
    expect(report.models).toEqual([
      { model: 'kling-v2-6', videos: 1, credits: 7.5 },
      { model: 'veo31-fast', videos: 2, credits: 4.3 },
      { model: 'sora-2', videos: 1, credits: 1.5 },
    ]);
    expect(report.guilds).toEqual([
      { guildId: 'gB', videos: 3, credits: 11.15 },
      { guildId: 'gA', videos: 1, credits: 2.15 },
    ]);
    expect(summarizeUsage(tasks, DAYS).guilds).toBeUndefined();
  });
});

describe('guildUsageReport', () => {
  it("reads only this guild's tasks of the asked days from the ledger", async () => {
    const store = new MemoryTaskStore();
    for (const task of [
      started('2026-12-02', { guildId: 'g1' }),
      started('2026-12-02', { guildId: 'g2' }),
      started('2026-11-25', { guildId: 'g1' }),
    ]) {
      await store.create(task);
    }
    const clock = { now: () => new Date('2026-12-02T18:00:00.000Z') };
    const week = await guildUsageReport(store, clock, 'g1', 7);
    expect(week.total).toEqual({ videos: 1, credits: 1 });
    expect(week.days).toHaveLength(7);
    expect((await guildUsageReport(store, clock, 'g1', 8)).total.videos).toBe(2);
  });
});
