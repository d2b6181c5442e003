import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GuildOwnership } from '../../src/core/guild-ownership.js';
import { systemTimers } from '../../src/core/ports.js';
import { MemoryCoordination } from '../fakes/memory-coordination.js';
import { SilentLogger, type LogLine } from '../fakes/silent-logger.js';

const START = new Date('2025-03-01T12:00:00.000Z');
const TTL_MS = 30_000;
const RENEW_EVERY_MS = 10_000;

/** One process's ownership over the shared fake, recording its events. */
function ownershipOf(shared: MemoryCoordination, instanceId: string, onAcquired?: (guildIds: readonly string[]) => Promise<void>) {
  const acquired: string[][] = [];
  const lost: string[] = [];
  const logLines: LogLine[] = [];
  const ownership = new GuildOwnership({
    leases: shared.instance(instanceId).leases,
    timers: systemTimers,
    logger: new SilentLogger(logLines),
    renewEveryMs: RENEW_EVERY_MS,
    events: {
      onAcquired: async (guildIds) => {
        acquired.push([...guildIds]);
        await onAcquired?.(guildIds);
      },
      onLost: (guildId) => lost.push(guildId),
    },
  });
  return { ownership, acquired, lost, logLines };
}

describe('GuildOwnership', () => {
  let shared: MemoryCoordination;
  const started: GuildOwnership[] = [];

  beforeEach(() => {
    vi.useFakeTimers({ now: START });
    shared = new MemoryCoordination({ leaseTtlMs: TTL_MS });
  });
  afterEach(async () => {
    // With latency the releases wait on (fake) timers too.
    const stopping = Promise.all(started.splice(0).map((ownership) => ownership.stop()));
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    vi.useRealTimers();
  });

  function track<T extends { ownership: GuildOwnership }>(process: T): T {
    started.push(process.ownership);
    return process;
  }

  it('claims free guilds at start and reports them in one onAcquired call', async () => {
    const a = track(ownershipOf(shared, 'A'));
    await a.ownership.start(['g1', 'g2']);

    expect(a.acquired).toEqual([['g1', 'g2']]);
    expect(a.ownership.owns('g1')).toBe(true);
    expect(a.ownership.owns('g2')).toBe(true);
    expect(a.ownership.owns('g3')).toBe(false);
    expect(a.ownership.counts()).toEqual({ owned: 2, waiting: 0 });
    expect(shared.leaseHolder('g1')).toBe('A');
    expect(shared.leaseHolder('g2')).toBe('A');
  });

  it('keeps its leases alive by renewing them before they expire', async () => {
    const a = track(ownershipOf(shared, 'A'));
    await a.ownership.start(['g1']);
    // Four TTLs later the lease is still ours: each tick renewed it.
    await vi.advanceTimersByTimeAsync(4 * TTL_MS);
    expect(shared.leaseHolder('g1')).toBe('A');
    expect(shared.callsOf('renew', 'A').length).toBeGreaterThanOrEqual(11);
    expect(await shared.instance('B').leases.claim('g1')).toBe(false);
    expect(a.acquired).toEqual([['g1']]);
    expect(a.lost).toEqual([]);
  });

  it('keeps renewing while loading the guilds it took at start takes longer than a lease lasts', async () => {
    const a = track(ownershipOf(shared, 'A', () => new Promise((resolve) => setTimeout(resolve, 3 * TTL_MS))));
    const starting = a.ownership.start(['g1']);
    await vi.advanceTimersByTimeAsync(3 * TTL_MS);
    await starting;
    expect(shared.leaseHolder('g1')).toBe('A');
    expect(a.lost).toEqual([]);
    expect(await shared.instance('B').leases.claim('g1')).toBe(false);
  });

  it('asks for a guild it waits for every second, not once per renewal period, so a released lease is taken at once', async () => {
    const b = shared.instance('B');
    expect(await b.leases.claim('g1')).toBe(true);
    const a = track(ownershipOf(shared, 'A'));
    await a.ownership.start([]);
    // The first wait starts after start(): the pending tick was a whole renewal period away.
    expect(await a.ownership.ensure('g1')).toBe(false);
    await b.leases.release(['g1']);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(a.ownership.owns('g1')).toBe(true);
    expect(a.acquired).toEqual([['g1']]);
  });

  it('waits for a guild another process holds and takes it over once that lease expires', async () => {
    // B (a process that died) holds g2 and never renews it.
    expect(await shared.instance('B').leases.claim('g2')).toBe(true);
    const a = track(ownershipOf(shared, 'A'));
    await a.ownership.start(['g1', 'g2']);

    expect(a.acquired).toEqual([['g1']]);
    expect(a.ownership.owns('g2')).toBe(false);
    expect(a.ownership.counts()).toEqual({ owned: 1, waiting: 1 });

    // Renewal ticks before the expiry ask again but do not get it.
    await vi.advanceTimersByTimeAsync(TTL_MS - 1_000);
    expect(shared.callsOf('claim', 'A').filter((c) => c.args[0] === 'g2').length).toBeGreaterThanOrEqual(3);
    expect(a.ownership.owns('g2')).toBe(false);
    expect(a.acquired).toEqual([['g1']]);

    // The first tick after B's lease expired takes it over.
    await vi.advanceTimersByTimeAsync(RENEW_EVERY_MS);
    expect(a.acquired).toEqual([['g1'], ['g2']]);
    expect(a.ownership.owns('g2')).toBe(true);
    expect(a.ownership.counts()).toEqual({ owned: 2, waiting: 0 });
    expect(shared.leaseHolder('g2')).toBe('A');
  });

  it('reports a lease lost on renewal, stops owning the guild and takes it back when it is free again', async () => {
    const a = track(ownershipOf(shared, 'A'));
    await a.ownership.start(['g1', 'g2']);

    // A cannot reach the store for longer than a TTL: it keeps working meanwhile…
    shared.setReachable('A', false);
    await vi.advanceTimersByTimeAsync(TTL_MS + 1_000);
    expect(a.ownership.owns('g1')).toBe(true);
    expect(a.lost).toEqual([]);
    expect(a.logLines.some((l) => l.level === 'warn' && l.msg === 'could not renew guild leases')).toBe(true);

    // …while B takes g1 over. A's next renewal learns it lost g1; g2 expired but nobody took it, so
    // A keeps it without dropping and reloading its tasks.
    const b = shared.instance('B');
    expect(await b.leases.claim('g1')).toBe(true);
    shared.setReachable('A', true);
    await vi.advanceTimersByTimeAsync(RENEW_EVERY_MS);
    expect(a.lost).toEqual(['g1']);
    expect(a.ownership.owns('g1')).toBe(false);
    expect(a.ownership.owns('g2')).toBe(true);
    expect(shared.leaseHolder('g2')).toBe('A');
    expect(a.acquired).toEqual([['g1', 'g2']]);
    expect(a.ownership.counts()).toEqual({ owned: 1, waiting: 1 });
    expect(shared.leaseHolder('g1')).toBe('B');

    // B gives g1 back: A's next tick takes it again.
    await b.leases.release(['g1']);
    await vi.advanceTimersByTimeAsync(RENEW_EVERY_MS);
    expect(a.acquired).toEqual([['g1', 'g2'], ['g1']]);
    expect(a.ownership.owns('g1')).toBe(true);
    expect(a.lost).toEqual(['g1']);
    expect(shared.leaseHolder('g1')).toBe('A');
  });

  it('gives the guilds back when onAcquired throws, and loads them again on a later tick', async () => {
    let failures = 1;
    const a = track(
      ownershipOf(shared, 'A', () => {
        if (failures-- > 0) return Promise.reject(new Error('store down'));
        return Promise.resolve();
      }),
    );
    await a.ownership.start(['g1']);

    expect(a.acquired).toEqual([['g1']]);
    expect(a.ownership.owns('g1')).toBe(false);
    expect(a.ownership.counts()).toEqual({ owned: 0, waiting: 1 });
    // Released, so another process could take it at once.
    expect(shared.leaseHolder('g1')).toBeUndefined();
    expect(shared.callsOf('release', 'A')).toEqual([{ instanceId: 'A', op: 'release', args: ['g1'] }]);

    await vi.advanceTimersByTimeAsync(RENEW_EVERY_MS);
    expect(a.acquired).toEqual([['g1'], ['g1']]);
    expect(a.ownership.owns('g1')).toBe(true);
    expect(shared.leaseHolder('g1')).toBe('A');

    // Loaded: no further onAcquired on later ticks.
    await vi.advanceTimersByTimeAsync(3 * RENEW_EVERY_MS);
    expect(a.acquired).toHaveLength(2);
  });

  it('stop() gives every lease back and stops renewing', async () => {
    const a = ownershipOf(shared, 'A');
    await a.ownership.start(['g1', 'g2']);
    expect(await a.ownership.ensure('g3')).toBe(true);
    await a.ownership.stop();

    for (const guildId of ['g1', 'g2', 'g3']) expect(shared.leaseHolder(guildId)).toBeUndefined();
    expect(a.ownership.counts().owned).toBe(0);
    const callsAtStop = shared.calls.length;
    await vi.advanceTimersByTimeAsync(5 * RENEW_EVERY_MS);
    expect(shared.calls.length).toBe(callsAtStop);
    // A successor takes over at once instead of waiting for a TTL.
    expect(await shared.instance('B').leases.claim('g2')).toBe(true);
  });

  it('stop() also gives back a lease whose claim was still on its way', async () => {
    shared = new MemoryCoordination({ leaseTtlMs: TTL_MS, latencyMs: 50 });
    const a = ownershipOf(shared, 'A');
    await a.ownership.start([]);
    const ensured = a.ownership.ensure('g1');
    await vi.advanceTimersByTimeAsync(10);
    const stopped = a.ownership.stop();
    await vi.advanceTimersByTimeAsync(200);
    await stopped;
    await ensured;

    expect(shared.leaseHolder('g1')).toBeUndefined();
    expect(a.ownership.owns('g1')).toBe(false);
  });

  it('ensure(): claims a new guild once for concurrent calls, and not again once owned', async () => {
    const a = track(ownershipOf(shared, 'A'));
    await a.ownership.start([]);

    expect(await Promise.all([a.ownership.ensure('g9'), a.ownership.ensure('g9')])).toEqual([true, true]);
    expect(shared.callsOf('claim', 'A')).toEqual([{ instanceId: 'A', op: 'claim', args: ['g9'] }]);
    expect(a.acquired).toEqual([['g9']]);

    expect(await a.ownership.ensure('g9')).toBe(true);
    expect(shared.callsOf('claim', 'A')).toHaveLength(1);
  });

  it('ensure(): false for a guild another process holds; the guild then waits for that lease', async () => {
    expect(await shared.instance('B').leases.claim('g1')).toBe(true);
    const a = track(ownershipOf(shared, 'A'));
    await a.ownership.start([]);

    expect(await a.ownership.ensure('g1')).toBe(false);
    expect(a.ownership.counts()).toEqual({ owned: 0, waiting: 1 });
    expect(a.acquired).toEqual([]);

    await vi.advanceTimersByTimeAsync(TTL_MS + RENEW_EVERY_MS);
    expect(a.acquired).toEqual([['g1']]);
    expect(await a.ownership.ensure('g1')).toBe(true);
  });

  it('a guild claimed by start and by ensure at the same time is acquired once', async () => {
    shared = new MemoryCoordination({ leaseTtlMs: TTL_MS, latencyMs: 20 });
    const a = track(ownershipOf(shared, 'A'));
    const starting = a.ownership.start(['g1']);
    const ensured = a.ownership.ensure('g1');
    await vi.advanceTimersByTimeAsync(100);
    await starting;

    expect(await ensured).toBe(true);
    expect(a.acquired).toEqual([['g1']]);
    expect(a.ownership.counts()).toEqual({ owned: 1, waiting: 0 });
  });

  it('a guild claimed by a renewal tick and by ensure at the same time is acquired once', async () => {
    shared = new MemoryCoordination({ leaseTtlMs: TTL_MS, latencyMs: 20 });
    // B holds g1 for a while; A waits for it.
    const expiresInMs = 2_500;
    shared.plantLease('g1', 'B', expiresInMs);
    const a = track(ownershipOf(shared, 'A'));
    const starting = a.ownership.start(['g1']);
    await vi.advanceTimersByTimeAsync(20);
    await starting;
    expect(a.ownership.counts()).toEqual({ owned: 0, waiting: 1 });

    // The first tick's claim after the expiry is on its way when a command for g1 arrives.
    await vi.advanceTimersByTimeAsync(expiresInMs - 20);
    const claimsAtExpiry = shared.callsOf('claim', 'A').length;
    while (shared.callsOf('claim', 'A').length === claimsAtExpiry) await vi.advanceTimersByTimeAsync(1);
    expect(a.ownership.owns('g1')).toBe(false);
    const ensured = a.ownership.ensure('g1');
    await vi.advanceTimersByTimeAsync(100);

    expect(await ensured).toBe(true);
    expect(a.acquired).toEqual([['g1']]);
    expect(shared.callsOf('claim', 'A')).toHaveLength(claimsAtExpiry + 1);
    expect(a.ownership.counts()).toEqual({ owned: 1, waiting: 0 });
  });
});
