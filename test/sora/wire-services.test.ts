import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ServiceId } from '../../src/core/models/catalogue.js';
import {
  batchResponseSchema,
  classifyCallbackBody,
  classifyTaskRecord,
  isEmptyAnswer,
  isErrorOnlyBody,
  submitResponseSchema,
  taskRecordSchema,
} from '../../src/sora/wire.js';

function fixture(service: ServiceId, name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/${service}/${name}`, import.meta.url), 'utf8'));
}

/** The video URL a success fixture carries, wherever its service puts it. */
function urlIn(body: unknown): string {
  const text = JSON.stringify(body);
  const match = /"video_url":"([^"]+)"/.exec(text);
  if (!match) throw new Error('fixture without video_url');
  return JSON.parse(`"${match[1]}"`) as string;
}

const classify = (value: unknown) => classifyTaskRecord(taskRecordSchema.parse(value));

const RECORDS: Array<[ServiceId, string, string, string]> = [
  ['veo', 'tasks-response-succeeded.json', 'tasks-response-pending-inferred.json', 'tasks-response-failed-inferred.json'],
  ['kling', 'tasks-response-succeeded.json', 'tasks-response-pending-inferred.json', 'tasks-response-failed-inferred.json'],
  ['seedance', 'tasks-response-succeeded.json', 'tasks-response-pending-inferred.json', 'tasks-response-failed-inferred.json'],
  ['hailuo', 'tasks-response-succeeded-inferred.json', 'tasks-response-pending-inferred.json', 'tasks-response-failed-inferred.json'],
  ['wan', 'tasks-response-succeeded-inferred.json', 'tasks-response-pending-inferred.json', 'tasks-response-failed-inferred.json'],
  ['luma', 'tasks-response-succeeded-inferred.json', 'tasks-response-pending-inferred.json', 'tasks-response-failed-inferred.json'],
];

describe.each(RECORDS)('%s task records', (service, succeeded, pending, failed) => {
  it('reads the succeeded record with its video URL', () => {
    const record = fixture(service, succeeded);
    expect(classify(record)).toEqual({ kind: 'succeeded', videoUrl: urlIn((record as { response: unknown }).response) });
  });

  it('reads the pending record as pending', () => {
    expect(classify(fixture(service, pending))).toEqual({ kind: 'pending' });
  });

  it('reads the failed record with its error', () => {
    expect(classify(fixture(service, failed))).toEqual({ kind: 'failed', code: 'api_error', message: 'fetch failed' });
  });
});

describe('where each service puts the video', () => {
  it('Kling: flat video_url with state "succeed"', () => {
    const status = classify({ id: 't', response: { success: true, video_url: 'https://cdn.klingai.com/v.mp4', state: 'succeed' } });
    expect(status).toEqual({ kind: 'succeeded', videoUrl: 'https://cdn.klingai.com/v.mp4' });
    // Without success, the state word alone decides.
    expect(classify({ id: 't', response: { video_url: 'https://cdn.klingai.com/v.mp4', state: 'succeed' } }).kind).toBe('succeeded');
  });

  it('Wan and Luma: flat video_url with state "completed"', () => {
    expect(classify({ id: 't', response: { video_url: 'https://x.example/v.mp4', state: 'completed' } })).toEqual({
      kind: 'succeeded',
      videoUrl: 'https://x.example/v.mp4',
    });
  });

  it('Seedance: data as an object with status, or data[0].content.video_url', () => {
    expect(classify({ id: 't', response: { data: { status: 'succeeded', video_url: 'https://s.example/a.mp4' } } })).toEqual({
      kind: 'succeeded',
      videoUrl: 'https://s.example/a.mp4',
    });
    expect(
      classify({
        id: 't',
        response: { success: true, data: [{ status: 'succeeded', content: { video_url: 'https://s.example/b.mp4' } }] },
      }),
    ).toEqual({
      kind: 'succeeded',
      videoUrl: 'https://s.example/b.mp4',
    });
    expect(classify({ id: 't', response: { data: { status: 'failed' } } }).kind).toBe('failed');
    expect(classify({ id: 't', response: { data: { status: 'running' } } })).toEqual({ kind: 'pending' });
  });

  it('Seedance: the {} answer for an unknown id is pending, never a failure', () => {
    const notFound = fixture('seedance', 'tasks-response-not-found.json');
    expect(notFound).toEqual({});
    expect(isEmptyAnswer(notFound)).toBe(true);
    expect(isErrorOnlyBody(notFound)).toBe(false);
    expect(classify(notFound)).toEqual({ kind: 'pending' });
    expect(batchResponseSchema.parse(fixture('seedance', 'tasks-response-batch-empty.json')).items).toEqual([]);
  });

  it('drops a data field of an unexpected shape instead of refusing the record', () => {
    expect(classify({ id: 't', response: { success: true, video_url: 'https://x.example/v.mp4', data: 'odd' } })).toEqual({
      kind: 'succeeded',
      videoUrl: 'https://x.example/v.mp4',
    });
    expect(classify({ id: 't', response: { data: [1, { state: 'succeeded', video_url: 'https://x.example/w.mp4' }] } })).toEqual({
      kind: 'succeeded',
      videoUrl: 'https://x.example/w.mp4',
    });
  });

  it('does not accept a non-http URL in any of the places', () => {
    for (const response of [
      { success: true, video_url: 'javascript:alert(1)' },
      { success: true, data: { video_url: 'file:///etc/passwd' } },
      { success: true, data: [{ content: { video_url: 'ftp://x/v.mp4' } }] },
    ]) {
      expect(classify({ id: 't', response })).toMatchObject({ kind: 'failed', code: 'no_output' });
    }
  });
});

const SYNC_ANSWERS: Array<[ServiceId, string]> = [
  ['veo', 'videos-response-sync-success.json'],
  ['kling', 'videos-response-sync-success.json'],
  ['kling', 'videos-response-sync-success-oas.json'],
  ['seedance', 'videos-response-sync-success.json'],
  ['seedance', 'videos-response-sync-success-oas.json'],
  ['hailuo', 'videos-response-sync-success.json'],
  ['wan', 'videos-response-sync-success.json'],
  ['luma', 'videos-response-sync-success.json'],
  ['luma', 'videos-response-sync-success-oas.json'],
];

const CALLBACKS: ServiceId[] = ['sora', 'veo', 'kling', 'hailuo', 'wan', 'luma'];

describe('callback bodies (the sync answer’s shape)', () => {
  it.each(CALLBACKS)('%s: callback-success.json is a success with its task id and URL', (service) => {
    const body = fixture(service, 'callback-success.json') as { task_id: string };
    expect(classifyCallbackBody(body)).toEqual({ providerTaskId: body.task_id, status: { kind: 'succeeded', videoUrl: urlIn(body) } });
  });

  it.each(SYNC_ANSWERS)('%s: %s reads as a success callback', (service, name) => {
    const body = fixture(service, name) as { task_id: string };
    expect(classifyCallbackBody(body)).toEqual({ providerTaskId: body.task_id, status: { kind: 'succeeded', videoUrl: urlIn(body) } });
  });

  it('a flat failure and a data-shaped failure classify the same way', () => {
    const error = { code: 'forbidden', message: 'moderated' };
    const flat = classifyCallbackBody({ success: false, task_id: 'k1', state: 'failed', error });
    const shaped = classifyCallbackBody({ success: false, task_id: 'v1', data: [{ state: 'failed' }], error });
    const seedance = classifyCallbackBody({ success: false, task_id: 's1', data: { status: 'failed' }, error });
    for (const report of [flat, shaped, seedance]) expect(report?.status).toEqual({ kind: 'failed', ...error });
  });

  it('a running report is pending, whatever its shape', () => {
    expect(classifyCallbackBody({ task_id: 'k1', state: 'processing' })?.status).toEqual({ kind: 'pending' });
    expect(classifyCallbackBody({ task_id: 's1', data: { status: 'running' } })?.status).toEqual({ kind: 'pending' });
  });
});

describe('submit answers of every service', () => {
  it.each([
    ['veo', 'videos-response-async.json'],
    ['kling', 'videos-response-async.json'],
    ['seedance', 'videos-response-async-inferred.json'],
    ['hailuo', 'videos-response-async.json'],
    ['wan', 'videos-response-async.json'],
    ['luma', 'videos-response-async.json'],
    ...SYNC_ANSWERS,
  ] as Array<[ServiceId, string]>)('%s: reads task_id from %s', (service, name) => {
    const body = fixture(service, name) as { task_id: string };
    const parsed = submitResponseSchema.safeParse(body);
    expect(parsed.success).toBe(true);
    expect(parsed.success && parsed.data.task_id).toBe(body.task_id);
    expect(isErrorOnlyBody(body)).toBe(false);
  });

  it.each([
    ['veo', 'error-api-error-fetch-failed.json'],
    ['kling', 'error-api-error-fetch-failed.json'],
    ['seedance', 'error-413-request-too-large.json'],
    ['wan', 'error-403-forbidden.json'],
    ['luma', 'error-504-timeout.json'],
  ] as Array<[ServiceId, string]>)('%s: %s is an error body', (service, name) => {
    expect(isErrorOnlyBody(fixture(service, name))).toBe(true);
  });
});
