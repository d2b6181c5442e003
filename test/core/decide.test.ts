import { describe, it, expect } from 'vitest';
import { decide, type FollowRules } from '../../src/core/decide.js';
import { makeTask } from '../fakes/task-factory.js';

const rules: FollowRules = { pollGiveUpMs: 30 * 60_000, lateResultWindowMs: 24 * 3_600_000 };
const submittedAt = '2025-03-01T12:00:00.000Z';
const at = (msAfter: number) => new Date(Date.parse(submittedAt) + msAfter);

describe('decide', () => {
  const submitted = makeTask({ state: 'submitted', submittedAt, providerTaskId: 'p' });
  const timedOut = makeTask({ state: 'timed_out', submittedAt, providerTaskId: 'p' });

  it('reports a result whatever the time', () => {
    expect(decide(submitted, { kind: 'succeeded', videoUrl: 'https://v/1.mp4' }, at(1), rules)).toEqual({
      kind: 'succeeded',
      videoUrl: 'https://v/1.mp4',
    });
    expect(decide(timedOut, { kind: 'failed', code: 'bad', message: 'nope' }, at(rules.lateResultWindowMs + 1), rules)).toEqual({
      kind: 'failed',
      code: 'bad',
      message: 'nope',
    });
  });

  it('waits while pending (or missing from the answer) until the give-up time', () => {
    expect(decide(submitted, { kind: 'pending' }, at(rules.pollGiveUpMs - 1), rules).kind).toBe('wait');
    expect(decide(submitted, undefined, at(rules.pollGiveUpMs - 1), rules).kind).toBe('wait');
    expect(decide(submitted, undefined, at(rules.pollGiveUpMs), rules).kind).toBe('timed_out');
  });

  it('expires a timed-out task when the late window closes', () => {
    expect(decide(timedOut, { kind: 'pending' }, at(rules.lateResultWindowMs - 1), rules).kind).toBe('wait');
    expect(decide(timedOut, { kind: 'pending' }, at(rules.lateResultWindowMs), rules).kind).toBe('expired');
  });

  it('measures from createdAt when submittedAt is missing', () => {
    const task = makeTask({ state: 'submitted', createdAt: submittedAt, providerTaskId: 'p' });
    expect(decide(task, undefined, at(rules.pollGiveUpMs), rules).kind).toBe('timed_out');
  });
});
