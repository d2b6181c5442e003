import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCoreHarness, newGeneration } from '../fakes/core-harness.js';

const START = new Date('2025-03-01T12:00:00.000Z');
const POLL_MS = 5_000;

/**
 * "Stop following" a running task (README, `/sora cancel`): Sora has no cancel, so the generation
 * keeps its place at the provider. Its global slot is freed once, when the provider reports it
 * finished or when the bot gives up following it; only then does the next queued task go out.
 */
describe('cancelling a running task (stop following)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** One global slot: A runs, B waits behind it. */
  async function oneSlotTakenAndOneWaiting(schedule: { pollGiveUpMs?: number } = {}) {
    const h = createCoreHarness({
      limits: { maxActiveGenerations: 1, guildMaxActiveGenerations: 3, submitMinIntervalMs: 0 },
      schedule: { pollIntervalMs: POLL_MS, ...schedule },
      gatherMs: 0,
    });
    const a = (await h.service.start(newGeneration('g1', 'alice', 'a lighthouse in a storm'))).task;
    const b = (await h.service.start(newGeneration('g1', 'bob', 'a fox in the snow'))).task;
    await vi.advanceTimersByTimeAsync(10);
    expect((await h.store.get(a.id))?.state).toBe('submitted');
    expect((await h.store.get(b.id))?.state).toBe('queued');
    expect(h.api.submitCalls).toHaveLength(1);
    const release = vi.spyOn(h.scheduler, 'release');
    const providerTaskId = (await h.store.get(a.id))!.providerTaskId!;
    return { h, a, b, release, providerTaskId };
  }

  const releasesOf = (release: { mock: { calls: unknown[][] } }, taskId: string) =>
    release.mock.calls.filter(([id]) => id === taskId).length;

  it('keeps the slot while the provider still runs it, frees it once when it finishes, then submits the next; nothing is posted', async () => {
    const { h, a, b, release, providerTaskId } = await oneSlotTakenAndOneWaiting();

    const outcome = await h.service.cancel('g1', a.id, 'alice');
    expect(outcome).toMatchObject({ kind: 'cancelled', wasRunning: true });
    expect((await h.store.get(a.id))?.state).toBe('cancelled');

    // The provider still makes it: the slot stays taken, B keeps waiting, A is still asked about.
    await vi.advanceTimersByTimeAsync(3 * POLL_MS);
    expect(h.scheduler.runningCount()).toBe(1);
    expect(h.scheduler.queuedCount()).toBe(1);
    expect(h.api.submitCalls).toHaveLength(1);
    expect(releasesOf(release, a.id)).toBe(0);
    expect(h.api.batchCalls.flat()).toContain(providerTaskId);

    h.api.setStatus(providerTaskId, { kind: 'succeeded', videoUrl: 'https://videos.example/a.mp4' });
    await vi.advanceTimersByTimeAsync(POLL_MS + 10);

    // Freed exactly once, and the freed slot went to B at once.
    expect(releasesOf(release, a.id)).toBe(1);
    expect(h.api.submitCalls).toHaveLength(2);
    expect(h.api.submits[1]?.prompt).toBe('a fox in the snow');
    expect((await h.store.get(b.id))?.state).toBe('submitted');
    expect(h.scheduler.runningCount()).toBe(1);
    expect(h.scheduler.queuedCount()).toBe(0);

    // A stays cancelled, its result is never posted, and it is no longer asked about.
    const batchesSoFar = h.api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(4 * POLL_MS);
    await h.delivery.idle();
    expect((await h.store.get(a.id))?.state).toBe('cancelled');
    expect(h.publisher.callsFor(a.id)).toHaveLength(0);
    expect(h.outcomes.filter((t) => t.id === a.id)).toHaveLength(1);
    expect(h.api.batchCalls.slice(batchesSoFar).flat()).not.toContain(providerTaskId);
    expect(releasesOf(release, a.id)).toBe(1);
    await h.stop();
  });

  it('frees the slot once when the bot stops following it (no answer until the give-up time), then submits the next', async () => {
    const giveUpMs = 60_000;
    const { h, a, b, release, providerTaskId } = await oneSlotTakenAndOneWaiting({ pollGiveUpMs: giveUpMs });
    await h.service.cancel('g1', a.id, 'alice');

    await vi.advanceTimersByTimeAsync(giveUpMs - 2 * POLL_MS);
    expect(releasesOf(release, a.id)).toBe(0);
    expect(h.api.submitCalls).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(3 * POLL_MS);
    expect(releasesOf(release, a.id)).toBe(1);
    expect(h.api.submitCalls).toHaveLength(2);
    expect((await h.store.get(b.id))?.state).toBe('submitted');

    // No slow check for a cancelled task: nothing more to post, nothing more to ask.
    const batchesSoFar = h.api.batchCalls.length;
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await h.delivery.idle();
    expect((await h.store.get(a.id))?.state).toBe('cancelled');
    expect(h.publisher.callsFor(a.id)).toHaveLength(0);
    expect(h.api.batchCalls.slice(batchesSoFar).flat()).not.toContain(providerTaskId);
    expect(releasesOf(release, a.id)).toBe(1);
    await h.stop();
  });
});
