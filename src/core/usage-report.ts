import { countsAgainstBudget, generationCredits, utcDay } from './credits.js';
import type { Clock, TaskStore } from './ports.js';
import type { Task } from './task.js';

/** Days a report covers when none are asked for, and the most it may cover. */
export const USAGE_DAYS_DEFAULT = 7;
export const USAGE_DAYS_MAX = 90;
/** Members named in a guild's report; the rest are summed as "others". */
export const USAGE_TOP_MEMBERS = 10;

/** Videos and credits of one slice of a report (credits as the daily budget counts them). */
export interface UsageTotals {
  videos: number;
  credits: number;
}

/** What a guild (or every guild) spent over some UTC days. */
export interface UsageReport {
  /** The UTC days covered, oldest first (`YYYY-MM-DD`); the last is today. */
  days: string[];
  /** One entry per day of `days`, zeros included. */
  perDay: Array<{ day: string } & UsageTotals>;
  /** The biggest spenders, most credits first (ties: more videos, then id). */
  members: Array<{ userId: string } & UsageTotals>;
  /** Everyone after the top members, summed; absent when nobody is left out. */
  otherMembers?: { count: number } & UsageTotals;
  /** Per model, most credits first. */
  models: Array<{ model: string } & UsageTotals>;
  /** Per guild, most credits first (every guild's report only). */
  guilds?: Array<{ guildId: string } & UsageTotals>;
  total: UsageTotals;
  /** Started but not counted (failed at the provider, cancelled before its submit). */
  notCounted: number;
}

/** The `count` UTC days ending with `today`'s, oldest first. */
export function usageDays(today: Date, count: number): string[] {
  const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Array.from({ length: count }, (_, index) => utcDay(new Date(midnight - (count - 1 - index) * 86_400_000)));
}

/**
 * Sums tasks into a report over `days`: a task counts on the UTC day it was created, with the credits
 * and the rules of the daily budget (`countsAgainstBudget`, `generationCredits`); tasks of other days are ignored.
 */
export function summarizeUsage(
  tasks: readonly Task[],
  days: readonly string[],
  options: { topMembers?: number; perGuild?: boolean } = {},
): UsageReport {
  const topMembers = options.topMembers ?? USAGE_TOP_MEMBERS;
  const perDay = new Map(days.map((day) => [day, zero()]));
  const members = new Map<string, UsageTotals>();
  const models = new Map<string, UsageTotals>();
  const guilds = new Map<string, UsageTotals>();
  const total = zero();
  let notCounted = 0;
  for (const task of tasks) {
    const day = perDay.get(utcDay(new Date(task.createdAt)));
    if (!day) continue;
    if (!countsAgainstBudget(task)) {
      notCounted += 1;
      continue;
    }
    const credits = generationCredits(task.request);
    for (const totals of [day, total, slot(members, task.userId), slot(models, task.request.model), slot(guilds, task.guildId)]) {
      totals.videos += 1;
      totals.credits = roundCredits(totals.credits + credits);
    }
  }
  const rankedMembers = ranked(members, 'userId');
  const rest = rankedMembers.slice(topMembers);
  return {
    days: [...days],
    perDay: [...perDay].map(([day, totals]) => ({ day, ...totals })),
    members: rankedMembers.slice(0, topMembers),
    ...(rest.length > 0
      ? {
          otherMembers: {
            count: rest.length,
            videos: rest.reduce((sum, m) => sum + m.videos, 0),
            credits: roundCredits(rest.reduce((sum, m) => sum + m.credits, 0)),
          },
        }
      : {}),
    models: ranked(models, 'model'),
    ...(options.perGuild ? { guilds: ranked(guilds, 'guildId') } : {}),
    total,
    notCounted,
  };
}

/** A guild's report over the last `dayCount` UTC days (today included), from the ledger. */
export async function guildUsageReport(store: TaskStore, clock: Clock, guildId: string, dayCount: number): Promise<UsageReport> {
  const days = usageDays(clock.now(), dayCount);
  return summarizeUsage(await store.listCreatedOn(days, guildId), days);
}

/** Every guild's report over the last `dayCount` UTC days, with a per-guild breakdown (for the operator). */
export async function allGuildsUsageReport(store: TaskStore, clock: Clock, dayCount: number): Promise<UsageReport> {
  const days = usageDays(clock.now(), dayCount);
  return summarizeUsage(await store.listCreatedOn(days), days, { perGuild: true });
}

function zero(): UsageTotals {
  return { videos: 0, credits: 0 };
}

function slot(map: Map<string, UsageTotals>, key: string): UsageTotals {
  let totals = map.get(key);
  if (!totals) map.set(key, (totals = zero()));
  return totals;
}

function ranked<K extends string>(map: Map<string, UsageTotals>, name: K): Array<Record<K, string> & UsageTotals> {
  return [...map]
    .sort(([a, x], [b, y]) => y.credits - x.credits || y.videos - x.videos || (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, totals]) => ({ [name]: key, ...totals }) as Record<K, string> & UsageTotals);
}

// Sums of fractional weights (0.1 + 0.2) must print as 0.3.
function roundCredits(credits: number): number {
  return Math.round(credits * 1000) / 1000;
}
