import { estimateQueue, type RunningJob, type WaitingJob } from './eta.js';
import type { GenerationTimes, QueuedEta } from './ports.js';
import type { QueueView } from './submit-scheduler.js';
import type { Task } from './task.js';

interface Tracked {
  request: { model: string; duration?: number | undefined };
  /** When it took its slot (first seen running when not known from the ledger). */
  startedAtMs?: number;
}

/**
 * Start and ready estimates for the waiting tasks of this process: remembers the model and length of
 * each task it was given (the queue view knows only ids) and when the running ones started.
 */
export class QueueEtas {
  private readonly tracked = new Map<string, Tracked>();

  constructor(private readonly times: GenerationTimes) {}

  /** Remembers a queued or running task (running: from its `submittedAt`). */
  track(task: Pick<Task, 'id' | 'request' | 'state' | 'submittedAt'>): void {
    const startedAtMs = task.state === 'submitted' && task.submittedAt ? Date.parse(task.submittedAt) : undefined;
    // Only what the times depend on: a queue of thousands should not hold their prompts twice.
    const request = { model: task.request.model, duration: task.request.duration };
    this.tracked.set(task.id, { request, ...(startedAtMs !== undefined ? { startedAtMs } : {}) });
  }

  /**
   * The estimate of each waiting task (by id) that has one. Undefined for every task when the slots
   * are shared with other processes: this process does not see the rest of the account's queue.
   * Also forgets tasks that left the queue and the slots.
   */
  estimates(view: QueueView, nowMs: number): Map<string, QueuedEta> {
    const result = new Map<string, QueuedEta>();
    const present = new Set<string>();
    const running: RunningJob[] = view.running.map(({ taskId, guildId }) => {
      present.add(taskId);
      const entry = this.tracked.get(taskId);
      if (!entry) return { guildId, remainingMs: undefined };
      entry.startedAtMs ??= nowMs;
      const expectedMs = this.times.expectedMs(entry.request);
      return { guildId, remainingMs: expectedMs === undefined ? undefined : entry.startedAtMs + expectedMs - nowMs };
    });
    const waiting: WaitingJob[] = view.waiting.map(({ taskId, guildId }) => {
      present.add(taskId);
      const entry = this.tracked.get(taskId);
      return { guildId, expectedMs: entry ? this.times.expectedMs(entry.request) : undefined };
    });
    for (const id of this.tracked.keys()) if (!present.has(id)) this.tracked.delete(id);
    if (view.shared) return result;
    estimateQueue(running, waiting, {
      maxActive: view.limits.maxActiveGenerations,
      concurrencyOf: (guildId) => view.limits.concurrencyOf(guildId),
      submitMinIntervalMs: view.limits.submitMinIntervalMs,
    }).forEach((eta, index) => {
      if (!eta) return;
      result.set(view.waiting[index]!.taskId, {
        startAtMs: nowMs + eta.startInMs,
        readyAtMs: eta.finishInMs === undefined ? undefined : nowMs + eta.finishInMs,
      });
    });
    return result;
  }

  /** When a running task is expected to be ready (undefined: its model has no learned time yet). */
  readyAtMs(task: Pick<Task, 'request' | 'submittedAt' | 'createdAt'>): number | undefined {
    const expectedMs = this.times.expectedMs(task.request);
    if (expectedMs === undefined) return undefined;
    return Date.parse(task.submittedAt ?? task.createdAt) + expectedMs;
  }

  /** Number of tasks remembered (for tests). */
  get size(): number {
    return this.tracked.size;
  }
}
