import { findModel } from './models/catalogue.js';
import type { GenerationRequest, Task } from './task.js';

/**
 * Whether a started task counts against the member's quota and the guild's budget: a failure at the
 * provider does not (nothing was billed); a cancel after the submit does (the provider still makes
 * and bills it).
 */
export function countsAgainstBudget(task: Pick<Task, 'state' | 'providerTaskId' | 'outcome'>): boolean {
  if (task.state === 'cancelled') return task.providerTaskId !== undefined;
  return task.outcome?.kind !== 'failed';
}

/**
 * What one generation weighs against a guild's daily budget, from its model's price in the
 * catalogue: 1 credit is sora-2 for 10 s; a per-second model costs in proportion to its length
 * (sora-2-pro 25 s = 25), a per-generation model the same whatever it makes. A model no longer in
 * the catalogue (a record from an older build) weighs 1.
 */
export function generationCredits(request: Pick<GenerationRequest, 'model' | 'duration'>): number {
  const price = findModel(request.model)?.price;
  if (!price) return 1;
  if (price.kind === 'per_generation') return price.credits;
  // A per-second model always has durations; 10 s is the unit's own length when one is missing.
  return roundCredits(price.creditsPerSecond * (request.duration ?? 10));
}

// Float products like 0.1 × 15 must compare and print as 1.5.
function roundCredits(credits: number): number {
  return Math.round(credits * 1000) / 1000;
}

/** The UTC day of a moment as `YYYY-MM-DD` (quotas and budgets reset at midnight UTC). */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Credits for people: whole numbers as such, others with up to two decimals. */
export function formatCredits(credits: number): string {
  return Number.isInteger(credits) ? String(credits) : String(Math.round(credits * 100) / 100);
}
