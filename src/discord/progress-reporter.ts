import { Routes } from 'discord.js';
import type { REST } from 'discord.js';
import type { Logger } from 'pino';
import type { Clock, ProgressReporter, ProgressView } from '../core/ports.js';
import type { Task } from '../core/task.js';
import { classifyDiscordError, describeDiscordError } from './discord-errors.js';
import { renderProgress } from './render.js';

/** Options for {@link createProgressReporter}. */
export interface ProgressReporterOptions {
  /** discord.js REST; webhook edits are sent without the bot token (`auth: false`). */
  rest: REST;
  clock: Clock;
  /** Updates of the same kind closer together than this are skipped. */
  minIntervalMs?: number;
  logger?: Logger;
}

interface TaskProgress {
  expiresAtMs: number;
  lastKind?: ProgressView['kind'];
  lastSentAtMs: number;
  lastBody?: string;
  /** The token is dead, the reply is gone, or the final view was shown: no more edits. */
  done: boolean;
  /**
   * Edits for one task run one after another and only the latest waiting view is kept, so an older
   * view never overwrites a newer one and a slow webhook cannot build an unbounded backlog.
   */
  pending?: { task: Task; view: ProgressView };
  draining?: Promise<void>;
  /** Until this settles the reply does not exist yet (the command's answer is on its way). */
  shown?: Promise<unknown>;
}

/**
 * A `ProgressReporter` that edits the member's ephemeral reply through the interaction webhook.
 * Best effort: it never throws, stops at the token's expiry, and keeps an entry per task only until
 * then (a finished task's entry stays as a marker so a late, stale view cannot overwrite "done").
 */
export function createProgressReporter(options: ProgressReporterOptions): Required<ProgressReporter> & {
  /** Number of tasks currently tracked (for tests and metrics). */
  readonly trackedTasks: number;
} {
  const { rest, clock, logger } = options;
  const minIntervalMs = options.minIntervalMs ?? 5_000;
  const tasks = new Map<string, TaskProgress>();

  function sweep(nowMs: number): void {
    for (const [id, entry] of tasks) if (entry.expiresAtMs <= nowMs) tasks.delete(id);
  }

  async function send(task: Task, view: ProgressView, entry: TaskProgress): Promise<void> {
    const interaction = task.interaction;
    if (!interaction || entry.done) return;
    const now = clock.now();
    const nowMs = now.getTime();
    if (nowMs >= entry.expiresAtMs) {
      entry.done = true;
      return;
    }
    // Interaction webhooks share a small rate limit; a change of kind always goes through.
    if (entry.lastKind === view.kind && nowMs - entry.lastSentAtMs < minIntervalMs) return;
    const body = renderProgress(view, task, now);
    const serialized = JSON.stringify(body);
    if (entry.lastKind === view.kind && serialized === entry.lastBody) return;

    try {
      await rest.patch(Routes.webhookMessage(interaction.applicationId, interaction.token, '@original'), {
        body,
        auth: false,
      });
      entry.lastKind = view.kind;
      entry.lastSentAtMs = nowMs;
      entry.lastBody = serialized;
      if (isFinalView(task, view)) entry.done = true;
    } catch (error) {
      const classified = classifyDiscordError(error);
      // Log only the summary: the error's URL carries the interaction token.
      const details = { taskId: task.id, view: view.kind, kind: classified.kind, error: describeDiscordError(error) };
      if (classified.kind === 'expired' || classified.kind === 'undeliverable') {
        entry.done = true;
        logger?.debug(details, 'progress reply is gone; no more edits for this task');
      } else if (classified.kind === 'retry') {
        logger?.debug(details, 'progress edit failed (transient)');
      } else {
        logger?.warn(details, 'progress edit failed');
      }
    }
  }

  function entryFor(task: Task, expiresAtMs: number): TaskProgress {
    let entry = tasks.get(task.id);
    if (!entry) {
      entry = { expiresAtMs, lastSentAtMs: Number.NEGATIVE_INFINITY, done: false };
      tasks.set(task.id, entry);
    }
    return entry;
  }

  async function drain(entry: TaskProgress): Promise<void> {
    try {
      if (entry.shown) {
        await entry.shown.catch(() => undefined);
        entry.shown = undefined;
      }
      while (entry.pending) {
        const { task, view } = entry.pending;
        entry.pending = undefined;
        await send(task, view, entry).catch((error: unknown) => {
          logger?.warn({ taskId: task.id, error: describeDiscordError(error) }, 'progress update failed');
        });
      }
    } finally {
      // Cleared without an await after the last check, so a report arriving now starts a new drain.
      entry.draining = undefined;
    }
  }

  async function report(task: Task, view: ProgressView): Promise<void> {
    try {
      const interaction = task.interaction;
      if (!interaction) return;
      const nowMs = clock.now().getTime();
      sweep(nowMs);
      const expiresAtMs = Date.parse(interaction.expiresAt);
      if (!(nowMs < expiresAtMs)) return;
      const entry = entryFor(task, expiresAtMs);
      entry.pending = { task, view };
      entry.draining ??= drain(entry);
      await entry.draining;
    } catch (error) {
      logger?.warn({ taskId: task.id, error: describeDiscordError(error) }, 'progress update failed');
    }
  }

  function holdUntilShown(task: Task, shown: Promise<unknown>): void {
    const expiresAtMs = task.interaction ? Date.parse(task.interaction.expiresAt) : Number.NaN;
    if (!(clock.now().getTime() < expiresAtMs)) return;
    entryFor(task, expiresAtMs).shown = shown;
  }

  return {
    report,
    holdUntilShown,
    get trackedTasks() {
      return tasks.size;
    },
  };
}

/** After these the reply shows the end state; the interim timeout notice is not one of them. */
function isFinalView(task: Task, view: ProgressView): boolean {
  if (view.kind === 'failed' || view.kind === 'delivery_blocked') return true;
  return view.kind === 'finished' && task.outcome?.kind !== 'timed_out';
}
