import { describe, expect, it } from 'vitest';
import type { Task } from '../../src/core/task.js';
import { renderResultMessage } from '../../src/discord/render.js';
import { assertValidTask } from '../../src/store/task-record.js';
import { makeTask } from './rest-stub.js';

const UNCONFIRMED: Task['outcome'] = {
  kind: 'failed',
  code: 'timeout',
  message: '',
  reason: { code: 'submit_unconfirmed', params: { code: 'timeout' } },
};

/** Every field of the result embed (the reason field's name is localized too). */
function reasonField(task: Task): string {
  return renderResultMessage(task, { mode: 'link' })
    .embeds![0]!.fields!.map((field) => field.value)
    .join('\n');
}

describe('failure reasons given as codes', () => {
  it.each([
    ['en-US', /Ace Data Cloud did not confirm the request \(timeout\)\. It was not sent again/],
    ['zh-CN', /Ace Data Cloud 未确认该请求（timeout）/],
    ['ja', /Ace Data Cloud がリクエストを確認できませんでした（timeout）/],
  ])('are worded in the reader’s language (%s)', (locale, expected) => {
    const task = makeTask({ state: 'posting', locale, outcome: UNCONFIRMED });
    expect(reasonField(task)).toMatch(expected);
  });

  it('a stored record keeps the code, not the words', () => {
    const task = makeTask({ state: 'posting', outcome: UNCONFIRMED });
    expect(() => assertValidTask(task)).not.toThrow();
    const stored = JSON.parse(JSON.stringify(task)) as Task;
    expect(stored.outcome).toEqual(UNCONFIRMED);
    expect(JSON.stringify(stored)).not.toMatch(/did not confirm/);
  });

  it('an old record with the English text still renders it', () => {
    const old = makeTask({
      state: 'posting',
      locale: 'ja',
      outcome: {
        kind: 'failed',
        code: 'timeout',
        message:
          'Ace Data Cloud did not confirm the request (timeout). It was not sent again, so you are not charged twice; run the command again.',
      },
    });
    expect(() => assertValidTask(old)).not.toThrow();
    expect(reasonField(old)).toContain('Ace Data Cloud did not confirm the request (timeout)');
  });
});
