import type { GenerationRequest } from './task.js';

const BASE_SECONDS = 10;
const PRO_PRICE_FACTOR = 10;

/**
 * What one generation weighs against a guild's daily budget, by price: sora-2 for 10 s is 1 credit,
 * sora-2-pro costs 10 times as much, and longer videos cost in proportion (15 s = 1.5×, 25 s = 2.5×).
 */
export function generationCredits(request: Pick<GenerationRequest, 'model' | 'duration'>): number {
  const modelFactor = request.model === 'sora-2-pro' ? PRO_PRICE_FACTOR : 1;
  return (modelFactor * request.duration) / BASE_SECONDS;
}

/** The UTC day of a moment as `YYYY-MM-DD` (quotas and budgets reset at midnight UTC). */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Credits for people: whole numbers as such, halves with one decimal. */
export function formatCredits(credits: number): string {
  return Number.isInteger(credits) ? String(credits) : credits.toFixed(1);
}
