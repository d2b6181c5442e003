import type { Clock, Logger, TaskStore, Timers } from '../core/ports.js';
import type { Task } from '../core/task.js';
import { GuildPoller, type PollSchedule, type PollerEvents } from './guild-poller.js';
import type { GenerationTimeEstimator } from './poll-cadence.js';
import type { StatusBatcherSource } from './status-batcher.js';

/** One poller per guild with followed tasks: started with its first task, dropped when it has none. */
export class PollerRegistry {
  private readonly pollers = new Map<string, GuildPoller>();
  private stopped = false;

  constructor(
    private readonly deps: {
      store: TaskStore;
      /** The per-service batchers (`new StatusBatchers(…)`; a lone StatusBatcher also works). */
      batcher: StatusBatcherSource;
      clock: Clock;
      timers: Timers;
      logger: Logger;
      schedule: PollSchedule;
      events: PollerEvents;
      estimator?: GenerationTimeEstimator;
    },
  ) {}

  /** Follows a submitted (or timed-out) task in its guild's poller. */
  follow(task: Task, firstCheckInMs?: number): void {
    if (this.stopped) return;
    let poller = this.pollers.get(task.guildId);
    if (!poller) {
      poller = new GuildPoller(task.guildId, {
        ...this.deps,
        onEmpty: (guildId) => {
          if (this.pollers.get(guildId) === poller) this.pollers.delete(guildId);
        },
      });
      this.pollers.set(task.guildId, poller);
    }
    poller.follow(task, firstCheckInMs);
  }

  /** Stops following a task; an emptied guild poller stops at its next pass. */
  unfollow(task: Task): void {
    this.pollers.get(task.guildId)?.unfollow(task.id);
  }

  /** Stops following a guild's tasks here (another process took the guild over). */
  forgetGuild(guildId: string): void {
    this.pollers.get(guildId)?.stop();
    this.pollers.delete(guildId);
  }

  /** Guilds with a running poller. */
  activeGuildCount(): number {
    return this.pollers.size;
  }

  /** Tasks followed across every guild. */
  followedCount(): number {
    let count = 0;
    for (const poller of this.pollers.values()) count += poller.size;
    return count;
  }

  /** Stops every poller. */
  stop(): void {
    this.stopped = true;
    for (const poller of this.pollers.values()) poller.stop();
    this.pollers.clear();
  }
}
