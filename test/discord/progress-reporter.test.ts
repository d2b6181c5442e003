import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import pino from 'pino';
import type { Clock } from '../../src/core/ports.js';
import type { Task } from '../../src/core/task.js';
import { createProgressReporter } from '../../src/discord/progress-reporter.js';
import { makeTask, startRestStub } from './rest-stub.js';
import type { RestStub } from './rest-stub.js';

const APPLICATION_ID = '700000000000000001';
const TOKEN = 'aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0';
const START = Date.parse('2025-01-01T12:00:00.000Z');
const ORIGINAL = /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/;

class FakeClock implements Clock {
  constructor(public ms = START) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

function interactionTask(overrides: Partial<Task> = {}): Task {
  return makeTask({
    state: 'submitted',
    createdAt: new Date(START).toISOString(),
    interaction: { applicationId: APPLICATION_ID, token: TOKEN, expiresAt: new Date(START + 15 * 60_000).toISOString() },
    ...overrides,
  });
}

describe('createProgressReporter', () => {
  let stub: RestStub;
  let clock: FakeClock;

  beforeEach(async () => {
    stub = await startRestStub();
    clock = new FakeClock();
  });

  afterEach(async () => {
    await stub.close();
  });

  const edits = () => stub.requests.filter((r) => r.method === 'PATCH');
  const contentOf = (index: number) => (edits()[index]!.json as { content: string }).content;

  function reporter(options: { retries?: number; logger?: pino.Logger } = {}) {
    return createProgressReporter({
      rest: stub.rest({ retries: options.retries ?? 0 }),
      clock,
      minIntervalMs: 5_000,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  it('edits the original response through the webhook, without the bot token', async () => {
    const task = interactionTask();
    await reporter().report(task, { kind: 'generating', elapsedMs: 65_000 });

    expect(edits()).toHaveLength(1);
    expect(edits()[0]!.path).toBe(`/webhooks/${APPLICATION_ID}/${TOKEN}/messages/@original`);
    expect(edits()[0]!.headers.authorization).toBeUndefined();
    expect(contentOf(0)).toContain('1:05');
  });

  it('holds edits until the command has answered, then sends only the newest view', async () => {
    const progress = reporter();
    const task = interactionTask();
    let answered!: () => void;
    progress.holdUntilShown(task, new Promise<void>((resolve) => (answered = resolve)));
    const generating = progress.report(task, { kind: 'generating', elapsedMs: 0 });
    const finished = progress.report({ ...task, state: 'delivered' }, { kind: 'finished' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // No message to edit yet: the answer that creates it is still on its way.
    expect(edits()).toHaveLength(0);

    answered();
    await Promise.all([generating, finished]);
    expect(edits()).toHaveLength(1);
    expect(contentOf(0)).toMatch(/Done|✅/);
  });

  it('a failed answer still opens the hold: later edits are tried (and end quietly if the reply is gone)', async () => {
    const progress = reporter();
    const task = interactionTask();
    progress.holdUntilShown(task, Promise.reject(new Error('answer failed')));
    await progress.report(task, { kind: 'generating', elapsedMs: 0 });
    expect(edits()).toHaveLength(1);
  });

  it('skips updates of the same kind within the interval and lets them through after it', async () => {
    const progress = reporter();
    const task = interactionTask();
    await progress.report(task, { kind: 'generating', elapsedMs: 0 });
    clock.advance(4_999);
    await progress.report(task, { kind: 'generating', elapsedMs: 4_999 });
    expect(edits()).toHaveLength(1);

    clock.advance(1);
    await progress.report(task, { kind: 'generating', elapsedMs: 5_000 });
    expect(edits()).toHaveLength(2);
    expect(contentOf(1)).toContain('0:05');
  });

  it('always lets a change of kind through', async () => {
    const progress = reporter();
    const task = interactionTask();
    await progress.report(task, { kind: 'queued', position: 2, providerBusy: false });
    clock.advance(100);
    await progress.report(task, { kind: 'generating', elapsedMs: 0 });
    clock.advance(100);
    await progress.report(task, { kind: 'finished' });

    expect(edits().map((_, i) => contentOf(i))).toEqual([
      expect.stringContaining('Queued'),
      expect.stringContaining('Generating'),
      expect.stringContaining('Done'),
    ]);
  });

  it('throttles per task, not globally', async () => {
    const progress = reporter();
    await progress.report(interactionTask({ id: 'task000001' }), { kind: 'generating', elapsedMs: 0 });
    await progress.report(interactionTask({ id: 'task000002' }), { kind: 'generating', elapsedMs: 0 });
    expect(edits()).toHaveLength(2);
  });

  it('does nothing once the interaction token has expired, and forgets the task', async () => {
    const progress = reporter();
    const task = interactionTask();
    await progress.report(task, { kind: 'generating', elapsedMs: 0 });
    expect(progress.trackedTasks).toBe(1);

    clock.advance(15 * 60_000);
    await progress.report(task, { kind: 'finished' });

    expect(edits()).toHaveLength(1);
    expect(progress.trackedTasks).toBe(0);
  });

  it('does nothing for a task without an interaction', async () => {
    await reporter().report(makeTask({ interaction: undefined }), { kind: 'finished' });
    expect(stub.requests).toHaveLength(0);
  });

  it('ignores stale views once the final one was shown', async () => {
    const progress = reporter();
    const task = interactionTask();
    await progress.report(task, { kind: 'finished' });
    clock.advance(60_000);
    await progress.report(task, { kind: 'generating', elapsedMs: 60_000 });
    expect(edits()).toHaveLength(1);
  });

  it('keeps reporting after the interim timeout notice', async () => {
    const progress = reporter();
    const timedOut = interactionTask({ state: 'timed_out', outcome: { kind: 'timed_out' } });
    await progress.report(timedOut, { kind: 'finished' });
    const delivered = interactionTask({ state: 'delivered', outcome: { kind: 'succeeded', videoUrl: 'https://x.example/v.mp4' } });
    await progress.report(delivered, {
      kind: 'failed',
      reason: { code: 'not_posted', params: { channelId: '1', reason: 'could not post' } },
    });
    expect(edits()).toHaveLength(2);
  });

  it('swallows transient errors and still sends the next change of kind', async () => {
    stub.once('PATCH', ORIGINAL, { status: 503, body: { message: 'unavailable' } });
    const progress = reporter();
    const task = interactionTask();

    await expect(progress.report(task, { kind: 'generating', elapsedMs: 0 })).resolves.toBeUndefined();
    await progress.report(task, { kind: 'finished' });

    expect(edits()).toHaveLength(2);
    expect(contentOf(1)).toContain('Done');
  });

  it('swallows network errors', async () => {
    const progress = createProgressReporter({ rest: stub.rest({ api: 'http://127.0.0.1:9/api', retries: 0 }), clock });
    await expect(progress.report(interactionTask(), { kind: 'generating', elapsedMs: 0 })).resolves.toBeUndefined();
  });

  it.each([50027, 10015, 10062, 10008])('stops editing after %i', async (code) => {
    stub.once('PATCH', ORIGINAL, { status: code === 50027 ? 401 : 404, body: { code, message: 'gone' } });
    const progress = reporter();
    const task = interactionTask();

    await progress.report(task, { kind: 'generating', elapsedMs: 0 });
    await progress.report(task, { kind: 'finished' });

    expect(edits()).toHaveLength(1);
  });

  it('applies views of one task in the order they were reported', async () => {
    stub.once('PATCH', ORIGINAL, { status: 200, body: {}, delayMs: 150 });
    const progress = reporter();
    const task = interactionTask();

    await Promise.all([progress.report(task, { kind: 'generating', elapsedMs: 0 }), progress.report(task, { kind: 'finished' })]);

    expect(edits().map((_, i) => contentOf(i))).toEqual([expect.stringContaining('Generating'), expect.stringContaining('Done')]);
  });

  it('keeps only the latest waiting view while an edit is in flight, so a slow webhook builds no backlog', async () => {
    stub.once('PATCH', ORIGINAL, { status: 200, body: {}, delayMs: 200 });
    const progress = reporter();
    const task = interactionTask();

    const first = progress.report(task, { kind: 'queued', position: 9, providerBusy: false });
    const later = [8, 7, 6, 5, 4, 3].map((position) => progress.report(task, { kind: 'queued', position, providerBusy: false }));
    const last = progress.report(task, { kind: 'generating', elapsedMs: 0 });
    await Promise.all([first, ...later, last]);

    expect(edits()).toHaveLength(2);
    expect(contentOf(0)).toContain('position 9');
    expect(contentOf(1)).toContain('Generating');
  });

  it('never logs the interaction token', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    stub.once('PATCH', ORIGINAL, { status: 400, body: { code: 50035, message: 'Invalid Form Body' } });
    stub.once('PATCH', ORIGINAL, { status: 401, body: { code: 50027, message: 'Invalid Webhook Token' } });
    const progress = reporter({ logger });
    const task = interactionTask();

    await progress.report(task, { kind: 'generating', elapsedMs: 0 });
    await progress.report(task, { kind: 'finished' });

    const output = lines.join('');
    expect(output).toContain('50035');
    expect(output).toContain('50027');
    expect(output).not.toContain(TOKEN);
  });
});
