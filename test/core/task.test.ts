import { describe, it, expect } from 'vitest';
import { canTransition, InvalidTransitionError, isUnfinished, transition, TASK_STATES, type TaskState } from '../../src/core/task.js';
import { makeTask } from '../fakes/task-factory.js';

const TERMINAL: TaskState[] = ['delivered', 'undeliverable', 'expired', 'cancelled'];

describe('task state machine', () => {
  it('walks the happy path queued → … → delivered', () => {
    const path: TaskState[] = ['queued', 'submitting', 'submitted', 'succeeded', 'posting', 'delivered'];
    let task = makeTask({ state: 'queued' });
    for (const to of path.slice(1)) task = transition(task, to, new Date());
    expect(task.state).toBe('delivered');
  });

  it.each<[TaskState, TaskState]>([
    ['submitting', 'queued'], // 429: surely not accepted, back to the queue
    ['submitting', 'failed'], // rejected or uncertain submit
    ['submitting', 'interrupted'], // found after a crash
    ['interrupted', 'posting'],
    ['submitted', 'failed'],
    ['submitted', 'timed_out'],
    ['timed_out', 'posting'], // the notice
    ['posting', 'timed_out'], // notice posted, slow check continues
    ['timed_out', 'succeeded'], // late result
    ['timed_out', 'failed'],
    ['timed_out', 'expired'],
    ['failed', 'posting'],
    ['posting', 'undeliverable'],
    ['queued', 'cancelled'],
  ])('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(transition(makeTask({ state: from }), to, new Date()).state).toBe(to);
  });

  it.each<[TaskState, TaskState]>([
    ['queued', 'submitted'], // a submit is always written as `submitting` first
    ['submitted', 'queued'], // an accepted job is never queued (and paid) again
    ['submitted', 'submitting'],
    ['interrupted', 'queued'], // a lost submit is never resubmitted
    ['interrupted', 'submitting'],
    ['failed', 'queued'],
    ['succeeded', 'delivered'], // `posting` must be written before the post
    ['submitting', 'cancelled'], // the POST may be on its way: wait for its answer
    ['delivered', 'cancelled'],
    ['posting', 'succeeded'],
    ['submitting', 'submitting'],
  ])('forbids %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => transition(makeTask({ state: from }), to, new Date())).toThrow(InvalidTransitionError);
  });

  it('a running task can be cancelled (the bot stops following it; the provider has no cancel)', () => {
    expect(canTransition('submitted', 'cancelled')).toBe(true);
    expect(canTransition('timed_out', 'cancelled')).toBe(true);
    expect(canTransition('cancelled', 'succeeded')).toBe(false);
  });

  it('only a queued task can become submitting, and only a submitting one submitted', () => {
    for (const from of TASK_STATES) {
      expect(canTransition(from, 'submitting'), from).toBe(from === 'queued');
      expect(canTransition(from, 'submitted'), from).toBe(from === 'submitting');
    }
  });

  it('only the posting state leads to delivered or undeliverable', () => {
    for (const from of TASK_STATES) {
      expect(canTransition(from, 'delivered'), from).toBe(from === 'posting');
      expect(canTransition(from, 'undeliverable'), from).toBe(from === 'posting');
    }
  });

  it('terminal states go nowhere and are not unfinished', () => {
    for (const from of TERMINAL) {
      for (const to of TASK_STATES) expect(canTransition(from, to), `${from} → ${to}`).toBe(false);
      expect(isUnfinished(makeTask({ state: from }))).toBe(false);
    }
    for (const state of TASK_STATES.filter((s) => !TERMINAL.includes(s))) {
      expect(isUnfinished(makeTask({ state })), state).toBe(true);
    }
  });

  it('returns a new task with the fields and updatedAt, leaving the input untouched', () => {
    const task = makeTask({ state: 'submitting', updatedAt: '2025-01-01T00:00:00.000Z' });
    const now = new Date('2025-02-03T04:05:06.000Z');
    const next = transition(task, 'submitted', now, { providerTaskId: 'prov-9', submittedAt: now.toISOString() });
    expect(next).toMatchObject({ id: task.id, state: 'submitted', providerTaskId: 'prov-9', updatedAt: now.toISOString() });
    expect(task.state).toBe('submitting');
    expect(task.providerTaskId).toBeUndefined();
  });

  it('names the task and both states in the error', () => {
    const task = makeTask({ state: 'delivered' });
    const error = (() => {
      try {
        transition(task, 'posting', new Date());
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidTransitionError);
    expect(error).toMatchObject({ taskId: task.id, from: 'delivered', to: 'posting' });
  });
});
