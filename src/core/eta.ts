/**
 * Estimated start and finish of waiting generations, from how long each model's recent generations
 * took and the queue ahead under the caps. Pure: the caller passes the queue as the scheduler sees it.
 */

/** A generation holding a slot now. */
export interface RunningJob {
  guildId: string;
  /** How much longer it is expected to run (undefined: its model has no learned time yet). */
  remainingMs: number | undefined;
}

/** A generation waiting for a slot, in service order. */
export interface WaitingJob {
  guildId: string;
  /** How long its model usually takes (undefined: not learned yet). */
  expectedMs: number | undefined;
}

/** The caps the scheduler enforces. */
export interface EtaLimits {
  /** Generations running at once on the account (`MAX_ACTIVE_GENERATIONS`). */
  maxActive: number;
  /** A guild's cap on running generations. */
  concurrencyOf(guildId: string): number;
  /** Minimum gap between two submits (the i-th waiting job cannot start before i gaps from now). */
  submitMinIntervalMs?: number;
}

/** When a waiting job is expected to start and finish, in ms from now. */
export interface Eta {
  startInMs: number;
  /** Undefined when its own model has no learned time yet. */
  finishInMs: number | undefined;
}

/**
 * The estimate of every waiting job, index for index (undefined from the first job whose start
 * depends on a time not learned yet). One pass: the k slots and each guild's slots are simulated as
 * "free at" times; each job in service order takes the earliest time both its guild and the account
 * have a slot (best fit, so a job held back by its guild's cap leaves the earlier slot to the next).
 */
export function estimateQueue(running: readonly RunningJob[], waiting: readonly WaitingJob[], limits: EtaLimits): (Eta | undefined)[] {
  const estimates: (Eta | undefined)[] = new Array<Eta | undefined>(waiting.length).fill(undefined);
  const maxActive = Math.max(1, Math.floor(limits.maxActive));
  if (running.some((job) => job.remainingMs === undefined)) return estimates;

  // With more running than the cap (it was lowered), the extra ones must end before anything starts.
  const remaining = running.map((job) => Math.max(0, job.remainingMs!)).sort((a, b) => a - b);
  const accountFree = remaining.slice(Math.max(0, remaining.length - maxActive));
  while (accountFree.length < maxActive) accountFree.unshift(0);

  const guildFree = new Map<string, number[]>();
  const guildSlots = (guildId: string): number[] => {
    let slots = guildFree.get(guildId);
    if (!slots) {
      const cap = Math.max(1, Math.floor(limits.concurrencyOf(guildId)));
      const mine = running
        .filter((job) => job.guildId === guildId)
        .map((job) => Math.max(0, job.remainingMs!))
        .sort((a, b) => a - b);
      slots = mine.slice(Math.max(0, mine.length - cap));
      while (slots.length < cap) slots.unshift(0);
      guildFree.set(guildId, slots);
    }
    return slots;
  };

  const gapMs = Math.max(0, limits.submitMinIntervalMs ?? 0);
  for (let index = 0; index < waiting.length; index++) {
    const job = waiting[index]!;
    const slots = guildSlots(job.guildId);
    const guildSlot = indexOfMin(slots);
    const startInMs = Math.max(Math.min(...accountFree), slots[guildSlot]!, index * gapMs);
    const finishInMs = job.expectedMs === undefined ? undefined : startInMs + job.expectedMs;
    estimates[index] = { startInMs, finishInMs };
    // Everyone behind waits for a slot this job holds until a time nobody knows yet.
    if (finishInMs === undefined) break;
    slots[guildSlot] = finishInMs;
    accountFree[bestFit(accountFree, startInMs)] = finishInMs;
  }
  return estimates;
}

function indexOfMin(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[best]!) best = i;
  return best;
}

/** The slot free latest while still free by `atMs` (there is always one: `atMs` ≥ the minimum). */
function bestFit(freeAt: readonly number[], atMs: number): number {
  let best = indexOfMin(freeAt);
  for (let i = 0; i < freeAt.length; i++) if (freeAt[i]! <= atMs && freeAt[i]! > freeAt[best]!) best = i;
  return best;
}

// Below this the estimate is shown exactly; beyond it, a move of this share of the wait is worth an edit.
const ETA_MIN_MOVE_MS = 60_000;
const ETA_RELATIVE_MOVE = 0.2;

/**
 * Whether a new start estimate differs enough from the one on screen to edit the reply: the reply
 * shows a Discord relative timestamp that counts down by itself, so only a real move needs an edit
 * (a minute, or a fifth of the wait) — a refresh every few seconds would hit the webhook rate limit.
 */
export function etaWorthAnEdit(shownAtMs: number | undefined, nextAtMs: number | undefined, nowMs: number): boolean {
  if (shownAtMs === undefined || nextAtMs === undefined) return shownAtMs !== nextAtMs;
  const waitMs = Math.max(0, shownAtMs - nowMs);
  return Math.abs(nextAtMs - shownAtMs) >= Math.max(ETA_MIN_MOVE_MS, waitMs * ETA_RELATIVE_MOVE);
}
