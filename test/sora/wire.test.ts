import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  batchResponseSchema,
  classifyTaskRecord,
  isErrorOnlyBody,
  readErrorBody,
  submitResponseSchema,
  taskRecordSchema,
  type TaskRecord,
} from '../../src/sora/wire.js';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/sora/${name}`, import.meta.url), 'utf8'));
}

function record(value: unknown): TaskRecord {
  return taskRecordSchema.parse(value);
}

const FIXTURE_URL_PREFIX = 'https://filesystem.site/gptimage/vg-assets/';

describe('classifyTaskRecord with the fixtures', () => {
  it('reads a record without response as pending', () => {
    expect(classifyTaskRecord(record(fixture('tasks-response-pending-inferred.json')))).toEqual({ kind: 'pending' });
  });

  it('reads a response without success as still running', () => {
    expect(classifyTaskRecord(record(fixture('tasks-response-processing-inferred.json')))).toEqual({ kind: 'pending' });
  });

  it('reads success with data[0].video_url as succeeded', () => {
    const status = classifyTaskRecord(record(fixture('tasks-response-succeeded.json')));
    expect(status.kind).toBe('succeeded');
    expect(status.kind === 'succeeded' && status.videoUrl.startsWith(FIXTURE_URL_PREFIX)).toBe(true);
  });

  it('reads success false as failed with the error code and message', () => {
    expect(classifyTaskRecord(record(fixture('tasks-response-failed-inferred.json')))).toEqual({
      kind: 'failed',
      code: 'bad_request',
      message: 'invalid input',
    });
  });

  it('parses every item of the batch fixture', () => {
    const batch = batchResponseSchema.parse(fixture('tasks-batch-response.json'));
    expect(batch.count).toBe(2);
    const statuses = (batch.items ?? []).map((item) => classifyTaskRecord(record(item)).kind);
    expect(statuses).toEqual(['succeeded', 'succeeded']);
  });
});

describe('classifyTaskRecord tolerance', () => {
  const base = { id: 't1' };

  it.each(['failed', 'error', 'cancelled', 'canceled', 'FAILED'])('treats state word %s as failed', (word) => {
    const status = classifyTaskRecord(record({ ...base, response: { data: [{ state: word }] } }));
    expect(status.kind).toBe('failed');
  });

  it('treats a top-level failed state without response as failed', () => {
    expect(classifyTaskRecord(record({ ...base, state: 'failed' })).kind).toBe('failed');
  });

  it('names a cancelled task', () => {
    expect(classifyTaskRecord(record({ ...base, status: 'canceled', response: {} }))).toEqual({
      kind: 'failed',
      code: 'cancelled',
      message: 'The generation was cancelled.',
    });
  });

  it('fails a success without URL as "ended without output"', () => {
    expect(classifyTaskRecord(record({ ...base, response: { success: true, data: [] } }))).toEqual({
      kind: 'failed',
      code: 'no_output',
      message: 'The generation ended without output.',
    });
    expect(classifyTaskRecord(record({ ...base, response: { data: [{ state: 'succeeded' }] } })).kind).toBe('failed');
  });

  it('accepts a succeeded state word with a URL even without success', () => {
    const status = classifyTaskRecord(
      record({ ...base, response: { data: [{ state: 'succeeded', video_url: 'https://cdn.example/v.mp4' }] } }),
    );
    expect(status).toEqual({ kind: 'succeeded', videoUrl: 'https://cdn.example/v.mp4' });
  });

  it('keeps a response with a URL but no success or state running', () => {
    const status = classifyTaskRecord(record({ ...base, response: { data: [{ video_url: 'https://cdn.example/v.mp4' }] } }));
    expect(status.kind).toBe('pending');
  });

  it('does not accept a non-http video URL', () => {
    const status = classifyTaskRecord(record({ ...base, response: { success: true, data: [{ video_url: 'file:///etc/passwd' }] } }));
    expect(status.kind).toBe('failed');
  });

  it('uses defaults for a failure without error details, and a bare-string error', () => {
    expect(classifyTaskRecord(record({ ...base, response: { success: false } }))).toEqual({
      kind: 'failed',
      code: 'generation_failed',
      message: 'The generation failed.',
    });
    expect(classifyTaskRecord(record({ ...base, response: { success: false, error: 'upstream exploded' } }))).toEqual({
      kind: 'failed',
      code: 'generation_failed',
      message: 'upstream exploded',
    });
  });

  it('tolerates nulls and unknown fields', () => {
    const parsed = taskRecordSchema.safeParse({
      id: 't1',
      response: { success: null, data: null, error: null, extra: 1 },
      elapsed: 12.5,
      finished_at: null,
    });
    expect(parsed.success).toBe(true);
    expect(parsed.success && classifyTaskRecord(parsed.data).kind).toBe('pending');
  });

  it('refuses a record whose response is not an object', () => {
    expect(taskRecordSchema.safeParse({ id: 't1', response: 'done' }).success).toBe(false);
  });
});

describe('submitResponseSchema', () => {
  it.each(['videos-response-async.json', 'videos-response-async-generic.json', 'videos-response-sync-success.json'])(
    'reads task_id from %s',
    (name) => {
      const parsed = submitResponseSchema.safeParse(fixture(name));
      expect(parsed.success).toBe(true);
      expect(parsed.success && parsed.data.task_id).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it('refuses a body without task_id', () => {
    expect(submitResponseSchema.safeParse({ success: true }).success).toBe(false);
  });
});

describe('readErrorBody', () => {
  it('reads error.code, error.message and trace_id', () => {
    expect(readErrorBody(fixture('error-403-used-up.json'))).toEqual({
      code: 'used_up',
      message: 'Your balance is not sufficient for current request, please buy more in Ace Data Cloud.',
      traceId: '2efa9340-b21b-4e26-9e14-4aac95f343ab',
    });
  });

  it('reads a legacy top-level code', () => {
    expect(readErrorBody({ code: 'used_up', message: 'no credit' })).toEqual({ code: 'used_up', message: 'no credit' });
  });

  it('reads a bare-string error as the code when it looks like one', () => {
    expect(readErrorBody({ error: 'invalid_token' })).toEqual({ code: 'invalid_token', message: 'invalid_token' });
    expect(readErrorBody({ error: 'Bad Gateway' })).toEqual({ message: 'Bad Gateway' });
  });

  it('returns nothing for bodies without error details', () => {
    expect(readErrorBody(undefined)).toEqual({});
    expect(readErrorBody('<html>')).toEqual({});
  });
});

describe('isErrorOnlyBody', () => {
  it('spots error bodies but not records, submits or batches', () => {
    expect(isErrorOnlyBody(fixture('error-api-error-fetch-failed.json'))).toBe(true);
    expect(isErrorOnlyBody(fixture('error-429-concurrency-rate-limited.json'))).toBe(true);
    expect(isErrorOnlyBody(fixture('tasks-response-failed-inferred.json'))).toBe(false);
    expect(isErrorOnlyBody(fixture('videos-response-async.json'))).toBe(false);
    expect(isErrorOnlyBody(fixture('tasks-batch-response.json'))).toBe(false);
  });
});
