import type { GuildLeases, Logger, Timers } from './ports.js';

// How often a guild held by another process is asked for (bounded by the renewal period).
const WANTED_RETRY_MS = 1_000;

/** What ownership changes mean to the rest of the bot (wired in the composition root). */
export interface OwnershipEvents {
  /** This process now owns these guilds: load their unfinished tasks from the ledger and follow them. */
  onAcquired(guildIds: readonly string[]): Promise<void>;
  /** Another process owns this guild now (our lease lapsed): stop following its tasks here. */
  onLost(guildId: string): void;
}

/**
 * Which guilds' tasks this process follows. With several processes on one Redis, a guild's tasks
 * belong to the process holding the guild's shard, through a lease that expires when that process
 * dies; a guild whose lease another process still holds is asked for again every second, so a
 * restarted process takes its guilds back as soon as the old lease expires (or is given back).
 */
export class GuildOwnership {
  private readonly owned = new Set<string>();
  /** Guilds of our shards whose lease another process holds (or held when we last asked). */
  private readonly wanted = new Set<string>();
  private readonly claiming = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerDelayMs = 0;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: {
      leases: GuildLeases;
      timers: Timers;
      logger: Logger;
      /** How often leases are renewed and wanted guilds asked for (a third of the lease TTL). */
      renewEveryMs: number;
      events: OwnershipEvents;
    },
  ) {}

  /** Claims `guildIds` at boot (guilds of our shards with unfinished work) and starts renewing. */
  async start(guildIds: readonly string[]): Promise<void> {
    // Renewals first: loading many guilds' tasks may take longer than a lease lasts.
    this.schedule();
    await this.claimMany(guildIds);
  }

  /** Whether this process owns the guild's tasks; claims the lease when it is free (first use of a guild). */
  async ensure(guildId: string): Promise<boolean> {
    if (this.owned.has(guildId)) return true;
    return this.claimOne(guildId);
  }

  /** Whether this process owns the guild right now (no I/O). */
  owns(guildId: string): boolean {
    return this.owned.has(guildId);
  }

  /** Guilds owned, and guilds waiting for another process's lease to expire. */
  counts(): { owned: number; waiting: number } {
    return { owned: this.owned.size, waiting: this.wanted.size };
  }

  /** Stops renewing and gives every lease back, so a successor takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.deps.timers.clearTimeout(this.timer);
    // A claim still on its way (a command's ensure) is awaited too, so its lease is given back as well.
    await Promise.allSettled([this.ticking, ...this.claiming.values()]);
    const owned = [...this.owned];
    this.owned.clear();
    if (owned.length > 0) await this.deps.leases.release(owned);
  }

  private async claimOne(guildId: string): Promise<boolean> {
    await this.claimMany([guildId]);
    return this.owned.has(guildId);
  }

  /** Claims guilds not owned yet; a guild already being claimed (boot and a command at once) is awaited, not claimed twice. */
  private async claimMany(guildIds: readonly string[]): Promise<void> {
    if (this.stopped) return;
    const inProgress = guildIds.flatMap((id) => this.claiming.get(id) ?? []);
    const candidates = guildIds.filter((id) => !this.owned.has(id) && !this.claiming.has(id));
    if (candidates.length > 0) {
      const claim = this.claimNow(candidates).finally(() => {
        for (const id of candidates) if (this.claiming.get(id) === claim) this.claiming.delete(id);
      });
      for (const id of candidates) this.claiming.set(id, claim);
      inProgress.push(claim);
    }
    await Promise.all(inProgress);
  }

  private async claimNow(candidates: readonly string[]): Promise<void> {
    const answers = await Promise.all(
      candidates.map((id) =>
        this.deps.leases.claim(id).catch((err: unknown) => {
          this.deps.logger.warn({ err, guildId: id }, 'could not claim a guild lease');
          return false;
        }),
      ),
    );
    const acquired: string[] = [];
    const newlyWaiting: string[] = [];
    candidates.forEach((id, index) => {
      if (answers[index]) {
        this.owned.add(id);
        this.wanted.delete(id);
        acquired.push(id);
      } else if (!this.wanted.has(id)) {
        this.wanted.add(id);
        newlyWaiting.push(id);
      }
    });
    if (newlyWaiting.length > 0) {
      this.deps.logger.info({ guilds: newlyWaiting }, 'guilds held by another process; waiting for their leases to expire');
      // The next tick may be a whole renewal period away; a waited-for guild is asked for sooner.
      if (this.timer && this.timerDelayMs > this.retryDelayMs()) {
        this.deps.timers.clearTimeout(this.timer);
        this.schedule();
      }
    }
    if (acquired.length === 0) return;
    this.deps.logger.info({ guilds: acquired }, 'guilds taken over');
    try {
      await this.deps.events.onAcquired(acquired);
    } catch (err) {
      // Their tasks could not be loaded (store down): give them up and take them over again later.
      this.deps.logger.error({ err, guilds: acquired }, 'could not load the tasks of guilds taken over; trying again');
      for (const id of acquired) {
        this.owned.delete(id);
        this.wanted.add(id);
      }
      await this.deps.leases.release(acquired).catch(() => undefined);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    // A guild we wait for is asked for every second: a predecessor that stopped gracefully released
    // its lease, and its members should not wait a whole renewal period for the takeover.
    const delayMs = this.wanted.size > 0 ? this.retryDelayMs() : this.deps.renewEveryMs;
    this.timerDelayMs = delayMs;
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = undefined;
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.schedule();
      });
    }, delayMs);
  }

  private retryDelayMs(): number {
    return Math.min(this.deps.renewEveryMs, WANTED_RETRY_MS);
  }

  private async tick(): Promise<void> {
    const { leases, logger, events } = this.deps;
    if (this.owned.size > 0) {
      let lost: string[] = [];
      try {
        lost = await leases.renew([...this.owned]);
      } catch (err) {
        // Redis unreachable: keep working; the leases last a TTL, and the next renewal may succeed.
        logger.warn({ err }, 'could not renew guild leases');
      }
      for (const guildId of lost) {
        if (!this.owned.delete(guildId)) continue;
        this.wanted.add(guildId);
        logger.warn({ guildId }, 'guild lease lost to another process; no longer following its tasks here');
        events.onLost(guildId);
      }
    }
    if (this.wanted.size > 0) await this.claimMany([...this.wanted]);
  }
}
