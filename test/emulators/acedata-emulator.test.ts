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
  type UnavailableMode,
  type VideoService,
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
    expect(await call('/sora/videos', undefined, { raw: '{nope' })).toMatchObject({
      status: 400,
      json: { error: { code: 'bad_request' } },
    });
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
    expect(response.data[0]).toEqual({
      id: expect.stringMatching(/^sora-2:task_/) as unknown,
      video_url: `${emulator.url}/videos/${id}.mp4`,
      state: 'succeeded',
    });
    expect(emulator.tasks.get(id)?.state).toBe('succeeded');
  });

  it('fails tasks as the planner says, in the documented failed shape', async () => {
    emulator.setTaskPlanner((body) =>
      String(body.prompt).includes('logo')
        ? { outcome: 'failed', errorCode: 'forbidden', errorMessage: 'brand logos are not allowed', generationTimeMs: 0 }
        : undefined,
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
    expect(await call('/sora/tasks', { ids, action: 'retrieve_batch' })).toMatchObject({
      status: 400,
      json: { error: { code: 'bad_request' } },
    });
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

// ------------------------------------------------------------------------------------------------
// The other services. Expected key sets come from the research fixtures of each service (docs/acedata-contract.md);
// only the Sora fixtures are copied into test/fixtures, so the others are written out here.

type Json = Record<string, unknown>;

interface ServiceCase {
  /** A text submit with async:true. */
  submit: Json;
  /** Keys of the success body (videos-response-sync-success.json / callback-success.json). */
  successKeys: string[];
  /** Keys of the first `data` item or of the `data` object, when there is one. */
  dataKeys?: string[];
  /** Fields the success body must have. */
  success: Json;
  /** Where the video URL is. */
  videoUrl: (response: Json) => string;
  /** Record keys beyond the shared envelope, once finished. */
  recordExtras: string[];
}

const RECORD_KEYS = ['_id', 'id', 'api_id', 'application_id', 'created_at', 'credential_id', 'request', 'trace_id', 'type', 'user_id'];
const dataItem = (response: Json): Json => (response.data as Json[])[0]!;

const SERVICE_CASES: Record<Exclude<VideoService, 'sora'>, ServiceCase> = {
  veo: {
    submit: { action: 'text2video', model: 'veo3', prompt: 'White ceramic coffee mug on marble', aspect_ratio: '16:9', async: true },
    successKeys: ['success', 'task_id', 'trace_id', 'data'],
    dataKeys: ['id', 'video_url', 'created_at', 'complete_at', 'state'],
    success: { success: true, data: [{ state: 'succeeded' }] },
    videoUrl: (response) => dataItem(response).video_url as string,
    recordExtras: [],
  },
  kling: {
    submit: {
      action: 'text2video',
      model: 'kling-v2-6',
      mode: 'std',
      aspect_ratio: '16:9',
      duration: 10,
      prompt: 'White ceramic coffee mug',
      async: true,
    },
    successKeys: ['success', 'video_id', 'video_url', 'duration', 'state', 'task_id'],
    success: { success: true, state: 'succeed', duration: '10' },
    videoUrl: (response) => response.video_url as string,
    recordExtras: ['job_id', 'duration', 'finished_at'],
  },
  seedance: {
    submit: {
      model: 'doubao-seedance-2-0-fast-260128',
      content: [{ type: 'text', text: 'A white ceramic coffee mug on a glossy marble countertop.' }],
      resolution: '720p',
      ratio: '16:9',
      duration: 5,
      async: true,
    },
    successKeys: ['success', 'task_id', 'trace_id', 'data'],
    // The union of the guide's sync example and the task record's `response.data`.
    dataKeys: ['task_id', 'status', 'model', 'duration', 'resolution', 'ratio', 'video_url', 'last_frame_url'],
    success: { success: true, data: { status: 'succeeded', model: 'doubao-seedance-2-0-fast-260128', last_frame_url: null } },
    videoUrl: (response) => (response.data as Json).video_url as string,
    recordExtras: ['started_at', 'finished_at', 'elapsed'],
  },
  hailuo: {
    submit: { action: 'generate', model: 'minimax-t2v', prompt: 'Internal heat', async: true },
    successKeys: ['success', 'task_id', 'trace_id', 'data'],
    dataKeys: ['id', 'model', 'prompt', 'video_url', 'state'],
    success: { success: true, data: [{ model: 'minimax-t2v', prompt: 'Internal heat', state: 'succeeded' }] },
    videoUrl: (response) => dataItem(response).video_url as string,
    recordExtras: [],
  },
  wan: {
    submit: {
      action: 'text2video',
      model: 'wan2.6-t2v',
      prompt: 'Astronauts shuttle from space to volcano',
      resolution: '720P',
      duration: 5,
      async: true,
    },
    successKeys: ['success', 'video_url', 'state', 'task_id'],
    success: { success: true, state: 'completed' },
    videoUrl: (response) => response.video_url as string,
    recordExtras: ['finished_at'],
  },
  luma: {
    submit: { action: 'generate', prompt: 'Astronauts shuttle from space to volcano', aspect_ratio: '9:16', async: true },
    successKeys: [
      'success',
      'task_id',
      'video_id',
      'prompt',
      'video_url',
      'video_height',
      'video_width',
      'state',
      'thumbnail_url',
      'thumbnail_width',
      'thumbnail_height',
    ],
    success: {
      success: true,
      state: 'completed',
      prompt: 'Astronauts shuttle from space to volcano',
      video_width: 752,
      video_height: 1360,
    },
    videoUrl: (response) => response.video_url as string,
    recordExtras: ['finished_at'],
  },
};
const OTHER_SERVICES = Object.keys(SERVICE_CASES) as Array<keyof typeof SERVICE_CASES>;

async function submitTo(service: VideoService, body: Json): Promise<string> {
  const answer = await call(`/${service}/videos`, body);
  expect(answer).toMatchObject({ status: 200 });
  expect(Object.keys(answer.json as object)).toEqual(['task_id']);
  return (answer.json as { task_id: string }).task_id;
}

async function retrieve(service: VideoService, id: string): Promise<Json> {
  const answer = await call(`/${service}/tasks`, { action: 'retrieve', id });
  expect(answer.status).toBe(200);
  return answer.json as Json;
}

async function waitForResponse(service: VideoService, id: string): Promise<Json> {
  for (let i = 0; i < 200; i += 1) {
    const record = await retrieve(service, id);
    if (record.response !== undefined) return record;
    await sleep(10);
  }
  throw new Error(`task ${id} did not finish`);
}

/** A copy of `body` without `key`. */
function without(body: Json, key: string): Json {
  return Object.fromEntries(Object.entries(body).filter(([name]) => name !== key));
}

function sorted(keys: readonly string[]): string[] {
  return [...keys].sort();
}

async function receiveCallbacks(): Promise<{ url: string; received: unknown[]; close: () => void }> {
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
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, received, close: () => receiver.close() };
}

describe('other services: lifecycle', () => {
  it.each(OTHER_SERVICES)('%s: async submit, pending record, then retrieve_batch answers its own success shape', async (service) => {
    const spec = SERVICE_CASES[service];
    await start({ generationTimeMs: 200, queueTimeMs: 100, videoBytes: 1000 });
    const id = await submitTo(service, spec.submit);
    expect(emulator.tasks.get(id)).toMatchObject({ service, state: 'running' });

    const pending = await retrieve(service, id);
    expect(pending).not.toHaveProperty('response');
    expect(pending).toMatchObject({ id, type: 'videos', request: spec.submit });
    expect(typeof pending.created_at).toBe('number');
    expect(pending.created_at as number).toBeLessThan(Date.now() / 1000 + 1);
    if (service === 'kling') expect(pending.job_id).toEqual(expect.any(String));
    if (service === 'seedance') expect(pending).toMatchObject({ finished_at: null, elapsed: null });

    await waitForResponse(service, id);
    const batch = (await call(`/${service}/tasks`, { action: 'retrieve_batch', ids: [id] })).json as { items: Json[]; count: number };
    expect(batch.count).toBe(1);
    const record = batch.items[0]!;
    expect(sorted(Object.keys(record))).toEqual(sorted([...RECORD_KEYS, 'response', ...spec.recordExtras]));
    const response = record.response as Json;
    expect(sorted(Object.keys(response))).toEqual(sorted(spec.successKeys));
    expect(response).toMatchObject({ ...spec.success, task_id: id });
    if (spec.successKeys.includes('trace_id')) expect(response.trace_id).toBe(record.trace_id);
    if (spec.dataKeys) {
      const data = Array.isArray(response.data) ? dataItem(response) : (response.data as Json);
      expect(sorted(Object.keys(data))).toEqual(sorted(spec.dataKeys));
    }
    expect(emulator.recordOf(id)).toEqual(record);

    const videoUrl = spec.videoUrl(response);
    expect(videoUrl.startsWith(`${emulator.url}/videos/${id}.mp4`)).toBe(true);
    const video = await request(videoUrl, { dispatcher: agent });
    expect(video.statusCode).toBe(200);
    expect(video.headers['content-type']).toBe('video/mp4');
    expect((await video.body.arrayBuffer()).byteLength).toBe(1000);
  });

  it("fills each service's ids and times the way its fixtures do", async () => {
    await start({ generationTimeMs: 0 });
    const ids = Object.fromEntries(
      await Promise.all(OTHER_SERVICES.map(async (service) => [service, await submitTo(service, SERVICE_CASES[service].submit)] as const)),
    ) as Record<(typeof OTHER_SERVICES)[number], string>;
    await sleep(30);
    const response = (service: (typeof OTHER_SERVICES)[number]): Json => emulator.recordOf(ids[service])!.response as Json;

    expect(dataItem(response('veo'))).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) as unknown,
      complete_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) as unknown,
    });
    expect(response('kling').video_id).toMatch(/^[0-9a-f-]{36}$/);
    expect((response('seedance').data as Json).task_id).toMatch(/^cgt-\d{14}-[0-9a-z]{5}$/);
    expect(dataItem(response('hailuo')).id).toMatch(/^[0-9a-v]{26}$/);
    expect(response('wan').video_url).toMatch(/\.mp4\?Expires=\d+&OSSAccessKeyId=emulator&Signature=/);
    const luma = response('luma');
    expect(luma.video_id).toMatch(/^[0-9a-f-]{36}$/);
    const thumbnail = await request(luma.thumbnail_url as string, { dispatcher: agent });
    expect(thumbnail.headers['content-type']).toBe('image/jpeg');
    expect(Buffer.from(await thumbnail.body.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    // Reading a record twice gives the same ids.
    expect(emulator.recordOf(ids.hailuo)).toEqual(emulator.recordOf(ids.hailuo));
    expect(emulator.recordOf(ids.kling)).toMatchObject({
      finished_at: expect.any(Number) as unknown,
      duration: expect.any(Number) as unknown,
    });
  });

  it('answers a submit without async synchronously with the flat Kling body', async () => {
    emulator.setGenerationTimeMs(50);
    const answer = await call('/kling/videos', without(SERVICE_CASES.kling.submit, 'async'));
    expect(answer.status).toBe(200);
    expect(sorted(Object.keys(answer.json as object))).toEqual(sorted(SERVICE_CASES.kling.successKeys));
    expect(answer.json).toMatchObject({ success: true, state: 'succeed', duration: '10' });
  });

  it('fails a task on a flat-shape service in the gateway envelope, polled and synchronous', async () => {
    const contexts: unknown[] = [];
    emulator.setTaskPlanner((body, context) => {
      contexts.push(context);
      return body.prompt === 'bad'
        ? { outcome: 'failed', generationTimeMs: 0, errorCode: 'forbidden', errorMessage: 'moderated' }
        : { generationTimeMs: 0 };
    });
    const id = await submitTo('wan', { ...SERVICE_CASES.wan.submit, prompt: 'bad' });
    const record = await waitForResponse('wan', id);
    expect(sorted(Object.keys(record))).toEqual(sorted([...RECORD_KEYS, 'response', 'finished_at']));
    expect(record.response).toEqual({ success: false, error: { code: 'forbidden', message: 'moderated' }, trace_id: record.trace_id });

    const sync = await call('/luma/videos', { ...without(SERVICE_CASES.luma.submit, 'async'), prompt: 'bad' });
    expect(sync).toMatchObject({ status: 200, json: { success: false, error: { code: 'forbidden', message: 'moderated' } } });
    expect(Object.keys(sync.json as object).sort()).toEqual(['error', 'success', 'trace_id']);
    expect(contexts).toEqual([
      { index: 0, service: 'wan' },
      { index: 1, service: 'luma' },
    ]);
    expect(emulator.stats()).toMatchObject({ submitted: 2, failed: 2, running: 0 });
  });

  it("POSTs every service's final body to callback_url, the same as the record's response", async () => {
    const hook = await receiveCallbacks();
    try {
      emulator.setTaskPlanner(() => ({ generationTimeMs: 0 }));
      const ids: string[] = [];
      for (const service of OTHER_SERVICES) {
        const body = without(SERVICE_CASES[service].submit, 'async');
        ids.push(await submitTo(service, { ...body, callback_url: `${hook.url}?service=${service}` }));
      }
      for (let i = 0; i < 300 && hook.received.length < ids.length; i += 1) await sleep(10);
      expect(hook.received).toHaveLength(ids.length);
      for (const [index, id] of ids.entries()) {
        const delivery = emulator.callbacks.find((entry) => entry.url.endsWith(`service=${OTHER_SERVICES[index]}`))!;
        expect(delivery).toMatchObject({ status: 200, body: emulator.recordOf(id)?.response });
        expect(sorted(Object.keys(delivery.body as object))).toEqual(sorted(SERVICE_CASES[OTHER_SERVICES[index]!].successKeys));
      }
    } finally {
      hook.close();
    }
  });
});

describe('other services: validation', () => {
  const veo = SERVICE_CASES.veo.submit;
  const kling = SERVICE_CASES.kling.submit;
  const seedance = SERVICE_CASES.seedance.submit;
  const hailuo = SERVICE_CASES.hailuo.submit;
  const wan = SERVICE_CASES.wan.submit;
  const luma = SERVICE_CASES.luma.submit;
  const image = 'https://cdn.acedata.cloud/7p1jhy.png';
  const invalidPayload = 'The json payload is not valid to request the API';

  it.each<[VideoService, Json, string]>([
    ['veo', { ...veo, model: 'veo4' }, 'model is invalid.'],
    ['veo', { ...veo, action: 'get1080p' }, 'action is invalid.'],
    ['veo', { ...veo, resolution: '4k' }, 'resolution 4k is only supported by veo31.'],
    ['veo', { ...veo, resolution: '720p' }, 'resolution is invalid.'],
    ['veo', { ...veo, aspect_ratio: '21:9' }, 'aspect_ratio is invalid.'],
    ['veo', { ...veo, action: 'image2video', image_urls: [image, image, image, image] }, 'image_urls can contain at most 3 items.'],
    ['veo', { ...veo, action: 'image2video' }, 'image_urls is required when action is image2video.'],
    ['veo', { ...veo, model: 'veo31-fast-ingredients' }, 'veo31-fast-ingredients needs 1 to 3 image_urls.'],
    [
      'veo',
      { ...veo, action: 'image2video', model: 'veo31-fast-ingredients', image_urls: [image] },
      'action ingredients2video goes with model veo31-fast-ingredients only.',
    ],
    ['kling', { ...kling, duration: 7 }, 'duration is invalid.'],
    ['kling', { ...kling, mode: '4k' }, 'mode is invalid.'],
    ['kling', { ...kling, aspect_ratio: '4:3' }, 'aspect_ratio is invalid.'],
    ['kling', { ...kling, action: 'image2video' }, 'start_image_url is required when action is image2video.'],
    [
      'kling',
      { ...kling, action: 'image2video', start_image_url: image, end_image_url: image, duration: 10 },
      'duration must be 5 with end_image_url.',
    ],
    ['kling', { ...kling, negative_prompt: 'x'.repeat(201) }, 'negative_prompt can be at most 200 characters.'],
    ['kling', { ...kling, model: 'kling-v3', duration: 16 }, 'duration is invalid.'],
    ['seedance', { model: seedance.model, async: true }, 'content is required.'],
    ['seedance', { ...seedance, prompt: 'a cat' }, 'prompt is not a field of this API, send the text in content.'],
    ['seedance', { ...seedance, action: 'text2video' }, 'action is not a field of this API.'],
    ['seedance', { ...seedance, model: 'seedance-3' }, 'model is invalid.'],
    ['seedance', { ...seedance, content: [{ type: 'image_url', image_url: image, role: 'first_frame' }] }, 'content image_url is invalid.'],
    ['seedance', { ...seedance, duration: 16 }, 'duration is invalid.'],
    ['seedance', { ...seedance, resolution: '1080p' }, 'resolution 1080p is not supported by doubao-seedance-2-0-fast-260128.'],
    ['seedance', { ...seedance, ratio: '2:1' }, 'ratio is invalid.'],
    ['hailuo', { ...hailuo, model: 'minimax-i2v' }, 'first_image_url is required with minimax-i2v.'],
    [
      'hailuo',
      { ...hailuo, model: 'minimax-i2v', first_image_url: 'data:image/png;base64,iVBORw0KGgo=' },
      'first_image_url must be an http(s) URL, Base64 encoding is not supported.',
    ],
    ['hailuo', { ...hailuo, action: 'text2video' }, 'action is invalid.'],
    ['hailuo', { ...hailuo, prompt: '' }, 'prompt is required.'],
    ['wan', { ...wan, resolution: '720p' }, invalidPayload],
    ['wan', { ...wan, duration: 8 }, invalidPayload],
    ['wan', { ...wan, model: 'wan2.6-i2v' }, invalidPayload],
    ['wan', { ...wan, action: 'image2video', model: 'wan2.6-i2v' }, invalidPayload],
    ['wan', { ...wan, action: 'image2video', model: 'wan2.6-t2v', image_url: image }, invalidPayload],
    ['luma', { ...luma, model: 'ray-2' }, invalidPayload],
    ['luma', { ...luma, action: 'extend' }, invalidPayload],
    ['luma', { ...luma, loop: 'yes' }, invalidPayload],
  ])('%s refuses %j with 400 bad_request', async (service, body, message) => {
    expect(await call(`/${service}/videos`, body)).toMatchObject({ status: 400, json: { error: { code: 'bad_request', message } } });
    expect(emulator.tasks.size).toBe(0);
  });

  it.each<[VideoService, Json]>([
    ['veo', { ...veo, model: 'veo31', resolution: '4k' }],
    ['veo', { ...veo, action: 'ingredients2video', model: 'veo31-fast-ingredients', image_urls: [image, image, image] }],
    ['veo', { action: 'text2video', prompt: 'no model: veo2-fast', async: true }],
    ['kling', { ...kling, model: 'kling-v3', duration: 7 }],
    ['kling', { ...kling, action: 'image2video', start_image_url: image, end_image_url: image, duration: 5 }],
    ['seedance', { ...seedance, model: 'doubao-seedance-2-5-260628', duration: 30, resolution: '1080p' }],
    [
      'seedance',
      {
        ...seedance,
        duration: -1,
        content: [
          ...(seedance.content as Json[]),
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' }, role: 'first_frame' },
        ],
      },
    ],
    ['hailuo', { action: 'generate', prompt: 'Internal heat', async: true }],
    ['hailuo', { ...hailuo, model: 'minimax-i2v', first_image_url: image }],
    [
      'wan',
      {
        ...wan,
        action: 'image2video',
        model: 'wan2.6-i2v-flash',
        image_url: image,
        resolution: '1080P',
        duration: 15,
        negative_prompt: 'x'.repeat(600),
      },
    ],
    ['luma', { action: 'extend', video_id: '0105c090-03a5-425a-8026-523341cd575b', end_image_url: image, async: true }],
    ['luma', { start_image_url: image, async: true }],
  ])('%s accepts %j', async (service, body) => {
    expect((await call(`/${service}/videos`, body)).status).toBe(200);
  });

  it('answers {} for an unknown Seedance id and applies the gateway checks to every service', async () => {
    expect(await call('/seedance/tasks', { action: 'retrieve', id: 'task-id' })).toMatchObject({ status: 200, json: {} });
    expect(await call('/seedance/tasks', { action: 'retrieve_batch', ids: ['task-id'] })).toMatchObject({
      status: 200,
      json: { items: [], count: 0 },
    });
    expect(await call('/kling/videos', SERVICE_CASES.kling.submit, { token: null })).toMatchObject({
      status: 400,
      json: { error: { code: 'no_token' } },
    });
    emulator.setAccountState('used_up');
    expect(await call('/luma/videos', SERVICE_CASES.luma.submit)).toMatchObject({ status: 403, json: { error: { code: 'used_up' } } });
    expect(await call('/wan/images', {})).toMatchObject({ status: 404, json: { error: { code: 'no_api' } } });
    expect(await call('/midjourney/videos', {})).toMatchObject({ status: 404, json: { error: { code: 'no_api' } } });
  });
});

describe('other services: isolation and shared knobs', () => {
  it("keeps each service's tasks on its own tasks path", async () => {
    const soraId = await submit();
    const veoId = await submitTo('veo', SERVICE_CASES.veo.submit);
    const klingId = await submitTo('kling', SERVICE_CASES.kling.submit);

    const batch = (await call('/veo/tasks', { action: 'retrieve_batch', ids: [soraId, veoId, klingId] })).json as {
      items: Json[];
      count: number;
    };
    expect(batch.items.map((item) => item.id)).toEqual([veoId]);
    expect(batch.count).toBe(1);
    expect(await retrieve('veo', soraId)).toEqual({});
    expect(await retrieve('sora', veoId)).toEqual({});
    expect(await retrieve('kling', veoId)).toEqual({});
    expect((await retrieve('sora', soraId)).id).toBe(soraId);
    await start({ unknownTaskMode: 'not_found' });
    const wanId = await submitTo('wan', SERVICE_CASES.wan.submit);
    expect(await call('/luma/tasks', { id: wanId })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
    expect(emulator.tasks.get(wanId)?.service).toBe('wan');
  });

  it('shares faults, stats, finishTask and per-service limits with Sora', async () => {
    await start({ generationTimeMs: 60_000, maxConcurrentGenerations: 1 });
    await submit();
    const first = await submitTo('hailuo', SERVICE_CASES.hailuo.submit);
    expect(await call('/hailuo/videos', SERVICE_CASES.hailuo.submit)).toMatchObject({
      status: 429,
      json: { error: { code: 'rate_limited' } },
    });
    emulator.finishTask(first, { outcome: 'failed', errorCode: 'api_error', errorMessage: 'fetch failed' });
    expect(emulator.recordOf(first)?.response).toMatchObject({ success: false, error: { code: 'api_error', message: 'fetch failed' } });
    expect((await call('/hailuo/videos', SERVICE_CASES.hailuo.submit)).status).toBe(200);

    emulator.failNext('/seedance/tasks', apiErrorFault(500, 'api_error', 'Internal server error.'));
    expect((await call('/seedance/tasks', { id: first })).status).toBe(500);
    expect((await call('/seedance/tasks', { id: first })).status).toBe(200);
    expect(emulator.requestsTo('/hailuo/videos').map((entry) => entry.status)).toEqual([200, 429, 200]);
    expect(emulator.stats()).toMatchObject({ submitted: 3, running: 2, failed: 1, maxRunning: 2 });
  });
});

describe('retired services and models', () => {
  it.each<[UnavailableMode, number, string | undefined, boolean]>([
    ['api_not_implemented', 400, 'api_not_implemented', true],
    ['no_api', 404, 'no_api', true],
    ['disabled', 400, 'disabled', false],
    ['invalid_model', 400, 'bad_request', false],
    ['http_404', 404, undefined, true],
  ])('plays %s, set at start and lifted at runtime', async (mode, status, code, tasksToo) => {
    await start({ generationTimeMs: 60_000, unavailable: { sora: mode } });
    const refused = await call('/sora/videos', SUBMIT);
    expect(refused.status).toBe(status);
    if (code === undefined) {
      expect(typeof refused.json).toBe('string');
      expect(refused.headers['content-type']).toBe('text/html');
    } else {
      expect(refused.json).toMatchObject({ error: { code }, trace_id: expect.any(String) as unknown });
    }
    if (mode === 'invalid_model') expect(refused.json).toMatchObject({ error: { message: 'model is invalid.' } });
    const polled = await call('/sora/tasks', { id: 'a' });
    expect(polled.status).toBe(tasksToo ? status : 200);
    // Other services are unaffected.
    expect((await call('/veo/videos', SERVICE_CASES.veo.submit)).status).toBe(200);
    expect(emulator.tasks.size).toBe(1);

    emulator.setUnavailable('sora', undefined);
    expect((await call('/sora/videos', SUBMIT)).status).toBe(200);
    emulator.setUnavailable('sora', mode);
    expect((await call('/sora/videos', SUBMIT)).status).toBe(status);
  });

  it('plays a retired model of a service, on the submit path only', async () => {
    emulator.setUnavailable('veo:veo3', 'invalid_model');
    expect(await call('/veo/videos', SERVICE_CASES.veo.submit)).toMatchObject({
      status: 400,
      json: { error: { code: 'bad_request', message: 'model is invalid.' } },
    });
    const id = await submitTo('veo', { ...SERVICE_CASES.veo.submit, model: 'veo31' });
    emulator.setUnavailable('veo:veo3', 'no_api');
    expect(await call('/veo/videos', SERVICE_CASES.veo.submit)).toMatchObject({ status: 404, json: { error: { code: 'no_api' } } });
    expect((await retrieve('veo', id)).id).toBe(id);
    // A model key matches the documented default when the submit leaves `model` out.
    emulator.setUnavailable('kling:kling-v1', 'api_not_implemented');
    expect(await call('/kling/videos', without(SERVICE_CASES.kling.submit, 'model'))).toMatchObject({
      status: 400,
      json: { error: { code: 'api_not_implemented' } },
    });
    expect((await call('/kling/videos', SERVICE_CASES.kling.submit)).status).toBe(200);
    emulator.setUnavailable('seedance:doubao-seedance-2-0-fast-260128', 'disabled');
    expect(await call('/seedance/videos', SERVICE_CASES.seedance.submit)).toMatchObject({
      status: 400,
      json: { error: { code: 'disabled' } },
    });
    expect(() => emulator.setUnavailable('pixverse', 'no_api')).toThrow(/unknown service/);
  });

  it('answers no_api and http_404 before authentication, the others after it', async () => {
    emulator.setUnavailable('wan', 'http_404');
    expect((await call('/wan/videos', SERVICE_CASES.wan.submit, { token: 'wrong' })).status).toBe(404);
    emulator.setUnavailable('wan', 'api_not_implemented');
    expect(await call('/wan/videos', SERVICE_CASES.wan.submit, { token: 'wrong' })).toMatchObject({
      status: 401,
      json: { error: { code: 'invalid_token' } },
    });
  });
});
