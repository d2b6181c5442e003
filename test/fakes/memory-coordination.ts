import type { GuildLeases, SlotAnswer, SlotCandidate, SlotPool } from '../../src/core/ports.js';

/** What the fake answers while every slot is taken (as the Redis coordination does). */
export const FULL_RETRY_MS = 1_000;
/** What it answers while another process's guild has the turn. */
export const NOT_YOUR_TURN_RETRY_MS = 250;
/** A paced or paused process asks again after at most this long (so its offer stays fresh). */
export const MAX_RETRY_MS = 1_000;
/** An offer older than this belongs to a process that died. */
export const OFFER_STALE_MS = 5_000;

/** One operation a process sent to the fake, in call order. */
export interface CoordinationCall {
  instanceId: string;
  op: 'claim' | 'renew' | 'release' | 'tryTake' | 'withdraw' | 'releaseSlot' | 'pause' | 'reconcile' | 'guildsHoldingSlots';
  args: readonly string[];
}

/** What one process sees: its leases and the shared slot pool. */
export interface MemoryCoordinationView {
  readonly instanceId: string;
  readonly leases: GuildLeases;
  readonly slots: SlotPool;
}

/**
 * What Redis holds for every process, in memory, with the semantics of the Lua scripts of
 * `src/store/redis-coordination.ts`: exclusive leases that expire (by `now`, `Date.now` unless
 * given, so vitest fake timers drive it), a slot cap with idempotent takes and submit pacing,
 * reconcile, and slot-freed notices to every process (the releaser too, as Redis pub/sub does).
 * Every operation answers asynchronously (after `latencyMs` when set); a partitioned process's
 * operations reject, as with an unreachable Redis.
 */
export class MemoryCoordination {
  readonly calls: CoordinationCall[] = [];
  private readonly leaseTable = new Map<string, { holder: string; expiresAtMs: number }>();
  private readonly slotTable = new Map<string, string>();
  private paceUntilMs = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Map<string, (() => void)[]>();
  private readonly unreachable = new Set<string>();
  /** The round-robin: each waiting guild's last-served round, when it was last offered, and by whom. */
  private readonly turns = new Map<string, { round: number; offeredAtMs: number; by: string }>();
  private round = 0;

  constructor(
    private readonly options: {
      leaseTtlMs?: number;
      maxActiveGenerations?: number;
      submitMinIntervalMs?: number;
      /** Delay of every operation (uses the global, possibly fake, timers). */
      latencyMs?: number;
      now?: () => number;
    } = {},
  ) {}

  /** One process's view, written into the leases it takes as `instanceId`. */
  instance(instanceId: string): MemoryCoordinationView {
    const leases: GuildLeases = {
      claim: (guildId) => this.run(instanceId, 'claim', [guildId], () => this.claim(instanceId, guildId)),
      renew: (guildIds) => this.run(instanceId, 'renew', guildIds, () => guildIds.filter((id) => !this.renewOne(instanceId, id))),
      release: (guildIds) =>
        this.run(instanceId, 'release', guildIds, () => {
          for (const id of guildIds) if (this.leaseHolder(id) === instanceId) this.leaseTable.delete(id);
        }),
    };
    const slots: SlotPool = {
      tryTake: (candidates) =>
        this.run(
          instanceId,
          'tryTake',
          candidates.flatMap((c) => [c.guildId, c.taskId]),
          () => this.take(instanceId, candidates),
        ),
      withdraw: () => this.run(instanceId, 'withdraw', [], () => this.withdraw(instanceId)),
      release: (taskId) =>
        this.run(instanceId, 'releaseSlot', [taskId], () => {
          if (this.slotTable.delete(taskId)) this.publishFreed();
        }),
      pause: (ms) =>
        this.run(instanceId, 'pause', [String(ms)], () => {
          this.paceUntilMs = Math.max(this.paceUntilMs, this.now() + ms);
        }),
      reconcile: (guildId, runningTaskIds) =>
        this.run(instanceId, 'reconcile', [guildId, ...runningTaskIds], () => {
          for (const [taskId, owner] of this.slotTable) {
            if (owner === guildId && !runningTaskIds.includes(taskId)) this.slotTable.delete(taskId);
          }
          for (const taskId of runningTaskIds) this.slotTable.set(taskId, guildId);
          this.publishFreed();
        }),
      guildsHoldingSlots: () => this.run(instanceId, 'guildsHoldingSlots', [], () => [...new Set(this.slotTable.values())]),
      onFreed: (listener) => {
        const list = this.listeners.get(instanceId) ?? [];
        list.push(listener);
        this.listeners.set(instanceId, list);
      },
    };
    return { instanceId, leases, slots };
  }

  /** Cuts a process off (its operations reject) or lets it reach the store again. */
  setReachable(instanceId: string, reachable: boolean): void {
    if (reachable) this.unreachable.delete(instanceId);
    else this.unreachable.add(instanceId);
  }

  /** The process holding a guild's lease right now, if any. */
  leaseHolder(guildId: string): string | undefined {
    const lease = this.leaseTable.get(guildId);
    if (!lease) return undefined;
    if (lease.expiresAtMs <= this.now()) {
      this.leaseTable.delete(guildId);
      return undefined;
    }
    return lease.holder;
  }

  /** Gives a guild's lease to a process directly (one that took it earlier, perhaps since dead). */
  plantLease(guildId: string, holder: string, ttlMs = this.ttl()): void {
    this.leaseTable.set(guildId, { holder, expiresAtMs: this.now() + ttlMs });
  }

  /** Every held slot: task id → guild id. */
  heldSlots(): Map<string, string> {
    return new Map(this.slotTable);
  }

  /** Puts a slot in the pool directly (a leak left by a crashed process). */
  plantSlot(taskId: string, guildId: string): void {
    this.slotTable.set(taskId, guildId);
  }

  /** Calls of one operation (optionally of one process), in call order. */
  callsOf(op: CoordinationCall['op'], instanceId?: string): CoordinationCall[] {
    return this.calls.filter((c) => c.op === op && (instanceId === undefined || c.instanceId === instanceId));
  }

  private async run<T>(instanceId: string, op: CoordinationCall['op'], args: readonly string[], body: () => T): Promise<T> {
    this.calls.push({ instanceId, op, args: [...args] });
    const latencyMs = this.options.latencyMs ?? 0;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    else await Promise.resolve();
    if (this.unreachable.has(instanceId)) throw new Error(`store unreachable from ${instanceId}`);
    return body();
  }

  private claim(instanceId: string, guildId: string): boolean {
    const holder = this.leaseHolder(guildId);
    if (holder !== undefined && holder !== instanceId) return false;
    this.leaseTable.set(guildId, { holder: instanceId, expiresAtMs: this.now() + this.ttl() });
    return true;
  }

  private renewOne(instanceId: string, guildId: string): boolean {
    const holder = this.leaseHolder(guildId);
    if (holder !== undefined && holder !== instanceId) return false;
    this.leaseTable.set(guildId, { holder: instanceId, expiresAtMs: this.now() + this.ttl() });
    return true;
  }

  private take(instanceId: string, candidates: readonly SlotCandidate[]): SlotAnswer {
    const held = candidates.find((c) => this.slotTable.has(c.taskId));
    if (held) return { taken: true, ...held };
    const offered = new Map(candidates.map((c) => [c.guildId, c.taskId]));
    const nowMs = this.now();
    for (const [guildId, turn] of this.turns) {
      if (turn.by === instanceId && !offered.has(guildId)) this.turns.delete(guildId);
    }
    for (const guildId of offered.keys()) {
      const turn = this.turns.get(guildId);
      this.turns.set(guildId, { round: turn?.round ?? this.round - 0.5, offeredAtMs: nowMs, by: instanceId });
    }
    for (const [guildId, turn] of this.turns) if (nowMs - turn.offeredAtMs > OFFER_STALE_MS) this.turns.delete(guildId);

    if (this.slotTable.size >= (this.options.maxActiveGenerations ?? 5)) return { taken: false, retryInMs: FULL_RETRY_MS };
    const waitMs = this.paceUntilMs - nowMs;
    if (waitMs > 0) return { taken: false, retryInMs: Math.min(waitMs, MAX_RETRY_MS) };
    // The guild served longest ago; ties by guild id, as Redis orders equal scores.
    const [head] = [...this.turns].sort(([a, x], [b, y]) => x.round - y.round || (a < b ? -1 : a > b ? 1 : 0))[0] ?? [];
    const taskId = head === undefined ? undefined : offered.get(head);
    if (head === undefined || taskId === undefined) return { taken: false, retryInMs: NOT_YOUR_TURN_RETRY_MS };
    this.slotTable.set(taskId, head);
    const paceMs = this.options.submitMinIntervalMs ?? 0;
    if (paceMs > 0) this.paceUntilMs = nowMs + paceMs;
    this.turns.set(head, { round: ++this.round, offeredAtMs: nowMs, by: instanceId });
    return { taken: true, guildId: head, taskId };
  }

  private withdraw(instanceId: string): void {
    for (const [guildId, turn] of this.turns) if (turn.by === instanceId) this.turns.delete(guildId);
  }

  /** Pub/sub delivers later than the command's reply, as a separate I/O event. */
  private publishFreed(): void {
    for (const list of this.listeners.values()) {
      for (const listener of list) setTimeout(listener, 0);
    }
  }

  private ttl(): number {
    return this.options.leaseTtlMs ?? 30_000;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
