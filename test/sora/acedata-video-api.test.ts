import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MODEL_CATALOGUE, SERVICES, type ServiceId } from '../../src/core/models/catalogue.js';
import type { GenerationRequest } from '../../src/core/task.js';
import { planSubmit } from '../../src/sora/services/index.js';
import { createAceDataClient, type AceDataClient } from '../../src/sora/sora-client.js';
import { createAceDataVideoApi, saysModelIsInvalid, type AceDataVideoApi } from '../../src/sora/video-api.js';
import { LocalAceData } from './local-acedata.js';

const TOKEN = 'sk-multi-service-token-0123456789';

function fixture(service: ServiceId, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${service}/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

let server: LocalAceData;
let client: AceDataClient;
let api: AceDataVideoApi;

beforeEach(async () => {
  server = await new LocalAceData().start();
  client = createAceDataClient({ baseUrl: server.url, apiToken: TOKEN, requestTimeoutMs: 5_000 });
  api = createAceDataVideoApi(client);
});

afterEach(async () => {
  await client.close();
  await server.close();
});

describe('submit to the model’s service', () => {
  it.each(MODEL_CATALOGUE.map((spec) => [spec.id, spec.service] as const))(
    '%s posts to /%s/videos with its body and async: true',
    async (model, service) => {
      const request: GenerationRequest = { prompt: `a fox for ${model}`, model };
      const outcome = await api.submit(request);

      expect(outcome).toEqual({ kind: 'accepted', providerTaskId: 'local-1' });
      expect(server.requests.map((r) => r.path)).toEqual([`/${service}/videos`]);
      const [sent] = server.requests;
      expect(sent?.body).toEqual({ ...planSubmit(request)!.body, async: true });
      expect(sent?.authorization).toBe(`Bearer ${TOKEN}`);
    },
  );

  it('adds callback_url before async, as it always did', async () => {
    await api.submit({ prompt: 'Internal heat', model: 'hailuo' }, { callbackUrl: 'https://bot.example/cb/t1/secret' });
    const [sent] = server.requestsTo('/hailuo/videos');
    expect(sent?.raw).toBe(
      '{"action":"generate","model":"minimax-t2v","prompt":"Internal heat","callback_url":"https://bot.example/cb/t1/secret","async":true}',
    );
    expect(sent?.body).toEqual({ ...fixture('hailuo', 'videos-request-async.json'), callback_url: 'https://bot.example/cb/t1/secret' });
  });

  it('reads the task id of a Seedance answer whose data is an object', async () => {
    server.once('/seedance/videos', { status: 200, body: fixture('seedance', 'videos-response-sync-success.json') });
    expect(await api.submit({ prompt: 'p', model: 'seedance-2-0' })).toEqual({
      kind: 'accepted',
      providerTaskId: '9777f36b-4f44-47ff-962d-45cd2f7aeaa8',
    });
  });
});

describe('submit errors of the services', () => {
  const veo: GenerationRequest = { prompt: 'p', model: 'veo31-fast' };

  it.each([
    ['api_not_implemented (400)', 400, fixture('veo', 'error-400-api-not-implemented.json'), 'api_not_implemented'],
    ['no_api (404)', 404, fixture('veo', 'error-404-no-api.json'), 'no_api'],
    ['disabled (403)', 403, fixture('sora', 'error-disabled.json'), 'disabled'],
    ['api_not_implemented on a 200', 200, fixture('veo', 'error-400-api-not-implemented.json'), 'api_not_implemented'],
  ])('%s stops the service: model_unavailable, scope service', async (_name, status, body, code) => {
    server.once('/veo/videos', { status, body });
    expect(await api.submit(veo)).toMatchObject({ kind: 'model_unavailable', scope: 'service', code });
  });

  it('a 404 without a body stops the service', async () => {
    server.once('/kling/videos', { status: 404, raw: 'Not Found' });
    expect(await api.submit({ prompt: 'p', model: 'kling-v2-6' })).toMatchObject({
      kind: 'model_unavailable',
      scope: 'service',
      code: 'http_404',
    });
  });

  it('a service path the gateway does not know (its 404 no_api) stops the service', async () => {
    server.on('/luma/videos', () => ({ status: 404, body: fixture('veo', 'error-404-no-api.json') }));
    expect(await api.submit({ prompt: 'p', model: 'luma' })).toMatchObject({ kind: 'model_unavailable', scope: 'service', code: 'no_api' });
  });

  it('"model is invalid." stops only the model', async () => {
    const body = fixture('veo', 'error-400-bad-request.json');
    server.once('/veo/videos', { status: 400, body });
    expect(await api.submit(veo)).toEqual({ kind: 'model_unavailable', scope: 'model', code: 'bad_request', message: 'model is invalid.' });
  });

  it('used_up, invalid_token and token_mismatched stay account problems', async () => {
    server.once('/veo/videos', { status: 403, body: fixture('sora', 'error-403-used-up.json') });
    expect(await api.submit(veo)).toMatchObject({ kind: 'account_problem', code: 'used_up' });
    server.once('/veo/videos', { status: 401, body: fixture('sora', 'error-401-invalid-token.json') });
    expect(await api.submit(veo)).toMatchObject({ kind: 'account_problem', code: 'invalid_token' });
    server.once('/veo/videos', { status: 400, body: fixture('sora', 'error-400-token-mismatched.json') });
    expect(await api.submit(veo)).toMatchObject({ kind: 'account_problem', code: 'token_mismatched' });
  });

  it('other refusals are the member’s: bad payload, moderation, too large', async () => {
    server.once('/wan/videos', { status: 400, body: fixture('wan', 'error-400-bad-request.json') });
    expect(await api.submit({ prompt: 'p', model: 'wan2.6' })).toMatchObject({ kind: 'rejected', code: 'bad_request' });
    server.once('/luma/videos', { status: 403, body: fixture('luma', 'error-403-forbidden.json') });
    expect(await api.submit({ prompt: 'p', model: 'luma' })).toMatchObject({ kind: 'rejected', code: 'forbidden' });
    server.once('/seedance/videos', { status: 413, body: fixture('seedance', 'error-413-request-too-large.json') });
    expect(await api.submit({ prompt: 'p', model: 'seedance-2-0' })).toMatchObject({ kind: 'rejected', code: 'request_too_large' });
  });

  it('a 504 timeout and a 2xx api_error may have been accepted: uncertain', async () => {
    server.once('/luma/videos', { status: 504, body: fixture('luma', 'error-504-timeout.json') });
    expect(await api.submit({ prompt: 'p', model: 'luma' })).toMatchObject({ kind: 'uncertain', code: 'timeout' });
    server.once('/kling/videos', { status: 200, body: fixture('kling', 'error-api-error-fetch-failed.json') });
    expect(await api.submit({ prompt: 'p', model: 'kling-v2-6' })).toMatchObject({ kind: 'uncertain', code: 'api_error' });
  });

  it('never puts the token into an outcome', async () => {
    server.once('/veo/videos', { status: 400, body: { error: { code: 'bad_request', message: `token ${TOKEN} is odd` } } });
    const outcome = await api.submit(veo);
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
    expect(outcome).toMatchObject({ kind: 'rejected', message: 'token [redacted] is odd' });
  });

  it('recognises the ways a message says the model is invalid, and only those', () => {
    for (const message of [
      'model is invalid.',
      'Model is invalid',
      'invalid model',
      'unknown model veo9',
      'the model kling-x is not supported',
    ]) {
      expect(saysModelIsInvalid(message), message).toBe(true);
    }
    for (const message of [
      'prompt is required.',
      'The json payload is not valid to request the API',
      'duration 25 is only supported by sora-2-pro.',
    ]) {
      expect(saysModelIsInvalid(message), message).toBe(false);
    }
  });
});

describe('retrieveBatch(service, ids)', () => {
  it('asks the service’s tasks path with retrieve_batch and classifies its records', async () => {
    const succeeded = fixture('kling', 'tasks-response-succeeded.json');
    const pending = { ...fixture('kling', 'tasks-response-pending-inferred.json'), id: 'k-pending' };
    server.once('/kling/tasks', { status: 200, body: { items: [succeeded, pending], count: 2 } });

    const outcome = await api.retrieveBatch('kling', [succeeded.id as string, 'k-pending', 'k-unknown']);

    expect(server.requests.map((r) => [r.path, r.body])).toEqual([
      ['/kling/tasks', { ids: [succeeded.id, 'k-pending', 'k-unknown'], action: 'retrieve_batch' }],
    ]);
    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.statuses.get(succeeded.id as string)).toEqual({
      kind: 'succeeded',
      videoUrl: 'https://cdn.klingai.com/bs2/upload-kling-api/7822108635/text2video/CjJzzGfBfqcAAAAAAKdVMQ-0_raw_video_1.mp4',
    });
    expect(outcome.statuses.get('k-pending')).toEqual({ kind: 'pending' });
    expect(outcome.statuses.has('k-unknown')).toBe(false);
  });

  it.each(['veo', 'seedance', 'hailuo', 'wan', 'luma'] as const)('%s: reads its fixtures through its own tasks path', async (service) => {
    const names =
      service === 'veo' || service === 'seedance'
        ? ['tasks-response-succeeded.json', 'tasks-response-failed-inferred.json']
        : ['tasks-response-succeeded-inferred.json', 'tasks-response-failed-inferred.json'];
    const [done, failed] = names.map((name) => fixture(service, name));
    const failedRecord = { ...failed, id: 'failed-one' };
    server.once(`/${service}/tasks`, { status: 200, body: { items: [done, failedRecord], count: 2 } });

    const outcome = await api.retrieveBatch(service, [done!.id as string, 'failed-one']);

    expect(server.requestsTo(`/${service}/tasks`)).toHaveLength(1);
    expect(outcome.kind === 'ok' && outcome.statuses.get(done!.id as string)?.kind).toBe('succeeded');
    expect(outcome.kind === 'ok' && outcome.statuses.get('failed-one')).toEqual({
      kind: 'failed',
      code: 'api_error',
      message: 'fetch failed',
    });
  });

  it('Seedance’s {} (no such task) and an empty batch leave the ids absent, not failed', async () => {
    server.once('/seedance/tasks', { status: 200, body: fixture('seedance', 'tasks-response-not-found.json') });
    expect(await api.retrieveBatch('seedance', ['nope'])).toEqual({ kind: 'ok', statuses: new Map() });
    server.once('/seedance/tasks', { status: 200, body: fixture('seedance', 'tasks-response-batch-empty.json') });
    expect(await api.retrieveBatch('seedance', ['nope'])).toEqual({ kind: 'ok', statuses: new Map() });
  });

  it('splits into calls of the service’s maxBatchIds', async () => {
    const ids = Array.from({ length: SERVICES.wan.maxBatchIds * 2 + 3 }, (_, i) => `w${i}`);
    await api.retrieveBatch('wan', ids);
    const calls = server.requestsTo('/wan/tasks').map((r) => (r.body as { ids: string[] }).ids);
    expect(calls.map((c) => c.length)).toEqual([SERVICES.wan.maxBatchIds, SERVICES.wan.maxBatchIds, 3]);
    expect(calls.flat()).toEqual(ids);
  });

  it.each([
    ['a 404', { status: 404, raw: '' }],
    ['no_api', { status: 404, body: fixture('veo', 'error-404-no-api.json') }],
    ['api_not_implemented', { status: 400, body: fixture('veo', 'error-400-api-not-implemented.json') }],
    ['api_not_implemented on a 200', { status: 200, body: fixture('veo', 'error-400-api-not-implemented.json') }],
  ])('turns %s on the tasks path into a non-retryable error', async (_name, reply) => {
    server.once('/veo/tasks', reply);
    expect(await api.retrieveBatch('veo', ['a'])).toMatchObject({ kind: 'error', retryable: false });
  });

  it('keeps a 429 and a 5xx retryable', async () => {
    server.once('/hailuo/tasks', { status: 429, body: { error: { code: 'too_many_requests', message: 'slow down' } } });
    expect(await api.retrieveBatch('hailuo', ['a'])).toMatchObject({ kind: 'error', code: 'too_many_requests', retryable: true });
    server.once('/hailuo/tasks', { status: 500, body: { error: { code: 'api_error', message: 'boom' } } });
    expect(await api.retrieveBatch('hailuo', ['a'])).toMatchObject({ kind: 'error', code: 'api_error', retryable: true });
  });
});

describe('the client on several services', () => {
  it.each(['sora', 'veo', 'kling', 'seedance', 'hailuo', 'wan', 'luma'] as const)(
    '%s: retrieve and retrieve_batch bodies are the documented ones',
    async (service) => {
      const one = fixture(service, 'tasks-request-retrieve.json');
      const batch = fixture(service, 'tasks-request-retrieve-batch.json') as { ids: string[] };
      await client.retrieveAt(SERVICES[service].tasksPath, one.id as string);
      await client.retrieveBatchAt(SERVICES[service].tasksPath, batch.ids, SERVICES[service].maxBatchIds);
      // Repeated ids (Veo's example repeats one) are asked once.
      expect(server.requests.map((r) => [r.path, r.body])).toEqual([
        [`/${service}/tasks`, one],
        [`/${service}/tasks`, { ...batch, ids: [...new Set(batch.ids)] }],
      ]);
    },
  );

  it('posts to any path relative to the base URL, keeping a path prefix', async () => {
    const prefixed = createAceDataClient({ baseUrl: `${server.url}/gateway/`, apiToken: TOKEN, requestTimeoutMs: 5_000 });
    try {
      await prefixed.submitTo('/veo/videos', { action: 'text2video', prompt: 'p' });
      await prefixed.retrieveAt('kling/tasks', 'k1');
      await prefixed.retrieveBatchAt('luma/tasks', ['a', 'b', 'c'], 2);
    } finally {
      await prefixed.close();
    }
    expect(server.requests.map((r) => [r.path, r.body])).toEqual([
      ['/gateway/veo/videos', { action: 'text2video', prompt: 'p', async: true }],
      ['/gateway/kling/tasks', { id: 'k1', action: 'retrieve' }],
      ['/gateway/luma/tasks', { ids: ['a', 'b'], action: 'retrieve_batch' }],
      ['/gateway/luma/tasks', { ids: ['c'], action: 'retrieve_batch' }],
    ]);
  });

  it('reads Seedance’s {} for one unknown id as a record without a response', async () => {
    server.once('/seedance/tasks', { status: 200, body: {} });
    const record = await client.retrieveAt('seedance/tasks', 'nope');
    expect(record.response).toBeUndefined();
  });
});
