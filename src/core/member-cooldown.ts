import type { Task } from './task.js';

/**
 * When a member may start their next generation in a guild, or undefined when they may start now.
 *
 * Derived from the ledger (the member's newest task in that guild) instead of a counter in memory:
 * the ledger holds exactly the starts that were accepted — a refused start (quota, budget, preflight,
 * cooldown) writes no task, so it cannot start a cooldown, while a task cancelled before its submit
 * stays in the ledger and still counts as a burst. It also survives a restart and is shared by
 * every process on one store, and the read is the one the quota check makes anyway. Pure.
 */
export function memberCooldownEnd(newestTask: Pick<Task, 'createdAt'> | undefined, cooldownSeconds: number, now: Date): Date | undefined {
  if (cooldownSeconds <= 0 || !newestTask) return undefined;
  const endMs = Date.parse(newestTask.createdAt) + cooldownSeconds * 1000;
  return Number.isFinite(endMs) && endMs > now.getTime() ? new Date(endMs) : undefined;
}
