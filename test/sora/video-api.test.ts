import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import type { GenerationRequest } from '../../src/core/task.js';
import { createSoraClient, type SoraClient } from '../../src/sora/sora-client.js';
import { MAX_BATCH_SIZE, createAceDataVideoApi, createSoraVideoApi, type SoraVideoApi } from '../../src/sora/video-api.js';
import { apiErrorFault, startAceDataEmulator, type AceDataEmulator, type EmulatorFault } from '../emulators/acedata-emulator.js';

const TOKEN = 'sk-video-api-test-token';

function fixture(name: string, service = 'sora'): { error: { code: string; message: string } } {
  return JSON.parse(readFileSync(new URL(`../fixtures/${service}/${name}`, import.meta.url), 'utf8')) as {
    error: { code: string; message: string };
  };
}

const REQUEST: GenerationRequest = {
  prompt: 'a lighthouse in a storm',
  model: 'sora-2',
  duration: 10,
  orientation: 'portrait',
  size: 'small',
};

let emulator: AceDataEmulator;
let clients: SoraClient[];
let api: SoraVideoApi;

function apiWithTimeout(requestTimeoutMs: number): SoraVideoApi {
  const client = createSoraClient({ baseUrl: emulator.url, apiToken: TOKEN, requestTimeoutMs });
  clients.push(client);
  return createSoraVideoApi(client);
}

beforeEach(async () => {
  emulator = await startAceDataEmulator({ apiToken: TOKEN, generationTimeMs: 60_000, queueTimeMs: 0 });
  clients = [];
  api = apiWithTimeout(5_000);
});

afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await emulator.close();
});

describe('submit', () => {
  it('accepts and maps imageUrl to image_urls', async () => {
    const outcome = await api.submit({ ...REQUEST, imageUrl: 'https://cdn.discordapp.com/a/b.png' });

    expect(outcome.kind).toBe('accepted');
    expect(outcome.kind === 'accepted' && emulator.tasks.has(outcome.providerTaskId)).toBe(true);
    expect(emulator.requestsTo('/sora/videos')[0]?.body).toEqual({
      prompt: 'a lighthouse in a storm',
      model: 'sora-2',
      duration: 10,
      orientation: 'portrait',
      size: 'small',
      image_urls: ['https://cdn.discordapp.com/a/b.png'],
      async: true,
    });
  });

  it('sends no image_urls without an image', async () => {
    await api.submit(REQUEST);
    expect(emulator.requestsTo('/sora/videos')[0]?.body).not.toHaveProperty('image_urls');
  });

  it('maps 429 too_many_requests to rate_limited with Retry-After', async () => {
    emulator.failNext('/sora/videos', {
      kind: 'respond',
      status: 429,
      body: fixture('error-429-too-many-requests.json'),
      headers: { 'retry-after': '3' },
    });
    expect(await api.submit(REQUEST)).toEqual({ kind: 'rate_limited', retryAfterMs: 3_000 });
    emulator.failNext('/sora/videos', { kind: 'respond', status: 429, body: fixture('error-429-too-many-requests.json') });
    expect(await api.submit(REQUEST)).toEqual({ kind: 'rate_limited' });
  });

  it('maps the concurrency limit (rate_limited) to rate_limited', async () => {
    await emulator.close();
    emulator = await startAceDataEmulator({ apiToken: TOKEN, generationTimeMs: 60_000, maxConcurrentGenerations: 1 });
    api = apiWithTimeout(5_000);
    expect((await api.submit(REQUEST)).kind).toBe('accepted');
    expect(await api.submit(REQUEST)).toEqual({ kind: 'rate_limited' });
    expect(emulator.tasks.size).toBe(1);
  });

  it.each([
    [401, 'error-401-invalid-token.json'],
    [401, 'error-401-token-expired.json'],
    [400, 'error-400-token-mismatched.json'],
    [401, 'error-401-token-mismatched.json'],
    [403, 'error-403-used-up.json'],
    [400, 'error-400-no-token.json'],
  ])('maps HTTP %i %s to account_problem', async (status, name) => {
    const body = fixture(name);
    emulator.failNext('/sora/videos', { kind: 'respond', status, body });
    expect(await api.submit(REQUEST)).toEqual({
      kind: 'account_problem',
      code: body.error.code,
      message: body.error.message,
    });
  });

  it.each([
    [403, 'error-disabled.json'],
    [400, 'error-disabled.json'],
    [404, 'error-404-no-api.json'],
    [400, 'error-400-api-not-implemented.json'],
  ])('maps HTTP %i %s to model_unavailable for the whole service', async (status, name) => {
    const body = fixture(name);
    emulator.failNext('/sora/videos', { kind: 'respond', status, body });
    expect(await api.submit(REQUEST)).toEqual({
      kind: 'model_unavailable',
      scope: 'service',
      code: body.error.code,
      message: body.error.message,
    });
  });

  it('maps any 404 on the submit path to model_unavailable for the service, body or not', async () => {
    emulator.failNext('/sora/videos', { kind: 'respond', status: 404, rawBody: '<html>Not Found</html>' });
    expect(await api.submit(REQUEST)).toMatchObject({ kind: 'model_unavailable', scope: 'service', code: 'http_404' });
    emulator.failNext('/sora/videos', { kind: 'respond', status: 404, body: { error: { code: 'not_found', message: 'gone' } } });
    expect(await api.submit(REQUEST)).toMatchObject({ kind: 'model_unavailable', scope: 'service', code: 'not_found' });
  });

  it('maps "model is invalid." to model_unavailable for the model only', async () => {
    const body = fixture('error-400-bad-request.json');
    expect(body.error.message).toBe('model is invalid.');
    emulator.failNext('/sora/videos', { kind: 'respond', status: 400, body });
    expect(await api.submit(REQUEST)).toEqual({
      kind: 'model_unavailable',
      scope: 'model',
      code: 'bad_request',
      message: 'model is invalid.',
    });
  });

  it('reports the account modes of the emulator: used_up and invalid_token stop the account, disabled the service', async () => {
    emulator.setAccountState('used_up');
    expect(await api.submit(REQUEST)).toMatchObject({ kind: 'account_problem', code: 'used_up' });
    emulator.setAccountState('invalid_token');
    expect(await api.submit(REQUEST)).toMatchObject({ kind: 'account_problem', code: 'invalid_token' });
    emulator.setAccountState('disabled');
    expect(await api.submit(REQUEST)).toMatchObject({ kind: 'model_unavailable', scope: 'service', code: 'disabled' });
  });

  it('rejects what the API refuses, with its own message', async () => {
    expect(await api.submit({ ...REQUEST, duration: 25 })).toEqual({
      kind: 'rejected',
      code: 'bad_request',
      message: 'duration 25 is only supported by sora-2-pro.',
    });
  });

  it.each([
    [403, 'error-403-forbidden-inferred.json', 'sora'],
    [400, 'error-400-bad-request.json', 'wan'],
    [403, 'error-403-forbidden.json', 'luma'],
  ])('maps HTTP %i %s (%s) to rejected', async (status, name, service) => {
    const body = fixture(name, service);
    emulator.failNext('/sora/videos', { kind: 'respond', status, body });
    expect(await api.submit(REQUEST)).toEqual({ kind: 'rejected', code: body.error.code, message: body.error.message });
  });

  it('rejects a 2xx error body with a client-side code, but calls a transient one uncertain', async () => {
    emulator.failNext('/sora/videos', { kind: 'respond', status: 200, body: fixture('error-400-bad-request.json', 'wan') });
    expect((await api.submit(REQUEST)).kind).toBe('rejected');
    emulator.failNext('/sora/videos', { kind: 'respond', status: 200, body: fixture('error-api-error-fetch-failed.json') });
    expect(await api.submit(REQUEST)).toEqual({ kind: 'uncertain', code: 'api_error', message: 'fetch failed' });
  });

  const uncertainCases: Array<[string, EmulatorFault, string]> = [
    ['500 api_error', { kind: 'respond', status: 500, body: fixture('error-500-api-error.json') }, 'api_error'],
    ['504 timeout', { kind: 'respond', status: 504, body: fixture('error-504-timeout-inferred.json') }, 'timeout'],
    ['502 without body', { kind: 'respond', status: 502, rawBody: '' }, 'http_502'],
    ['malformed JSON', { kind: 'malformed' }, 'malformed_response'],
    ['dropped connection', { kind: 'drop' }, 'network_error'],
  ];

  it.each(uncertainCases)('maps %s to uncertain and never resubmits', async (_name, fault, code) => {
    emulator.failNext('/sora/videos', fault);
    const outcome = await api.submit(REQUEST);
    expect(outcome).toMatchObject({ kind: 'uncertain', code });
    expect(emulator.requestsTo('/sora/videos')).toHaveLength(1);
  });

  it('maps a timeout to uncertain', async () => {
    const impatient = apiWithTimeout(150);
    emulator.failNext('/sora/videos', { kind: 'delay', delayMs: 3_000 });
    expect(await impatient.submit(REQUEST)).toMatchObject({ kind: 'uncertain', code: 'timeout' });
    expect(emulator.requestsTo('/sora/videos')).toHaveLength(1);
  });

  it('calls a connection dropped after the API accepted the task uncertain (the task exists)', async () => {
    emulator.failNext('/sora/videos', { kind: 'drop', afterProcessing: true });
    expect(await api.submit(REQUEST)).toMatchObject({ kind: 'uncertain', code: 'network_error' });
    expect(emulator.tasks.size).toBe(1);
  });

  it('lets a bug (not a SoraApiError) surface', async () => {
    const broken = createAceDataVideoApi({
      submitTo: () => Promise.reject(new TypeError('bug')),
      retrieveBatchAt: () => Promise.reject(new TypeError('bug')),
    });
    await expect(broken.submit(REQUEST)).rejects.toThrow(TypeError);
    await expect(broken.retrieveBatch('sora', ['a'])).rejects.toThrow(TypeError);
  });

  it('answers model_unavailable without a request for a model the catalogue does not have', async () => {
    expect(await api.submit({ ...REQUEST, model: 'sora-1-legacy' })).toMatchObject({
      kind: 'model_unavailable',
      scope: 'model',
      code: 'unknown_model',
    });
    expect(emulator.requests).toHaveLength(0);
  });
});

describe('retrieveBatch', () => {
  it('classifies every returned task and leaves unknown ids out', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const outcome = await api.submit(REQUEST);
      if (outcome.kind !== 'accepted') throw new Error(`submit ${outcome.kind}`);
      ids.push(outcome.providerTaskId);
    }
    const [running, done, failed] = ids as [string, string, string];
    emulator.finishTask(done);
    emulator.finishTask(failed, { outcome: 'failed', errorCode: 'forbidden', errorMessage: 'moderated' });

    const outcome = await api.retrieveBatch('sora', [running, done, failed, 'unknown-id']);

    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.statuses.get(running)).toEqual({ kind: 'pending' });
    expect(outcome.statuses.get(done)).toEqual({ kind: 'succeeded', videoUrl: `${emulator.url}/videos/${done}.mp4` });
    expect(outcome.statuses.get(failed)).toEqual({ kind: 'failed', code: 'forbidden', message: 'moderated' });
    expect(outcome.statuses.has('unknown-id')).toBe(false);
    expect(emulator.requestsTo('/sora/tasks')[0]?.body).toEqual({
      ids: [running, done, failed, 'unknown-id'],
      action: 'retrieve_batch',
    });
  });

  it('turns a 429 into a retryable error with its Retry-After', async () => {
    emulator.failNext('/sora/tasks', apiErrorFault(429, 'too_many_requests', 'slow down', { retryAfter: 2 }));
    expect(await api.retrieveBatch('sora', ['a'])).toEqual({
      kind: 'error',
      code: 'too_many_requests',
      message: 'slow down',
      retryable: true,
      retryAfterMs: 2_000,
    });
  });

  it('turns a 401 into a non-retryable error', async () => {
    emulator.setAccountState('invalid_token');
    expect(await api.retrieveBatch('sora', ['a'])).toMatchObject({ kind: 'error', code: 'invalid_token', retryable: false });
  });

  it('turns a timeout and a dropped connection into retryable errors', async () => {
    const impatient = apiWithTimeout(150);
    emulator.failNext('/sora/tasks', { kind: 'delay', delayMs: 3_000 });
    expect(await impatient.retrieveBatch('sora', ['a'])).toMatchObject({ kind: 'error', code: 'timeout', retryable: true });
    emulator.failNext('/sora/tasks', { kind: 'drop' });
    expect(await api.retrieveBatch('sora', ['a'])).toMatchObject({ kind: 'error', code: 'network_error', retryable: true });
  });

  it.each([
    ['a 404', { kind: 'respond', status: 404, rawBody: '' }],
    ['no_api', { kind: 'respond', status: 404, body: fixture('error-404-no-api.json') }],
    ['api_not_implemented', { kind: 'respond', status: 400, body: fixture('error-400-api-not-implemented.json') }],
    ['api_not_implemented on a 200', { kind: 'respond', status: 200, body: fixture('error-400-api-not-implemented.json') }],
  ] as Array<[string, EmulatorFault]>)('turns %s on the tasks path into a non-retryable error', async (_name, fault) => {
    emulator.failNext('/sora/tasks', fault);
    expect(await api.retrieveBatch('sora', ['a'])).toMatchObject({ kind: 'error', retryable: false });
  });

  it('advertises the batch limit of 50', () => {
    expect(MAX_BATCH_SIZE).toBe(50);
    expect(api.maxBatchSize).toBe(50);
  });
});
