import type { Clock, DeliveryCheck, Logger, ProgressReporter, Publisher, PublishOutcome, TaskStore, Timers } from './ports.js';
import { transition, type Task } from './task.js';

/** States whose outcome is ready to publish. */
const PUBLISHABLE = new Set(['succeeded', 'failed', 'interrupted', 'timed_out', 'posting']);
const MAX_PUBLISH_ATTEMPTS = 12;
const MAX_RETRY_DELAY_MS = 5 * 60_000;

/**
 * Publishes finished tasks exactly once: `posting` is written before the post and `delivered`
 * after it; a repeat after a crash uses the same nonce, and looks for the earlier message first.
 */
export class DeliveryService {
  private readonly inProgress = new Set<string>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly deps: {
      store: TaskStore;
      publisher: Publisher;
      progress: ProgressReporter;
      clock: Clock;
      timers: Timers;
      logger: Logger;
      /** Called once when a task reaches `delivered`, `undeliverable` or a posted timeout notice. */
      onPublished?: (task: Task) => void;
      /** The bot's view of Discord: no post (and no retries) into a server the bot is no longer in. */
      deliveryCheck?: DeliveryCheck;
    },
  ) {}

  /** Starts publishing a task's outcome in the background; repeated calls for one task coalesce. */
  deliver(taskId: string, options: { recovered?: boolean } = {}): void {
    if (this.stopped || this.inProgress.has(taskId)) return;
    this.inProgress.add(taskId);
    const work = this.publishOnce(taskId, options.recovered ?? false)
      .catch((err: unknown) => this.deps.logger.error({ err, taskId }, 'delivery failed unexpectedly'))
      .finally(() => {
        this.inProgress.delete(taskId);
        this.pending.delete(work);
      });
    this.pending.add(work);
  }

  /** Resolves when every delivery started so far has settled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops retries and waits for posts in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retryTimers.values()) this.deps.timers.clearTimeout(timer);
    this.retryTimers.clear();
    await this.idle();
  }

  private async publishOnce(taskId: string, recovered: boolean): Promise<void> {
    const { store, publisher, clock, logger } = this.deps;
    const log = logger.child({ taskId });
    let task = await store.get(taskId);
    if (!task || !PUBLISHABLE.has(task.state)) return;
    if (task.state === 'timed_out' && task.timeoutNoticePosted) return;

    // A `posting` task found at boot may have been posted already: look before posting again.
    const lookForExisting = task.state === 'posting' && recovered;
    if (task.state !== 'posting') {
      task = await store.update(taskId, (t) => transition(t, 'posting', clock.now(), { postingStartedAt: clock.now().toISOString() }));
    }

    let result: PublishOutcome;
    try {
      // Only a server the bot left is judged from the cache: a channel or permission problem is left
      // to Discord's answer, so a paid-for video is never dropped on a stale cache alone.
      result = this.botLeft(task)
        ? { kind: 'undeliverable', code: 'guild_gone', reason: 'the bot is no longer in this server' }
        : await publisher.publish(task, { lookForExisting });
    } catch (err) {
      // The Publisher returns values; a throw is a bug, but a paid-for result must not stay stuck in `posting`.
      log.error({ err }, 'publish threw');
      result = { kind: 'retry', retryAfterMs: 0, reason: 'internal error' };
    }
    switch (result.kind) {
      case 'posted': {
        this.attempts.delete(taskId);
        const isNotice = task.outcome?.kind === 'timed_out';
        const done = await store.update(taskId, (t) =>
          isNotice
            ? transition(t, 'timed_out', clock.now(), { timeoutNoticePosted: true })
            : transition(t, 'delivered', clock.now(), {
                resultMessageId: result.messageId,
                deliveryMode: result.mode,
                deliveredAt: clock.now().toISOString(),
              }),
        );
        log.info(
          { guildId: done.guildId, messageId: result.messageId, mode: result.mode },
          isNotice ? 'timeout notice posted' : 'delivered',
        );
        void this.deps.progress.report(done, { kind: 'finished' });
        this.deps.onPublished?.(done);
        return;
      }
      case 'undeliverable': {
        this.attempts.delete(taskId);
        const done = await store.update(taskId, (t) =>
          transition(t, 'undeliverable', clock.now(), { undeliverableReason: `${result.code}: ${result.reason}` }),
        );
        log.warn({ guildId: done.guildId, channelId: done.channelId, code: result.code, reason: result.reason }, 'result undeliverable');
        void this.deps.progress.report(done, {
          kind: 'failed',
          reason: { code: 'not_posted', params: { channelId: done.channelId, reason: result.reason } },
        });
        this.deps.onPublished?.(done);
        return;
      }
      case 'retry': {
        const attempt = (this.attempts.get(taskId) ?? 0) + 1;
        this.attempts.set(taskId, attempt);
        if (attempt >= MAX_PUBLISH_ATTEMPTS) {
          this.attempts.delete(taskId);
          // A timeout notice that cannot get through must not cost the late video: back to the slow check.
          const isNotice = task.outcome?.kind === 'timed_out';
          const done = await store.update(taskId, (t) =>
            isNotice
              ? transition(t, 'timed_out', clock.now())
              : transition(t, 'undeliverable', clock.now(), { undeliverableReason: `gave up: ${result.reason}` }),
          );
          log.error(
            { reason: result.reason, attempt },
            isNotice ? 'timeout notice not posted after retries' : 'result undeliverable after retries',
          );
          this.deps.onPublished?.(done);
          return;
        }
        const delayMs = Math.min(Math.max(result.retryAfterMs, 1000 * 2 ** (attempt - 1)), MAX_RETRY_DELAY_MS);
        log.warn({ reason: result.reason, attempt, delayMs }, 'post failed; will retry');
        this.scheduleRetry(taskId, delayMs);
        return;
      }
    }
  }

  private botLeft(task: Task): boolean {
    const verdict = this.deps.deliveryCheck?.check(task);
    return verdict?.ok === false && verdict.reason === 'guild_gone';
  }

  private scheduleRetry(taskId: string, delayMs: number): void {
    if (this.stopped) return;
    const existing = this.retryTimers.get(taskId);
    if (existing) this.deps.timers.clearTimeout(existing);
    this.retryTimers.set(
      taskId,
      this.deps.timers.setTimeout(() => {
        this.retryTimers.delete(taskId);
        // Retried posts reuse the nonce; the publisher also checks history after a delay.
        this.deliver(taskId, { recovered: true });
      }, delayMs),
    );
  }
}
