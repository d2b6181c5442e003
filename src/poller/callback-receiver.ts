import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock, Logger, RemoteStatus, TaskStore } from '../core/ports.js';
import { InvalidTransitionError, transition, type Task } from '../core/task.js';
import type { PollerEvents } from './guild-poller.js';

/** What a callback request gets back; 404 for anything we did not expect, so nothing leaks. */
export type CallbackVerdict =
  { status: 200; applied: 'succeeded' | 'failed' } | { status: 202; applied: 'nothing' } | { status: 400 | 404; reason: string };

/** A fresh per-task callback secret (192 random bits, URL-safe). */
export function newCallbackSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Compares secrets in constant time (hashed first, so unequal lengths leak nothing either). */
export function secretsMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Applies provider callbacks: the task's result as soon as it exists, through the same state
 * transitions as the poller, so whichever of the two sees it first wins and the other changes nothing.
 */
export class CallbackReceiver {
  constructor(
    private readonly deps: {
      store: TaskStore;
      clock: Clock;
      logger: Logger;
      /** Stops polling a task the callback finished. */
      follower: { unfollow(task: Task): void };
      events: PollerEvents;
      /** Several processes: whether this one follows the guild's tasks (else its owner's poll finds the result). */
      ownsGuild?: (guildId: string) => boolean;
    },
  ) {}

  /** Handles one callback for our task `taskId` carrying `secret`; `report` is the parsed body. */
  async receive(
    taskId: string,
    secret: string,
    report: { providerTaskId?: string; status: RemoteStatus } | undefined,
  ): Promise<CallbackVerdict> {
    const task = await this.deps.store.get(taskId);
    if (!task?.callbackSecret || !secretsMatch(secret, task.callbackSecret)) {
      return { status: 404, reason: 'unknown task or wrong secret' };
    }
    const log = this.deps.logger.child({ taskId, guildId: task.guildId });
    if (!report) return { status: 400, reason: 'not a callback body' };
    if (task.providerTaskId !== undefined && report.providerTaskId !== undefined && report.providerTaskId !== task.providerTaskId) {
      log.warn({ providerTaskId: report.providerTaskId }, 'callback for another provider task; ignored');
      return { status: 404, reason: 'task id mismatch' };
    }
    if (task.state !== 'submitted' && task.state !== 'timed_out') {
      // A replay, or the poller got there first.
      return { status: 404, reason: 'task is not waiting for a result' };
    }
    const { status } = report;
    if (status.kind === 'pending') return { status: 202, applied: 'nothing' };
    if (this.deps.ownsGuild && !this.deps.ownsGuild(task.guildId)) {
      log.info({}, 'callback for a guild another process follows; left to its poller');
      return { status: 202, applied: 'nothing' };
    }

    const now = this.deps.clock.now();
    const outcome =
      status.kind === 'succeeded'
        ? { kind: 'succeeded' as const, videoUrl: status.videoUrl }
        : { kind: 'failed' as const, code: status.code, message: status.message };
    let updated: Task;
    try {
      updated = await this.deps.store.update(taskId, (t) => transition(t, status.kind, now, { outcome, finishedAt: now.toISOString() }));
    } catch (err) {
      if (err instanceof InvalidTransitionError) return { status: 404, reason: 'task is not waiting for a result' };
      throw err;
    }
    log.info({ outcome: status.kind, via: 'callback' }, 'generation finished');
    this.deps.follower.unfollow(updated);
    this.deps.events.onOutcome(updated);
    return { status: 200, applied: status.kind };
  }
}
