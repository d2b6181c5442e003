import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import {
  EMULATOR_API_TOKEN,
  apiErrorFault,
  startAceDataEmulator,
  type AceDataEmulator,
  type AceDataEmulatorOptions,
} from './acedata-emulator.js';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/sora/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

const SYNC_SUBMIT = { prompt: 'cat running on the river', model: 'sora-2', duration: 15, orientation: 'landscape', size: 'large' };
const SUBMIT = { ...SYNC_SUBMIT, async: true };

let emulator: AceDataEmulator;
const agent = new Agent({ connections: 64 });

async function start(options: AceDataEmulatorOptions = {}): Promise<void> {
  await emulator.close();
  emulator = await startAceDataEmulator(options);
}

async function call(
  path: string,
  body: unknown,
  init: { token?: string | null; method?: 'POST' | 'GET' | 'HEAD'; raw?: string } = {},
): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = init.token === undefined ? EMULATOR_API_TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const method = init.method ?? 'POST';
  const response = await request(`${emulator.url}${path}`, {
    method,
    headers,
    body: method === 'POST' ? (init.raw ?? JSON.stringify(body)) : undefined,
    dispatcher: agent,
  });
  const text = await response.body.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.statusCode, json, headers: response.headers };
}

async function submit(body: Record<string, unknown> = SUBMIT): Promise<string> {
  const answer = await call('/sora/videos', body);
  expect(answer.status).toBe(200);
  return (answer.json as { task_id: string }).task_id;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

beforeEach(async () => {
  emulator = await startAceDataEmulator({ generationTimeMs: 60_000 });
});

afterEach(async () => {
  await emulator.close();
});

describe('authentication and validation', () => {
  it('answers no_token, invalid_token and the account modes', async () => {
    expect(await call('/sora/videos', SUBMIT, { token: null })).toMatchObject({ status: 400, json: { error: { code: 'no_token' } } });
    expect(await call('/sora/tasks', { id: 'a' }, { token: 'nope' })).toMatchObject({
      status: 401,
      json: { error: { code: 'invalid_token' } },
    });
    emulator.setAccountState('used_up');
    expect(await call('/sora/videos', SUBMIT)).toMatchObject({ status: 403, json: { error: { code: 'used_up' } } });
    // Polling stays possible with an empty balance.
    expect((await call('/sora/tasks', { id: 'a' })).status).toBe(200);
    emulator.setAccountState('disabled');
    expect(await call('/sora/tasks', { id: 'a' })).toMatchObject({ status: 403, json: { error: { code: 'disabled' } } });
    emulator.setAccountState('ok');
    expect((await call('/sora/videos', SUBMIT)).status).toBe(200);
    expect(emulator.requests.map((entry) => entry.authorized)).toEqual([false, false, true, true, true, true]);
  });

  it.each([
    [{ ...SUBMIT, prompt: '' }, 'prompt is required.'],
    [{ ...SUBMIT, model: 'sora-3' }, 'model is invalid.'],
    [{ ...SUBMIT, duration: 25 }, 'duration 25 is only supported by sora-2-pro.'],
    [{ ...SUBMIT, duration: 12 }, 'duration is invalid.'],
    [{ ...SUBMIT, orientation: 'square' }, 'orientation is invalid.'],
    [{ ...SUBMIT, image_urls: ['not a url'] }, 'image_urls is invalid.'],
  ])('refuses %j with 400 bad_request', async (body, message) => {
    expect(await call('/sora/videos', body)).toMatchObject({ status: 400, json: { error: { code: 'bad_request', message } } });
    expect(emulator.tasks.size).toBe(0);
  });

  it('accepts 25 s with sora-2-pro, and refuses large with sora-2 only when told to', async () => {
    expect((await call('/sora/videos', { ...SUBMIT, model: 'sora-2-pro', duration: 25 })).status).toBe(200);
    await start({ rejectLargeWithSora2: true });
    expect((await call('/sora/videos', SUBMIT)).status).toBe(400);
    expect((await call('/sora/videos', { ...SUBMIT, size: 'small' })).status).toBe(200);
  });

  it('refuses a body that is not JSON and an unknown path', async () => {
    expect(await call('/sora/videos', undefined, { raw: '{nope' })).toMatchObject({ status: 400, json: { error: { code: 'bad_request' } } });
    expect(await call('/sora/images', SUBMIT)).toMatchObject({ status: 404, json: { error: { code: 'no_api' } } });
    expect(emulator.requests[0]?.body).toBe('{nope');
  });
});

describe('task lifecycle', () => {
  it('answers {task_id}, then pending, running and succeeded records shaped like the fixtures', async () => {
    await start({ generationTimeMs: 600, queueTimeMs: 250 });
    const answer = await call('/sora/videos', SUBMIT);
    expect(Object.keys(answer.json as object)).toEqual(Object.keys(fixture('videos-response-async.json')));
    const id = (answer.json as { task_id: string }).task_id;

    const pending = (await call('/sora/tasks', { id, action: 'retrieve' })).json as Record<string, unknown>;
    expect(Object.keys(pending).sort()).toEqual(Object.keys(fixture('tasks-response-pending-inferred.json')).sort());
    expect(pending.request).toEqual(SUBMIT);

    await sleep(350);
    const running = (await call('/sora/tasks', { id })).json as Record<string, unknown>;
    expect(running.response).toEqual(fixture('tasks-response-processing-inferred.json').response);

    await sleep(400);
    const done = (await call('/sora/tasks', { id })).json as Record<string, unknown>;
    const expected = fixture('tasks-response-succeeded.json');
    expect(Object.keys(done).sort()).toEqual(Object.keys(expected).sort());
    const response = done.response as { data: Array<Record<string, unknown>> } & Record<string, unknown>;
    expect(Object.keys(response).sort()).toEqual(Object.keys(expected.response as object).sort());
    expect(response).toMatchObject({ success: true, task_id: id, trace_id: done.trace_id });
    expect(response.data[0]).toEqual({ id: expect.stringMatching(/^sora-2:task_/) as unknown, video_url: `${emulator.url}/videos/${id}.mp4`, state: 'succeeded' });
    expect(emulator.tasks.get(id)?.state).toBe('succeeded');
  });

  it('fails tasks as the planner says, in the documented failed shape', async () => {
    emulator.setTaskPlanner((body) =>
      String(body.prompt).includes('logo') ? { outcome: 'failed', errorCode: 'forbidden', errorMessage: 'brand logos are not allowed', generationTimeMs: 0 } : undefined,
    );
    const failed = await submit({ ...SUBMIT, prompt: 'a logo' });
    const ok = await submit();
    await sleep(30);
    const record = (await call('/sora/tasks', { id: failed })).json as Record<string, unknown>;
    expect(Object.keys(record.response as object).sort()).toEqual(
      Object.keys(fixture('tasks-response-failed-inferred.json').response as object).sort(),
    );
    expect(record.response).toMatchObject({ success: false, error: { code: 'forbidden', message: 'brand logos are not allowed' } });
    expect(emulator.tasks.get(ok)?.state).toBe('running');
  });

  it('applies setGenerationTimeMs to later tasks and finishTask at once', async () => {
    const slow = await submit();
    emulator.setGenerationTimeMs(0);
    const fast = await submit();
    await sleep(30);
    expect(emulator.tasks.get(fast)?.state).toBe('succeeded');
    expect(emulator.tasks.get(slow)?.state).toBe('running');
    emulator.finishTask(slow, { outcome: 'failed', errorCode: 'api_error', errorMessage: 'boom' });
    expect(emulator.recordOf(slow)?.response).toMatchObject({ success: false, error: { code: 'api_error', message: 'boom' } });
  });

  it('answers a submit without async synchronously when the task ends', async () => {
    emulator.setGenerationTimeMs(50);
    const answer = await call('/sora/videos', SYNC_SUBMIT);
    expect(Object.keys(answer.json as object).sort()).toEqual(Object.keys(fixture('videos-response-sync-success.json')).sort());
    expect(answer.json).toMatchObject({ success: true, data: [{ state: 'succeeded' }] });
  });

  it('enforces the optional concurrency and submit-rate limits', async () => {
    await start({ generationTimeMs: 60_000, maxConcurrentGenerations: 2 });
    await submit();
    const second = await submit();
    expect(await call('/sora/videos', SUBMIT)).toMatchObject({
      status: 429,
      json: fixture('error-429-concurrency-rate-limited.json'),
    });
    emulator.finishTask(second);
    expect((await call('/sora/videos', SUBMIT)).status).toBe(200);
    expect(emulator.stats()).toMatchObject({ submitted: 3, running: 2, succeeded: 1, maxRunning: 2 });

    await start({ submitMinIntervalMs: 10_000 });
    await submit();
    expect(await call('/sora/videos', SUBMIT)).toMatchObject({ status: 429, json: { error: { code: 'too_many_requests' } } });
  });
});

describe('/sora/tasks queries', () => {
  it('answers retrieve_batch with one item per known asked id, repeated ids repeated', async () => {
    const a = await submit();
    const b = await submit();
    const answer = await call('/sora/tasks', { ids: [a, 'unknown', b, a], action: 'retrieve_batch' });
    const body = answer.json as { items: Array<{ id: string }>; count: number };
    expect(body.items.map((item) => item.id)).toEqual([a, b, a]);
    expect(body.count).toBe(3);
  });

  it('refuses more than 50 ids and unknown actions', async () => {
    const ids = Array.from({ length: 51 }, (_, i) => `id-${i}`);
    expect(await call('/sora/tasks', { ids, action: 'retrieve_batch' })).toMatchObject({ status: 400, json: { error: { code: 'bad_request' } } });
    expect((await call('/sora/tasks', { ids: ids.slice(1), action: 'retrieve_batch' })).status).toBe(200);
    expect((await call('/sora/tasks', { id: 'a', action: 'delete' })).status).toBe(400);
  });

  it('answers an unknown id with an empty 200 record, or 404 not_found in that mode', async () => {
    expect(await call('/sora/tasks', { id: 'nope', action: 'retrieve' })).toEqual(expect.objectContaining({ status: 200, json: {} }));
    await start({ unknownTaskMode: 'not_found' });
    expect(await call('/sora/tasks', { id: 'nope' })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
  });
});

describe('videos', () => {
  it('serves the configured number of bytes once the task succeeded', async () => {
    await start({ generationTimeMs: 60_000, videoBytes: 3 * 1024 * 1024 + 5 });
    const id = await submit();
    expect((await call(`/videos/${id}.mp4`, undefined, { method: 'GET', token: null })).status).toBe(404);
    emulator.finishTask(id);

    const head = await call(`/videos/${id}.mp4`, undefined, { method: 'HEAD', token: null });
    expect(head.headers['content-length']).toBe(String(3 * 1024 * 1024 + 5));

    const response = await request(`${emulator.url}/videos/${id}.mp4`, { dispatcher: agent });
    expect(response.headers['content-type']).toBe('video/mp4');
    const bytes = Buffer.from(await response.body.arrayBuffer());
    expect(bytes.length).toBe(3 * 1024 * 1024 + 5);
    expect(bytes.subarray(4, 8).toString('ascii')).toBe('ftyp');
  });

  it('takes a per-task size from the planner', async () => {
    emulator.setTaskPlanner(() => ({ videoBytes: 10, generationTimeMs: 0 }));
    const id = await submit();
    await sleep(20);
    const response = await request(`${emulator.url}/videos/${id}.mp4`, { dispatcher: agent });
    expect((await response.body.arrayBuffer()).byteLength).toBe(10);
  });
});

describe('faults', () => {
  it('applies a fault to the next N requests on a path only', async () => {
    emulator.failNext('/sora/tasks', apiErrorFault(500, 'api_error', 'Internal server error.'), 2);
    expect((await call('/sora/videos', SUBMIT)).status).toBe(200);
    expect((await call('/sora/tasks', { id: 'a' })).status).toBe(500);
    expect((await call('/sora/tasks', { id: 'a' })).status).toBe(500);
    expect((await call('/sora/tasks', { id: 'a' })).status).toBe(200);
    expect(emulator.requests.map((entry) => [entry.path, entry.status, entry.fault])).toEqual([
      ['/sora/videos', 200, undefined],
      ['/sora/tasks', 500, 'respond'],
      ['/sora/tasks', 500, 'respond'],
      ['/sora/tasks', 200, undefined],
    ]);
  });

  it('sends Retry-After, malformed JSON, and matches paths by RegExp', async () => {
    emulator.failNext('/sora/videos', apiErrorFault(429, 'too_many_requests', 'slow', { retryAfter: 5 }));
    const limited = await call('/sora/videos', SUBMIT);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('5');

    emulator.failNext(/^\/sora\//, { kind: 'malformed' });
    const malformed = await call('/sora/tasks', { id: 'a' });
    expect(malformed.status).toBe(200);
    expect(typeof malformed.json).toBe('string');
  });

  it('drops the connection, before or after processing', async () => {
    emulator.failNext('/sora/videos', { kind: 'drop' });
    await expect(call('/sora/videos', SUBMIT)).rejects.toThrow();
    expect(emulator.tasks.size).toBe(0);
    emulator.failNext('/sora/videos', { kind: 'drop', afterProcessing: true });
    await expect(call('/sora/videos', SUBMIT)).rejects.toThrow();
    expect(emulator.tasks.size).toBe(1);
    expect(emulator.requests.map((entry) => entry.status)).toEqual([0, 0]);
  });

  it('delays an answer and still processes it', async () => {
    emulator.failNext('/sora/videos', { kind: 'delay', delayMs: 120 });
    const startedAt = Date.now();
    expect((await call('/sora/videos', SUBMIT)).status).toBe(200);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(110);
  });

  it('closes promptly with delayed and synchronous requests in flight', async () => {
    emulator.failNext('/sora/tasks', { kind: 'delay', delayMs: 30_000 });
    const delayed = call('/sora/tasks', { id: 'a' }).catch((error: unknown) => error);
    const waiting = call('/sora/videos', SYNC_SUBMIT).catch((error: unknown) => error);
    await sleep(50);
    const startedAt = Date.now();
    await emulator.close();
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(await delayed).toBeInstanceOf(Error);
    expect(await waiting).toBeInstanceOf(Error);
  });
});

describe('callbacks', () => {
  it('POSTs the documented success and failure bodies to callback_url', async () => {
    const received: unknown[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.end('ok');
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?secret=s1`;
    try {
      emulator.setTaskPlanner((body) => ({ generationTimeMs: 0, outcome: body.prompt === 'bad' ? 'failed' : 'succeeded' }));
      const good = await submit({ ...SUBMIT, callback_url: callbackUrl });
      await submit({ ...SUBMIT, prompt: 'bad', callback_url: callbackUrl });
      for (let i = 0; i < 300 && received.length < 2; i += 1) await sleep(10);

      expect(received).toHaveLength(2);
      const success = received.find((body) => (body as { success: boolean }).success) as Record<string, unknown>;
      const failure = received.find((body) => !(body as { success: boolean }).success) as Record<string, unknown>;
      expect(Object.keys(success).sort()).toEqual(Object.keys(fixture('callback-success.json')).sort());
      expect(Object.keys(failure).sort()).toEqual(Object.keys(fixture('callback-failure-inferred.json')).sort());
      expect(success.task_id).toBe(good);
      expect(emulator.callbacks.map((delivery) => delivery.status)).toEqual([200, 200]);
      expect(emulator.recordOf(good)?.request).toMatchObject({ callback_url: callbackUrl });
    } finally {
      receiver.close();
    }
  });
});

describe('scale', () => {
  it('handles thousands of tasks quickly', async () => {
    await start({ generationTimeMs: 100, recordRequests: false });
    const ids: string[] = [];
    const startedAt = Date.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 500; i += 1) ids.push(await submit());
      }),
    );
    await sleep(150);
    let succeeded = 0;
    for (let start = 0; start < ids.length; start += 50) {
      const answer = await call('/sora/tasks', { ids: ids.slice(start, start + 50), action: 'retrieve_batch' });
      const items = (answer.json as { items: Array<{ response?: { success?: boolean } }> }).items;
      succeeded += items.filter((item) => item.response?.success === true).length;
    }
    expect(succeeded).toBe(2_000);
    expect(emulator.stats()).toMatchObject({ submitted: 2_000, running: 0, succeeded: 2_000, requests: 2_040 });
    expect(emulator.requests).toHaveLength(0);
    expect(Date.now() - startedAt).toBeLessThan(15_000);
  });
});
