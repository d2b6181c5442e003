import { describe, expect, it } from 'vitest';
import { estimateQueue, etaWorthAnEdit, type EtaLimits } from '../../src/core/eta.js';

const MIN = 60_000;
const caps = (maxActive: number, perGuild = 99): EtaLimits => ({ maxActive, concurrencyOf: () => perGuild });

describe('estimateQueue', () => {
  it('starts at once on a free slot and is ready one generation later', () => {
    expect(estimateQueue([], [{ guildId: 'g', expectedMs: 2 * MIN }], caps(2))).toEqual([{ startInMs: 0, finishInMs: 2 * MIN }]);
  });

  it('waits for the earliest running generation to end when every slot is taken', () => {
    const running = [
      { guildId: 'a', remainingMs: 3 * MIN },
      { guildId: 'b', remainingMs: 1 * MIN },
    ];
    const [first, second, third] = estimateQueue(
      running,
      [
        { guildId: 'c', expectedMs: 2 * MIN },
        { guildId: 'c', expectedMs: 2 * MIN },
        { guildId: 'c', expectedMs: 5 * MIN },
      ],
      caps(2),
    );
    expect(first).toEqual({ startInMs: 1 * MIN, finishInMs: 3 * MIN });
    // Two slots free at 3 min (a running one and the first waiting one).
    expect(second).toEqual({ startInMs: 3 * MIN, finishInMs: 5 * MIN });
    expect(third).toEqual({ startInMs: 3 * MIN, finishInMs: 8 * MIN });
  });

  it('honours the per-guild cap: a guild at its cap waits for its own slot', () => {
    const running = [{ guildId: 'a', remainingMs: 4 * MIN }];
    const [sameGuild, otherGuild] = estimateQueue(
      running,
      [
        { guildId: 'a', expectedMs: 1 * MIN },
        { guildId: 'b', expectedMs: 1 * MIN },
      ],
      { maxActive: 5, concurrencyOf: (guildId) => (guildId === 'a' ? 1 : 3) },
    );
    expect(sameGuild!.startInMs).toBe(4 * MIN);
    // The account has free slots: the other guild is not held back by guild a's cap.
    expect(otherGuild!.startInMs).toBe(0);
  });

  it('lets a job held back by its guild leave the earlier account slot to the next one (best fit)', () => {
    const running = [
      { guildId: 'a', remainingMs: 4 * MIN },
      { guildId: 'x', remainingMs: 1 * MIN },
    ];
    const [held, next] = estimateQueue(
      running,
      [
        { guildId: 'a', expectedMs: 2 * MIN },
        { guildId: 'b', expectedMs: 2 * MIN },
      ],
      { maxActive: 3, concurrencyOf: (guildId) => (guildId === 'a' ? 1 : 5) },
    );
    expect(held!.startInMs).toBe(4 * MIN);
    expect(next!.startInMs).toBe(0);
  });

  it('spaces starts by the submit gap', () => {
    const waiting = Array.from({ length: 3 }, () => ({ guildId: 'g', expectedMs: MIN }));
    const starts = estimateQueue([], waiting, { ...caps(10), submitMinIntervalMs: 2_000 }).map((eta) => eta?.startInMs);
    expect(starts).toEqual([0, 2_000, 4_000]);
  });

  it('with more running than the cap (lowered), the extra ones must end first', () => {
    const running = [1, 2, 3].map((m) => ({ guildId: 'g', remainingMs: m * MIN }));
    const [eta] = estimateQueue(running, [{ guildId: 'h', expectedMs: MIN }], caps(1));
    expect(eta!.startInMs).toBe(3 * MIN);
  });

  it('an overrunning generation is expected to end now, not in the past', () => {
    const [eta] = estimateQueue([{ guildId: 'g', remainingMs: -30_000 }], [{ guildId: 'g', expectedMs: MIN }], caps(1));
    expect(eta).toEqual({ startInMs: 0, finishInMs: MIN });
  });

  it('knows nothing while a running generation’s model has no learned time', () => {
    const estimates = estimateQueue([{ guildId: 'g', remainingMs: undefined }], [{ guildId: 'g', expectedMs: MIN }], caps(1));
    expect(estimates).toEqual([undefined]);
  });

  it('a waiting job of an unknown model has a start but no finish, and everyone behind it has nothing', () => {
    const estimates = estimateQueue(
      [],
      [
        { guildId: 'g', expectedMs: MIN },
        { guildId: 'g', expectedMs: undefined },
        { guildId: 'g', expectedMs: MIN },
      ],
      caps(1),
    );
    expect(estimates).toEqual([{ startInMs: 0, finishInMs: MIN }, { startInMs: MIN, finishInMs: undefined }, undefined]);
  });
});

describe('etaWorthAnEdit', () => {
  const now = 1_000_000;
  it('edits when an estimate appears or disappears', () => {
    expect(etaWorthAnEdit(undefined, now + MIN, now)).toBe(true);
    expect(etaWorthAnEdit(now + MIN, undefined, now)).toBe(true);
    expect(etaWorthAnEdit(undefined, undefined, now)).toBe(false);
  });

  it('ignores moves under a minute and under a fifth of the wait', () => {
    expect(etaWorthAnEdit(now + 3 * MIN, now + 3 * MIN + 50_000, now)).toBe(false);
    expect(etaWorthAnEdit(now + 3 * MIN, now + 4 * MIN, now)).toBe(true);
    // An hour away: 10 minutes is less than a fifth, 15 minutes is not.
    expect(etaWorthAnEdit(now + 60 * MIN, now + 70 * MIN, now)).toBe(false);
    expect(etaWorthAnEdit(now + 60 * MIN, now + 45 * MIN, now)).toBe(true);
  });
});
