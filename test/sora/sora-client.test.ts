import { readFileSync } from 'node:fs';
import { MockAgent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import { SoraApiError } from '../../src/sora/errors.js';
import { createSoraClient, type SoraClient, type SubmitBody } from '../../src/sora/sora-client.js';
import { classifyTaskRecord } from '../../src/sora/wire.js';
import { apiErrorFault, startAceDataEmulator, type AceDataEmulator } from '../emulators/acedata-emulator.js';

const TOKEN = 'sk-test-0123456789abcdef-secret';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/sora/${name}`, import.meta.url), 'utf8'));
}

const BODY: SubmitBody = {
  prompt: 'cat running on the river',
  model: 'sora-2',
  duration: 15,
  orientation: 'landscape',
  size: 'large',
};

let emulator: AceDataEmulator;
let client: SoraClient;
const extraClients: SoraClient[] = [];

function makeClient(overrides: { apiToken?: string; requestTimeoutMs?: number; baseUrl?: string } = {}): SoraClient {
  const made = createSoraClient({
    baseUrl: overrides.baseUrl ?? emulator.url,
    apiToken: overrides.apiToken ?? TOKEN,
    requestTimeoutMs: overrides.requestTimeoutMs ?? 5_000,
  });
  extraClients.push(made);
  return made;
}

async function caught(promise: Promise<unknown>): Promise<SoraApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SoraApiError);
    return error as SoraApiError;
  }
  throw new Error('expected the call to fail');
}

beforeEach(async () => {
  emulator = await startAceDataEmulator({ apiToken: TOKEN, generationTimeMs: 60_000, queueTimeMs: 60_000 });
  client = makeClient();
});

afterEach(async () => {
  await Promise.all(extraClients.splice(0).map((made) => made.close()));
  await emulator.close();
});

describe('submit', () => {
  it('posts the fields with async:true and the expected headers, and returns the task id', async () => {
    const result = await client.submit(BODY);

    const [sent] = emulator.requestsTo('/sora/videos');
    expect(sent?.method).toBe('POST');
    expect(sent?.body).toEqual(fixture('videos-request-async.json'));
    expect(sent?.authorized).toBe(true);
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(sent?.headers.accept).toBe('application/json');
    expect(emulator.tasks.has(result.taskId)).toBe(true);
    expect(result.traceId).toBeUndefined();
  });

  it('sends image_urls and callback_url only when given', async () => {
    await client.submit({ ...BODY, image_urls: ['https://cdn.example/a.png'], callback_url: 'http://127.0.0.1:1/cb' });
    const [sent] = emulator.requestsTo('/sora/videos');
    expect(sent?.body).toMatchObject({ image_urls: ['https://cdn.example/a.png'], callback_url: 'http://127.0.0.1:1/cb', async: true });
  });

  it('reads the generic async shape and the sync shape with trace_id', async () => {
    emulator.failNext('/sora/videos', { kind: 'respond', status: 200, body: fixture('videos-response-async-generic.json') });
    expect(await client.submit(BODY)).toEqual({ taskId: '27a1128f-14b5-440e-a82d-510c81e6fcd4' });
    emulator.failNext('/sora/videos', { kind: 'respond', status: 200, body: fixture('videos-response-sync-success.json') });
    expect(await client.submit(BODY)).toEqual({
      taskId: '6bf7fb83-5814-4e3e-a4ad-bfa0c26c0b33',
      traceId: '96166698-4b66-478d-a26b-77a7269c9e01',
    });
  });

  it('joins a base URL with a trailing slash', async () => {
    const slashed = makeClient({ baseUrl: `${emulator.url}/` });
    await slashed.submit(BODY);
    expect(emulator.requestsTo('/sora/videos')).toHaveLength(1);
  });

  it('passes the API validation error through as a non-retryable bad_request', async () => {
    const error = await caught(client.submit({ ...BODY, duration: 25 }));
    expect(error).toMatchObject({ code: 'bad_request', status: 400, retryable: false });
    expect(error.message).toBe('duration 25 is only supported by sora-2-pro.');
    expect(error.traceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('uses its own Agent, not the global dispatcher', async () => {
    const previous = getGlobalDispatcher();
    const mock = new MockAgent();
    mock.disableNetConnect();
    setGlobalDispatcher(mock);
    try {
      const result = await client.submit(BODY);
      expect(emulator.tasks.has(result.taskId)).toBe(true);
    } finally {
      setGlobalDispatcher(previous);
      await mock.close();
    }
  });
});

describe('retrieve', () => {
  it('follows a task from pending to running to succeeded', async () => {
    emulator.setTaskPlanner(() => ({ queueTimeMs: 0 }));
    const running = await client.submit(BODY);
    emulator.setTaskPlanner(undefined);
    const queued = await client.submit(BODY);

    const queuedRecord = await client.retrieve(queued.taskId);
    expect(queuedRecord.id).toBe(queued.taskId);
    expect(queuedRecord.response).toBeUndefined();
    expect(classifyTaskRecord(queuedRecord)).toEqual({ kind: 'pending' });

    const runningRecord = await client.retrieve(running.taskId);
    expect(runningRecord.response).toBeDefined();
    expect(classifyTaskRecord(runningRecord)).toEqual({ kind: 'pending' });

    emulator.finishTask(running.taskId);
    expect(classifyTaskRecord(await client.retrieve(running.taskId))).toEqual({
      kind: 'succeeded',
      videoUrl: `${emulator.url}/videos/${running.taskId}.mp4`,
    });
    expect(emulator.requestsTo('/sora/tasks').map((entry) => entry.body)).toEqual([
      { id: queued.taskId, action: 'retrieve' },
      { id: running.taskId, action: 'retrieve' },
      { id: running.taskId, action: 'retrieve' },
    ]);
  });

  it('reads a failed task', async () => {
    const { taskId } = await client.submit(BODY);
    emulator.finishTask(taskId, { outcome: 'failed', errorCode: 'forbidden', errorMessage: 'real faces are not allowed' });
    expect(classifyTaskRecord(await client.retrieve(taskId))).toEqual({
      kind: 'failed',
      code: 'forbidden',
      message: 'real faces are not allowed',
    });
  });

  it('reads the fixtures served as they are', async () => {
    for (const [name, kind] of [
      ['tasks-response-pending-inferred.json', 'pending'],
      ['tasks-response-processing-inferred.json', 'pending'],
      ['tasks-response-succeeded.json', 'succeeded'],
      ['tasks-response-failed-inferred.json', 'failed'],
    ] as const) {
      emulator.failNext('/sora/tasks', { kind: 'respond', status: 200, body: fixture(name) });
      const status = classifyTaskRecord(await client.retrieve('b8976e18-32dc-4718-9ed8-1ea090fcb6ea'));
      expect(status.kind, name).toBe(kind);
    }
  });

  it('treats an unknown id (an empty record) as pending', async () => {
    const unknown = await client.retrieve('no-such-task');
    expect(unknown.id).toBeUndefined();
    expect(classifyTaskRecord(unknown)).toEqual({ kind: 'pending' });
  });

  it('throws for an error body on a 2xx answer', async () => {
    emulator.failNext('/sora/tasks', { kind: 'respond', status: 200, body: fixture('error-api-error-fetch-failed.json') });
    const error = await caught(client.retrieve('x'));
    expect(error).toMatchObject({ code: 'api_error', status: 200, retryable: true, message: 'fetch failed' });
  });
});

describe('retrieveBatch', () => {
  it('splits more than 50 ids into calls of at most 50 and maps every record', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 120; i += 1) ids.push((await client.submit(BODY)).taskId);
    emulator.finishTask(ids[119]!);

    const records = await client.retrieveBatch([...ids, ids[0]!]);

    const calls = emulator.requestsTo('/sora/tasks').map((entry) => entry.body as { ids: string[]; action: string });
    expect(calls.map((call) => call.ids.length)).toEqual([50, 50, 20]);
    expect(calls.every((call) => call.action === 'retrieve_batch')).toBe(true);
    expect(calls.flatMap((call) => call.ids)).toEqual(ids);
    expect(records.size).toBe(120);
    expect(classifyTaskRecord(records.get(ids[119]!)!).kind).toBe('succeeded');
    expect(classifyTaskRecord(records.get(ids[0]!)!).kind).toBe('pending');
  });

  it('leaves missing ids out and keeps the most advanced of repeated items', async () => {
    const succeeded = fixture('tasks-response-succeeded.json') as Record<string, unknown>;
    const pending = fixture('tasks-response-pending-inferred.json') as Record<string, unknown>;
    emulator.failNext('/sora/tasks', {
      kind: 'respond',
      status: 200,
      body: {
        items: [pending, succeeded, pending, { ...pending, id: 'not-asked' }, 'garbage', { response: {} }],
        total: 6,
      },
    });

    const records = await client.retrieveBatch(['b8976e18-32dc-4718-9ed8-1ea090fcb6ea', 'missing-id']);

    expect([...records.keys()]).toEqual(['b8976e18-32dc-4718-9ed8-1ea090fcb6ea']);
    expect(classifyTaskRecord(records.get('b8976e18-32dc-4718-9ed8-1ea090fcb6ea')!).kind).toBe('succeeded');
  });

  it('reads the batch fixture', async () => {
    emulator.failNext('/sora/tasks', { kind: 'respond', status: 200, body: fixture('tasks-batch-response.json') });
    const records = await client.retrieveBatch(['b8976e18-32dc-4718-9ed8-1ea090fcb6ea']);
    expect(records.size).toBe(1);
  });

  it('sends nothing for no ids', async () => {
    expect((await client.retrieveBatch([])).size).toBe(0);
    expect(emulator.requests).toHaveLength(0);
  });

  it('throws malformed_response for an answer without items', async () => {
    emulator.failNext('/sora/tasks', { kind: 'respond', status: 200, body: { count: 0 } });
    const error = await caught(client.retrieveBatch(['a']));
    expect(error).toMatchObject({ code: 'malformed_response', retryable: true });
  });
});

describe('errors', () => {
  it('401 invalid_token for a wrong token, not retryable', async () => {
    const wrong = makeClient({ apiToken: 'sk-wrong-token' });
    const error = await caught(wrong.submit(BODY));
    expect(error).toMatchObject({ code: 'invalid_token', status: 401, retryable: false });
    expect(emulator.requestsTo('/sora/videos')[0]?.authorized).toBe(false);
  });

  it('403 used_up when the account is empty', async () => {
    emulator.setAccountState('used_up');
    const error = await caught(client.submit(BODY));
    expect(error).toMatchObject({ code: 'used_up', status: 403, retryable: false });
  });

  it('429 with Retry-After in seconds', async () => {
    emulator.failNext('/sora/videos', apiErrorFault(429, 'too_many_requests', 'slow down', { retryAfter: 7 }));
    const error = await caught(client.submit(BODY));
    expect(error).toMatchObject({ code: 'too_many_requests', status: 429, retryable: true, retryAfterMs: 7_000 });
  });

  it('429 with Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    emulator.failNext('/sora/tasks', apiErrorFault(429, 'too_many_requests', 'slow down', { retryAfter: at }));
    const error = await caught(client.retrieveBatch(['a']));
    expect(error.retryAfterMs).toBeGreaterThan(25_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('500 api_error is retryable', async () => {
    emulator.failNext('/sora/tasks', { kind: 'respond', status: 500, body: fixture('error-500-api-error.json') });
    const error = await caught(client.retrieve('a'));
    expect(error).toMatchObject({ code: 'api_error', status: 500, retryable: true, message: 'Internal server error.' });
    expect(error.traceId).toBe('2efa9340-b21b-4e26-9e14-4aac95f343ab');
  });

  it('a 502 with an HTML body becomes http_502', async () => {
    emulator.failNext('/sora/tasks', { kind: 'respond', status: 502, rawBody: '<html>Bad Gateway</html>' });
    const error = await caught(client.retrieve('a'));
    expect(error).toMatchObject({ code: 'http_502', status: 502, retryable: true });
  });

  it('reads a legacy top-level code and a bare-string error', async () => {
    emulator.failNext('/sora/videos', { kind: 'respond', status: 403, body: { code: 'used_up', message: 'no credit' } });
    expect(await caught(client.submit(BODY))).toMatchObject({ code: 'used_up', message: 'no credit' });
    emulator.failNext('/sora/videos', { kind: 'respond', status: 400, body: { error: 'prompt is required' } });
    expect(await caught(client.submit(BODY))).toMatchObject({ code: 'http_400', message: 'prompt is required', retryable: false });
  });

  it('malformed JSON on a 200 is a retryable malformed_response', async () => {
    emulator.failNext('/sora/videos', { kind: 'malformed' });
    const error = await caught(client.submit(BODY));
    expect(error).toMatchObject({ code: 'malformed_response', status: 200, retryable: true });
  });

  it('a 200 without task_id is a malformed_response', async () => {
    emulator.failNext('/sora/videos', { kind: 'respond', status: 200, body: { success: true } });
    expect(await caught(client.submit(BODY))).toMatchObject({ code: 'malformed_response', retryable: true });
  });

  it('a slow answer times out after requestTimeoutMs', async () => {
    const impatient = makeClient({ requestTimeoutMs: 150 });
    emulator.failNext('/sora/videos', { kind: 'delay', delayMs: 3_000 });
    const startedAt = Date.now();
    const error = await caught(impatient.submit(BODY));
    expect(error).toMatchObject({ code: 'timeout', retryable: true, status: undefined });
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });

  it('a dropped connection is a retryable network_error', async () => {
    emulator.failNext('/sora/tasks', { kind: 'drop' });
    const error = await caught(client.retrieveBatch(['a']));
    expect(error).toMatchObject({ code: 'network_error', retryable: true, status: undefined });
    // The next call works on a fresh connection.
    expect((await client.retrieveBatch(['a'])).size).toBe(0);
  });

  it('a refused connection is a network_error', async () => {
    const url = emulator.url;
    await emulator.close();
    const orphan = makeClient({ baseUrl: url });
    expect(await caught(orphan.retrieve('a'))).toMatchObject({ code: 'network_error', retryable: true });
    emulator = await startAceDataEmulator({ apiToken: TOKEN });
  });

  it('never puts the token into an error', async () => {
    const errors: SoraApiError[] = [];
    emulator.failNext('/sora/videos', apiErrorFault(401, 'invalid_token', `The token ${TOKEN} is invalid`));
    errors.push(await caught(client.submit(BODY)));
    emulator.failNext('/sora/videos', { kind: 'respond', status: 400, body: { error: `Bearer ${TOKEN}` } });
    errors.push(await caught(client.submit(BODY)));
    emulator.failNext('/sora/tasks', { kind: 'respond', status: 500, body: { code: 'api_error', message: TOKEN } });
    errors.push(await caught(client.retrieve('a')));
    emulator.failNext('/sora/tasks', { kind: 'drop' });
    errors.push(await caught(client.retrieve('a')));
    emulator.failNext('/sora/tasks', { kind: 'malformed' });
    errors.push(await caught(client.retrieve('a')));
    const impatient = makeClient({ requestTimeoutMs: 100 });
    emulator.failNext('/sora/tasks', { kind: 'delay', delayMs: 2_000 });
    errors.push(await caught(impatient.retrieve('a')));

    expect(errors.map((error) => error.code)).toEqual([
      'invalid_token',
      'http_400',
      'api_error',
      'network_error',
      'malformed_response',
      'timeout',
    ]);
    for (const error of errors) {
      for (const text of [error.message, String(error), error.stack ?? '', JSON.stringify(error)]) {
        expect(text).not.toContain(TOKEN);
      }
    }
    expect(errors[0]?.message).toBe('The token [redacted] is invalid');
  });
});
