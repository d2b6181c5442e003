import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it, expect } from 'vitest';
// Loaded before discord.js on purpose: undici 7 then owns the global dispatcher, the order under
// which discord.js's own FormData uploads break (see multipartBody).
import { Agent } from 'undici';
import type { APIMessage, RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import { createDiscordPublisher, OTHER_ERROR_RETRY_MS, type DiscordPublisherOptions } from '../../src/discord/publisher.js';
import { uploadAwareMakeRequest } from '../../src/discord/video-upload.js';
import { makeTask, startRestStub } from './rest-stub.js';
import type { RestStub } from './rest-stub.js';
import type { Task } from '../../src/core/task.js';

interface VideoServer {
  url: string;
  /** Bytes handed to the socket so far. */
  bytesServed(): number;
  /** Whether the last response was sent to the end. */
  completed(): boolean;
  requests(): number;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

/**
 * Serves `size` bytes of a fake video, honouring backpressure so an early abort stops it. `script`
 * answers the first requests in turn: a status, or `'hang'` (no answer at all).
 */
async function startVideoServer(options: {
  size: number;
  contentLength: boolean;
  status?: number;
  script?: ReadonlyArray<number | 'hang'>;
}): Promise<VideoServer> {
  let served = 0;
  let done = false;
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    const scripted = options.script?.[requests - 1];
    if (scripted === 'hang') return;
    if (scripted !== undefined && scripted !== 200) {
      res.writeHead(scripted).end('busy');
      return;
    }
    if (options.status && options.status !== 200) {
      res.writeHead(options.status).end('gone');
      return;
    }
    res.writeHead(200, {
      'content-type': 'video/mp4',
      ...(options.contentLength ? { 'content-length': String(options.size) } : {}),
    });
    let closed = false;
    res.on('close', () => (closed = true));
    const write = (): void => {
      while (!closed && served < options.size) {
        const length = Math.min(CHUNK, options.size - served);
        served += length;
        if (!res.write(Buffer.alloc(length, served % 251))) {
          res.once('drain', write);
          return;
        }
      }
      if (!closed) {
        done = true;
        res.end();
      }
    };
    write();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/video.mp4`,
    bytesServed: () => served,
    completed: () => done,
    requests: () => requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const MiB = 1024 * 1024;

describe('createDiscordPublisher', () => {
  let stub: RestStub;
  let video: VideoServer | undefined;
  let dispatcher: Agent;

  beforeEach(async () => {
    stub = await startRestStub();
    dispatcher = new Agent();
  });

  afterEach(async () => {
    sleeps.length = 0;
    await video?.close();
    video = undefined;
    await dispatcher.close();
    await stub.close();
  });

  const sleeps: number[] = [];
  function publisher(restOptions: Parameters<RestStub['rest']>[0] = {}, extra: Partial<DiscordPublisherOptions> = {}) {
    return createDiscordPublisher({
      // As the bot's client sends: uploads streamed from their parts.
      rest: stub.rest({ makeRequest: uploadAwareMakeRequest, ...restOptions }),
      botUserId: stub.botUserId,
      dispatcher,
      fetchTimeoutMs: 10_000,
      // The waits between download tries are recorded, not slept.
      retryEnvironment: {
        sleep: (ms) => {
          sleeps.push(ms);
          return Promise.resolve();
        },
      },
      ...extra,
    });
  }

  function succeededTask(overrides: Partial<Task> = {}): Task {
    return makeTask({ outcome: { kind: 'succeeded', videoUrl: video!.url }, ...overrides });
  }

  const posts = () => stub.requests.filter((r) => r.method === 'POST');

  it('uploads the video when it is under the limit', async () => {
    video = await startVideoServer({ size: 300 * 1024, contentLength: true });
    const task = succeededTask({ uploadLimitBytes: MiB });

    const result = await publisher().publish(task, { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'upload' });
    expect(posts()).toHaveLength(1);
    const [request] = posts();
    expect(request!.path).toBe(`/channels/${task.channelId}/messages`);
    expect(request!.files).toEqual([{ field: 'files[0]', name: `sora-${task.id}.mp4`, size: 300 * 1024, contentType: 'video/mp4' }]);
    const body = request!.json as RESTPostAPIChannelMessageJSONBody;
    expect(body.nonce).toBe(task.id);
    expect(body.enforce_nonce).toBe(true);
    expect(body.allowed_mentions).toEqual({ parse: [], users: [task.userId] });
    expect(request!.headers.authorization).toBe('Bot x');
    expect(result.kind === 'posted' && result.messageId).toBe(stub.messages.get(task.channelId)![0]!.id);
    expect(stub.requests.some((r) => r.method === 'GET')).toBe(false);
  });

  it('streams the upload: the bytes Discord receives are the exact multipart body, the video intact', async () => {
    video = await startVideoServer({ size: 700 * 1024 + 3, contentLength: false });
    const task = succeededTask({ uploadLimitBytes: MiB });

    await publisher().publish(task, { lookForExisting: false });

    const [request] = posts();
    expect(request!.headers['content-length']).toBe(String(request!.raw.length));
    const boundary = /boundary=(.+)$/.exec(String(request!.headers['content-type']))![1]!;
    const raw = request!.raw;
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="payload_json"\r\nContent-Type: application/json\r\n\r\n` +
      `${JSON.stringify(request!.json)}\r\n--${boundary}\r\nContent-Disposition: form-data; name="files[0]"; filename="sora-${task.id}.mp4"\r\n` +
      'Content-Type: video/mp4\r\n\r\n';
    const headBytes = Buffer.from(head, 'utf8');
    const tailBytes = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
    expect(raw.subarray(0, headBytes.length).toString('utf8')).toBe(head);
    expect(raw.subarray(raw.length - tailBytes.length).equals(tailBytes)).toBe(true);
    const file = raw.subarray(headBytes.length, raw.length - tailBytes.length);
    // The server's bytes: 64 KiB chunks, each filled with (bytes served so far) % 251.
    const expected = Buffer.concat(
      Array.from({ length: Math.ceil((700 * 1024 + 3) / CHUNK) }, (_, i) => {
        const length = Math.min(CHUNK, 700 * 1024 + 3 - i * CHUNK);
        return Buffer.alloc(length, (i * CHUNK + length) % 251);
      }),
    );
    expect(file.equals(expected)).toBe(true);
  });

  it('sends the whole body again when Discord answers a 500 and discord.js retries the upload', async () => {
    video = await startVideoServer({ size: 300 * 1024, contentLength: true });
    stub.once('POST', /\/messages$/, { status: 500, body: { message: 'oops' } });

    const result = await publisher().publish(succeededTask({ uploadLimitBytes: MiB }), { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'upload' });
    expect(posts()).toHaveLength(2);
    expect(posts()[1]!.raw.equals(posts()[0]!.raw)).toBe(true);
    expect(posts()[1]!.files).toEqual([expect.objectContaining({ size: 300 * 1024 })]);
    expect(video.requests()).toBe(1);
  });

  it('posts the link without downloading everything when content-length is over the limit', async () => {
    video = await startVideoServer({ size: 8 * MiB, contentLength: true });
    const task = succeededTask({ uploadLimitBytes: MiB });

    const result = await publisher().publish(task, { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'link' });
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.files).toEqual([]);
    expect((posts()[0]!.json as RESTPostAPIChannelMessageJSONBody).content).toContain(video.url);
    expect(video.completed()).toBe(false);
    expect(video.bytesServed()).toBeLessThan(8 * MiB);
  });

  it('aborts a stream without content-length as soon as it passes the limit', async () => {
    video = await startVideoServer({ size: 64 * MiB, contentLength: false });
    const task = succeededTask({ uploadLimitBytes: MiB });

    const result = await publisher().publish(task, { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'link' });
    expect(posts()[0]!.files).toEqual([]);
    expect(JSON.stringify(posts()[0]!.json)).toContain('Too large to upload');
    expect(video.completed()).toBe(false);
    expect(video.bytesServed()).toBeLessThan(32 * MiB);
  });

  it('falls back to the link when Discord answers 40005', async () => {
    video = await startVideoServer({ size: 200 * 1024, contentLength: true });
    stub.once('POST', /\/messages$/, { status: 413, body: { code: 40005, message: 'Request entity too large' } });
    const task = succeededTask();

    const result = await publisher().publish(task, { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'link' });
    expect(posts()).toHaveLength(2);
    expect(posts()[0]!.files).toHaveLength(1);
    expect(posts()[1]!.files).toEqual([]);
    expect((posts()[1]!.json as RESTPostAPIChannelMessageJSONBody).nonce).toBe(task.id);
  });

  it('falls back to the link on a bare HTTP 413 (no JSON body)', async () => {
    video = await startVideoServer({ size: 200 * 1024, contentLength: true });
    stub.once('POST', /\/messages$/, { status: 413, body: '<html>413 Request Entity Too Large</html>' });

    const result = await publisher().publish(succeededTask(), { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'link' });
    expect(posts()).toHaveLength(2);
  });

  it('posts the link at once when the download answers 404 or 403', async () => {
    for (const status of [404, 403]) {
      await video?.close();
      video = await startVideoServer({ size: 1, contentLength: true, status });
      stub.requests.length = 0;

      const result = await publisher().publish(succeededTask(), { lookForExisting: false });

      expect(result).toMatchObject({ kind: 'posted', mode: 'link' });
      expect(posts()).toHaveLength(1);
      expect(JSON.stringify(posts()[0]!.json)).toContain('could not fetch the file');
      expect(video.requests()).toBe(1);
    }
    expect(sleeps).toEqual([]);
  });

  it('retries a download that answers 503 (and 502) and uploads the video once', async () => {
    video = await startVideoServer({ size: 200 * 1024, contentLength: true, script: [503, 502] });

    const result = await publisher().publish(succeededTask({ uploadLimitBytes: MiB }), { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'upload' });
    expect(video.requests()).toBe(3);
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.files).toEqual([expect.objectContaining({ size: 200 * 1024 })]);
    // Equal jitter: the first wait is 0.5–1 s, the second 1–2 s.
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(500);
    expect(sleeps[0]).toBeLessThanOrEqual(1000);
    expect(sleeps[1]).toBeGreaterThanOrEqual(1000);
    expect(sleeps[1]).toBeLessThanOrEqual(2000);
  });

  it('posts the link once after the tries run out on a download that keeps failing', async () => {
    video = await startVideoServer({ size: 1024, contentLength: true, script: [500, 500, 500, 500, 500, 500] });

    const result = await publisher().publish(succeededTask(), { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'link' });
    expect(video.requests()).toBe(4);
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.files).toEqual([]);
  });

  it('gives up on a provider that never answers after the stall timeout, tries again, then posts the link', async () => {
    video = await startVideoServer({ size: 1024, contentLength: true, script: ['hang', 'hang', 'hang', 'hang'] });

    const result = await publisher({}, { stallTimeoutMs: 100 }).publish(succeededTask(), { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'posted', mode: 'link' });
    expect(video.requests()).toBe(4);
    expect(posts()).toHaveLength(1);
  });

  it('stops at once on shutdown between download tries and posts nothing', async () => {
    video = await startVideoServer({ size: 1024, contentLength: true, script: [503, 503] });
    const stopping = new AbortController();
    const p = publisher(
      {},
      {
        signal: stopping.signal,
        retryEnvironment: {
          sleep: () => {
            stopping.abort();
            return Promise.reject(new Error('aborted'));
          },
        },
      },
    );

    const result = await p.publish(succeededTask(), { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'retry' });
    expect(video.requests()).toBe(1);
    expect(posts()).toHaveLength(0);
  });

  it.each([
    [50013, 403, 'Missing Permissions'],
    [10003, 404, 'Unknown Channel'],
    [50001, 403, 'Missing Access'],
  ])('reports %i as undeliverable', async (code, status, message) => {
    stub.once('POST', /\/messages$/, { status, body: { code, message } });
    const task = makeTask({ outcome: { kind: 'failed', code: 'api_error', message: 'nope' } });

    const result = await publisher().publish(task, { lookForExisting: false });

    expect(result).toMatchObject({ kind: 'undeliverable', code });
  });

  it('posts notices for failed, timed-out and interrupted outcomes with their nonces', async () => {
    const p = publisher();
    const failed = await p.publish(makeTask({ outcome: { kind: 'failed', code: 'x', message: 'bad' } }), { lookForExisting: false });
    const timedOut = await p.publish(makeTask({ id: 'timedout01', outcome: { kind: 'timed_out' } }), { lookForExisting: false });
    const interrupted = await p.publish(makeTask({ id: 'interrupt1', outcome: { kind: 'interrupted' } }), { lookForExisting: false });

    for (const result of [failed, timedOut, interrupted]) expect(result).toMatchObject({ kind: 'posted', mode: 'notice' });
    expect(posts().map((r) => (r.json as RESTPostAPIChannelMessageJSONBody).nonce)).toEqual(['k3m9q2x7ab', 'timedout01-t', 'interrupt1']);
    expect(posts().every((r) => r.files.length === 0)).toBe(true);
  });

  it('finds its own earlier message and posts nothing', async () => {
    video = await startVideoServer({ size: 1024, contentLength: true });
    const task = succeededTask();
    const footer = (text: string) => [{ footer: { text } }];
    stub.messages.set(task.channelId, [
      // Another member quoting our footer must not count.
      { id: '600000000000000003', author: { id: '999999999999999999' }, embeds: footer(`Task ${task.id} · video`), attachments: [] },
      { id: '600000000000000002', author: { id: stub.botUserId }, embeds: footer(`Task ${task.id}x · video`), attachments: [] },
      {
        id: '600000000000000001',
        author: { id: stub.botUserId },
        embeds: footer(`Task ${task.id} · video · Ace Data Cloud task y`),
        attachments: [{ id: '1' }],
      },
    ] as unknown as APIMessage[]);

    const result = await publisher().publish(task, { lookForExisting: true });

    expect(result).toEqual({ kind: 'posted', messageId: '600000000000000001', mode: 'upload' });
    expect(posts()).toHaveLength(0);
    expect(video.requests()).toBe(0);
    const get = stub.requests.find((r) => r.method === 'GET')!;
    expect(get.query.get('limit')).toBe('50');
  });

  it('does not mistake the timeout notice for the late result', async () => {
    video = await startVideoServer({ size: 1024, contentLength: true });
    const task = succeededTask();
    stub.messages.set(task.channelId, [
      {
        id: '600000000000000004',
        author: { id: stub.botUserId },
        embeds: [{ footer: { text: `Task ${task.id} · still generating` } }],
        attachments: [],
      },
    ] as unknown as APIMessage[]);

    const result = await publisher().publish(task, { lookForExisting: true });

    expect(result).toMatchObject({ kind: 'posted', mode: 'upload' });
    expect(result.kind === 'posted' && result.messageId).not.toBe('600000000000000004');
    expect(posts()).toHaveLength(1);
  });

  it('still posts when the history cannot be read (no ReadMessageHistory)', async () => {
    stub.once('GET', /\/messages$/, { status: 403, body: { code: 50001, message: 'Missing Access' } });
    const result = await publisher().publish(makeTask({ outcome: { kind: 'interrupted' } }), { lookForExisting: true });
    expect(result).toMatchObject({ kind: 'posted', mode: 'notice' });
  });

  it('retries later, without posting, when the history lookup hits a server error', async () => {
    stub.once('GET', /\/messages$/, { status: 502, body: { message: 'bad gateway' } });
    const result = await publisher({ retries: 0 }).publish(makeTask({ outcome: { kind: 'interrupted' } }), { lookForExisting: true });
    expect(result).toMatchObject({ kind: 'retry' });
    expect(posts()).toHaveLength(0);
  });

  it('waits out a 429 through discord.js and posts once', async () => {
    stub.once('POST', /\/messages$/, {
      status: 429,
      headers: { 'retry-after': '0.05' },
      body: { message: 'You are being rate limited.', retry_after: 0.05, global: false },
    });
    const result = await publisher().publish(makeTask({ outcome: { kind: 'interrupted' } }), { lookForExisting: false });
    expect(result).toMatchObject({ kind: 'posted', mode: 'notice' });
    expect(posts()).toHaveLength(2);
    expect(stub.messages.get(makeTask().channelId)).toHaveLength(1);
  });

  it('returns retry with the wait when discord.js rejects on a rate limit', async () => {
    stub.once('POST', /\/messages$/, {
      status: 429,
      headers: { 'retry-after': '7' },
      body: { message: 'You are being rate limited.', retry_after: 7, global: false },
    });
    const result = await publisher({ rejectOnRateLimit: () => true }).publish(makeTask({ outcome: { kind: 'interrupted' } }), {
      lookForExisting: false,
    });
    expect(result.kind).toBe('retry');
    expect(result.kind === 'retry' && result.retryAfterMs).toBeGreaterThanOrEqual(7000);
    expect(stub.messages.get(makeTask().channelId)).toBeUndefined();
  });

  it('returns retry on a 5xx and on a network error', async () => {
    stub.once('POST', /\/messages$/, { status: 503, body: { message: 'unavailable' } });
    const task = makeTask({ outcome: { kind: 'interrupted' } });
    expect(await publisher({ retries: 0 }).publish(task, { lookForExisting: false })).toMatchObject({ kind: 'retry' });

    const deadPort = createDiscordPublisher({
      rest: stub.rest({ api: 'http://127.0.0.1:9/api', retries: 0 }),
      botUserId: stub.botUserId,
    });
    const result = await deadPort.publish(task, { lookForExisting: false });
    expect(result).toMatchObject({ kind: 'retry' });
    expect(result.kind === 'retry' && result.reason).toMatch(/network|ECONNREFUSED/);
  });

  it('returns retry when Discord does not answer in time', async () => {
    stub.once('POST', /\/messages$/, { status: 200, body: {}, delayMs: 500 });
    const result = await publisher({ timeout: 50, retries: 0 }).publish(makeTask({ outcome: { kind: 'interrupted' } }), {
      lookForExisting: false,
    });
    expect(result).toMatchObject({ kind: 'retry', reason: 'request to Discord timed out' });
  });

  it('retries an unknown Discord error with a long backoff instead of giving up', async () => {
    stub.once('POST', /\/messages$/, { status: 400, body: { code: 50035, message: 'Invalid Form Body' } });
    const result = await publisher().publish(makeTask({ outcome: { kind: 'interrupted' } }), { lookForExisting: false });
    expect(result).toEqual({ kind: 'retry', retryAfterMs: OTHER_ERROR_RETRY_MS, reason: 'Discord error 50035 (HTTP 400)' });
  });

  it('reports a task without an outcome as undeliverable instead of posting', async () => {
    const result = await publisher().publish(makeTask({ outcome: undefined }), { lookForExisting: false });
    expect(result).toMatchObject({ kind: 'undeliverable', code: 'no_outcome' });
    expect(stub.requests).toHaveLength(0);
  });
});
