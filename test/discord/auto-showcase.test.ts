import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Task } from '../../src/core/task.js';
import type { ShareOutcome, Showcase } from '../../src/discord/command.js';
import { createCoreHarness, newGeneration } from '../fakes/core-harness.js';
import { FakeVideoApi } from '../fakes/fake-video-api.js';

/** A showcase that records what it was asked to share. */
function recordingShowcase(
  outcome: () => Promise<ShareOutcome> = () => Promise.resolve({ kind: 'shared', channelId: 'c', messageId: 'm' }),
) {
  const shared: Task[] = [];
  const showcase: Showcase = {
    share: (task) => {
      shared.push(task);
      return outcome();
    },
  };
  return { showcase, shared };
}

describe('auto-showcase (a delivery listener of the engine)', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2025-03-01T12:00:00.000Z') }));
  afterEach(() => vi.useRealTimers());

  async function runOne(guildId: string, options: { fail?: boolean; showcase: Showcase; enabledIn: (guildId: string) => boolean }) {
    const api = new FakeVideoApi({ autoSucceedAfterMs: () => (options.fail ? undefined : 30_000) });
    const h = createCoreHarness({ api, autoShowcase: { showcase: options.showcase, enabledIn: options.enabledIn } });
    const { task } = await h.service.start(newGeneration(guildId, 'u1'));
    if (options.fail) {
      await vi.advanceTimersByTimeAsync(5_000);
      const providerTaskId = h.store.all()[0]!.providerTaskId!;
      api.setStatus(providerTaskId, { kind: 'failed', code: 'content_policy', message: 'refused' });
    }
    await vi.advanceTimersByTimeAsync(120_000);
    await h.delivery.idle();
    await h.stop();
    return { h, task };
  }

  it('shares a video delivered in a guild that turned auto-showcase on, once', async () => {
    const { showcase, shared } = recordingShowcase();
    const { h, task } = await runOne('g-on', { showcase, enabledIn: (guildId) => guildId === 'g-on' });
    expect(h.store.all()[0]!.state).toBe('delivered');
    expect(shared.map((t) => t.id)).toEqual([task.id]);
    expect(shared[0]!.outcome?.kind).toBe('succeeded');
  });

  it('shares nothing in a guild that did not turn it on', async () => {
    const { showcase, shared } = recordingShowcase();
    const { h } = await runOne('g-off', { showcase, enabledIn: (guildId) => guildId === 'g-on' });
    expect(h.store.all()[0]!.state).toBe('delivered');
    expect(shared).toEqual([]);
  });

  it('shares nothing when the generation failed', async () => {
    const { showcase, shared } = recordingShowcase();
    const { h } = await runOne('g-on', { fail: true, showcase, enabledIn: () => true });
    expect(h.store.all()[0]!.outcome?.kind).toBe('failed');
    expect(shared).toEqual([]);
  });

  it('a failing share is logged, and the delivery stands', async () => {
    const { showcase, shared } = recordingShowcase(() => Promise.reject(new Error('Discord is down')));
    const { h } = await runOne('g-on', { showcase, enabledIn: () => true });
    expect(shared).toHaveLength(1);
    expect(h.store.all()[0]!.state).toBe('delivered');
    expect(h.logLines.some((line) => line.msg === 'auto-showcase failed')).toBe(true);
  });
});
