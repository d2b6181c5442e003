import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agent, Response } from 'undici';
import { downloadVideo, downloadVideoUpload, multipartBody, MultipartBody } from '../../src/discord/video-upload.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PAYLOAD = { content: 'done <@1>', nonce: 'task-1', attachments: [{ id: 0, filename: 'sora-task-1.mp4' }] };

/** Bytes that differ at every offset (a shifted or dropped chunk shows). */
function videoBytes(size: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
  return data;
}

interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serves `body` in 16 KiB writes, with or without content-length, optionally gzip-encoded. */
async function serve(body: Buffer, options: { contentLength: boolean; gzip?: boolean }): Promise<Served> {
  const wire = options.gzip ? gzipSync(body) : body;
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'video/mp4',
      ...(options.gzip ? { 'content-encoding': 'gzip' } : {}),
      ...(options.contentLength ? { 'content-length': String(wire.length) } : {}),
    });
    for (let offset = 0; offset < wire.length; offset += 16 * KiB) res.write(wire.subarray(offset, offset + 16 * KiB));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/video.mp4`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Parses a multipart body the way a server would. */
async function parse(multipart: MultipartBody | Buffer, contentType: string): Promise<{ payload: unknown; file: File }> {
  const body = multipart instanceof MultipartBody ? multipart.toBuffer() : multipart;
  const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  const file = form.get('files[0]');
  const json = form.get('payload_json');
  if (!(file instanceof File) || typeof json !== 'string') throw new Error('malformed multipart body');
  return { payload: JSON.parse(json), file };
}

describe('downloadVideoUpload', () => {
  let served: Served | undefined;
  const dispatcher = new Agent();

  afterEach(async () => {
    await served?.close();
    served = undefined;
  });
  afterAll(async () => {
    await dispatcher.close();
  });

  for (const [name, options] of [
    ['preallocated (content-length known)', { contentLength: true }],
    ['chunked (no content-length)', { contentLength: false }],
    ['chunked (gzip: content-length is the encoded size)', { contentLength: true, gzip: true }],
  ] as const) {
    it(`writes a well-formed multipart body with the file bytes intact: ${name}`, async () => {
      const video = videoBytes(300 * KiB + 7);
      served = await serve(video, options);

      const result = await downloadVideoUpload(served.url, 1024 * KiB, PAYLOAD, 'sora-task-1.mp4', { fetchTimeoutMs: 10_000, dispatcher });

      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.videoBytes).toBe(video.length);
      // Exactly the body the copying path builds (same parts, same sizes).
      expect(result.upload.body.byteLength).toBe(multipartBody(PAYLOAD, 'sora-task-1.mp4', video).body.byteLength);
      expect(result.upload.contentType).toMatch(/^multipart\/form-data; boundary=sora-bot-/);
      const { payload, file } = await parse(result.upload.body, result.upload.contentType);
      expect(payload).toEqual(PAYLOAD);
      expect(file.name).toBe('sora-task-1.mp4');
      expect(file.type).toBe('video/mp4');
      expect(Buffer.from(await file.arrayBuffer()).equals(video)).toBe(true);
    });
  }

  it('refuses a video over the limit, declared or streamed', async () => {
    for (const contentLength of [true, false]) {
      served = await serve(videoBytes(200 * KiB), { contentLength });
      const result = await downloadVideoUpload(served.url, 100 * KiB, PAYLOAD, 'a.mp4', { fetchTimeoutMs: 10_000, dispatcher });
      expect(result).toEqual({ ok: false, reason: 'too_large' });
      await served.close();
      served = undefined;
    }
  });

  it('downloadVideo still returns the bare bytes', async () => {
    const video = videoBytes(100 * KiB + 3);
    served = await serve(video, { contentLength: true });
    const result = await downloadVideo(served.url, 1024 * KiB, { fetchTimeoutMs: 10_000, dispatcher });
    expect(result.ok && result.data.equals(video)).toBe(true);
  });

  describe('failures say whether another try may help', () => {
    let server: Server | undefined;
    afterEach(async () => {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    });

    /** A server whose every answer is `answer(res)`. */
    async function answering(answer: (res: ServerResponse) => void): Promise<string> {
      server = createServer((_req, res) => answer(res));
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/video.mp4`;
    }
    const options = { fetchTimeoutMs: 10_000, stallTimeoutMs: 150, dispatcher };

    it.each([
      [503, true],
      [502, true],
      [429, true],
      [404, false],
      [403, false],
      [410, false],
    ])('HTTP %i: retryable %s', async (status, retryable) => {
      const url = await answering((res) => res.writeHead(status, { 'retry-after': '7' }).end('no'));
      const result = await downloadVideoUpload(url, MiB, PAYLOAD, 'a.mp4', options);
      expect(result).toEqual({ ok: false, reason: 'download_failed', retryable, status, retryAfterMs: 7000 });
    });

    it('a body that stops mid-way is given up on after the stall timeout, retryably', async () => {
      const url = await answering((res) => {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(200 * KiB) });
        res.write(Buffer.alloc(64 * KiB));
      });
      const result = await downloadVideoUpload(url, MiB, PAYLOAD, 'a.mp4', options);
      expect(result).toEqual({ ok: false, reason: 'download_failed', retryable: true });
    });

    it("follows the CDN's redirects to the video, as fetch did", async () => {
      const video = videoBytes(50 * KiB);
      const url = await answering((res) => {
        if (res.req.url === '/video.mp4') res.writeHead(302, { location: '/signed/video.mp4?sig=1' }).end();
        else res.writeHead(200, { 'content-length': String(video.length) }).end(video);
      });
      const result = await downloadVideo(url, MiB, options);
      expect(result.ok && result.data.equals(video)).toBe(true);
    });

    it('an address that is not http(s) is not retried', async () => {
      for (const url of ['ftp://example.com/a.mp4', 'not a url']) {
        expect(await downloadVideoUpload(url, MiB, PAYLOAD, 'a.mp4', options)).toEqual({
          ok: false,
          reason: 'download_failed',
          retryable: false,
        });
      }
    });
  });
});

describe('multipartBody', () => {
  it('is exactly the boundary, the payload_json part, the file part and the closing boundary, without copying the file', () => {
    const data = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]);
    const payload = { content: 'ready <@1> · 見て', nonce: 'n' };
    const upload = multipartBody(payload, 'we"ird\r\nname.mp4', data);

    const boundary = /^multipart\/form-data; boundary=(sora-bot-[0-9a-f-]{36})$/.exec(upload.contentType)![1]!;
    const expected = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="payload_json"\r\nContent-Type: application/json\r\n\r\n` +
          `{"content":"ready <@1> · 見て","nonce":"n"}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="files[0]"; filename="we_ird__name.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
        'utf8',
      ),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'),
    ]);
    expect(upload.body.toBuffer().equals(expected)).toBe(true);
    expect(upload.body.byteLength).toBe(expected.length);
    // The file is one of the parts as given, not a copy.
    expect(upload.body.parts[1]).toBe(data);
  });

  it('can be sent twice: each iteration yields every part again', async () => {
    const upload = multipartBody({}, 'a.mp4', Buffer.alloc(10, 7));
    const read = async () => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of upload.body) chunks.push(chunk);
      return Buffer.concat(chunks);
    };
    const first = await read();
    expect((await read()).equals(first)).toBe(true);
    expect(first.equals(upload.body.toBuffer())).toBe(true);
  });
});
