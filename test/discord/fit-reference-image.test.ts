import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitReferenceImage, fitTarget, type FitOutcome } from '../../src/discord/fit-reference-image.js';

const MAX_BYTES = 2 * 1024 * 1024;

/** A solid image of `width`×`height`, optionally with a band of another colour across its top. */
async function image(
  width: number,
  height: number,
  format: 'png' | 'jpeg' | 'webp' | 'gif',
  options: { topBand?: number; orientation?: number } = {},
): Promise<Buffer> {
  let pipeline = sharp({ create: { width, height, channels: 3, background: { r: 220, g: 30, b: 30 } } });
  if (options.topBand) {
    const band = await sharp({ create: { width, height: options.topBand, channels: 3, background: { r: 20, g: 40, b: 230 } } })
      .png()
      .toBuffer();
    pipeline = sharp(await pipeline.png().toBuffer()).composite([{ input: band, top: 0, left: 0 }]);
  }
  if (options.orientation) pipeline = pipeline.withMetadata({ orientation: options.orientation });
  return pipeline.toFormat(format).toBuffer();
}

/** A small PNG whose header claims `width`×`height` (a decompression bomb's shape). */
async function claimedSizePng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await image(8, 8, 'png'));
  // Signature (8 bytes), then the IHDR chunk: length (4), type (4), width (4), height (4), …, CRC.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

type Route = (req: IncomingMessage, res: ServerResponse) => void;

function bytes(data: Buffer, contentType: string, options: { contentLength?: boolean } = {}): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, ...(options.contentLength === false ? {} : { 'content-length': data.length }) });
    // In pieces, so a body without content-length arrives chunked.
    for (let offset = 0; offset < data.length; offset += 64 * 1024) res.write(data.subarray(offset, offset + 64 * 1024));
    res.end();
  };
}

describe('fitTarget', () => {
  it('reads Sora v2 pixel sizes', () => {
    expect(fitTarget('1280x720')).toEqual({ width: 1280, height: 720 });
    expect(fitTarget('720x1280')).toEqual({ width: 720, height: 1280 });
    expect(fitTarget('1024x1792')).toEqual({ width: 1024, height: 1792 });
    expect(fitTarget('1792x1024')).toEqual({ width: 1792, height: 1024 });
  });

  it('refuses anything that is not WIDTHxHEIGHT', () => {
    for (const size of [
      undefined,
      '',
      'small',
      'large',
      '1280×720',
      '1280X720',
      '0x720',
      '1280x',
      'x720',
      '1280x720 ',
      '-1280x720',
      '1e3x720',
      '123456x720',
    ]) {
      expect(fitTarget(size), String(size)).toBeUndefined();
    }
  });
});

describe('fitReferenceImage (real sharp, images over HTTP on 127.0.0.1)', () => {
  let server: Server;
  let base: string;
  const routes = new Map<string, Route>();
  const pending = new Set<ServerResponse>();

  beforeAll(async () => {
    routes.set('/square.png', bytes(await image(640, 640, 'png', { topBand: 100 }), 'image/png'));
    routes.set('/landscape.jpg', bytes(await image(1600, 900, 'jpeg'), 'image/jpeg'));
    routes.set('/small.webp', bytes(await image(300, 200, 'webp'), 'image/webp'));
    routes.set('/tiny.gif', bytes(await image(64, 48, 'gif'), 'image/gif'));
    routes.set('/exact.png', bytes(await image(1280, 720, 'png'), 'image/png'));
    // Stored as 720×1280 with EXIF orientation 6 (rotate 90°): displayed as 1280×720.
    routes.set('/rotated.jpg', bytes(await image(720, 1280, 'jpeg', { orientation: 6 }), 'image/jpeg'));
    // Noise: no encoder squeezes it under the limit.
    const large = await sharp(randomBytes(1200 * 1200 * 3), { raw: { width: 1200, height: 1200, channels: 3 } })
      .png()
      .toBuffer();
    expect(large.length).toBeGreaterThan(MAX_BYTES);
    routes.set('/large-declared.png', bytes(large, 'image/png'));
    routes.set('/large-chunked.png', bytes(large, 'image/png', { contentLength: false }));
    routes.set('/bomb.png', bytes(await claimedSizePng(20_000, 20_000), 'image/png'));
    routes.set('/not-an-image.png', bytes(Buffer.from('<html>this is not a picture</html>'), 'image/png'));
    routes.set('/truncated.png', bytes((await image(640, 640, 'png')).subarray(0, 200), 'image/png'));
    routes.set(
      '/drawing.svg',
      bytes(
        Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>'),
        'image/png',
      ),
    );
    routes.set('/silent.png', (_req, res) => {
      pending.add(res); // never answers
    });
    routes.set('/stalls.png', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 100_000 });
      res.write(Buffer.alloc(100));
      pending.add(res); // the rest never comes
    });
    server = createServer((req, res) => {
      const route = routes.get(req.url ?? '');
      if (route) return route(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('This content is no longer available.');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of pending) res.destroy();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const fit = (path: string, size: string, timeoutMs = 5_000): Promise<FitOutcome> =>
    fitReferenceImage(`${base}${path}`, fitTarget(size)!, { maxBytes: MAX_BYTES, timeoutMs });

  async function fitted(path: string, size: string) {
    const outcome = await fit(path, size);
    if (!outcome.ok || outcome.image.kind !== 'fitted') throw new Error(`not fitted: ${JSON.stringify(outcome)}`);
    return { image: outcome.image, metadata: await sharp(outcome.image.data).metadata() };
  }

  it('covers a square PNG to 1280×720, keeps PNG and crops the centre', async () => {
    const { image: result, metadata } = await fitted('/square.png', '1280x720');
    expect(metadata).toMatchObject({ format: 'png', width: 1280, height: 720 });
    expect(result).toMatchObject({ contentType: 'image/png', extension: 'png', width: 1280, height: 720 });
    // 640 → 1280 doubles the 100 px blue band to 200 px; the centre crop drops the top 280 rows.
    const { data } = await sharp(result.data).extract({ left: 0, top: 0, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
    expect([...data.subarray(0, 3)]).toEqual([220, 30, 30]);
  });

  it('turns JPEG, WebP and GIF into JPEG of exactly the size, up or down', async () => {
    for (const [path, size, width, height] of [
      ['/landscape.jpg', '720x1280', 720, 1280],
      ['/small.webp', '1792x1024', 1792, 1024],
      ['/tiny.gif', '1024x1792', 1024, 1792],
    ] as const) {
      const { image: result, metadata } = await fitted(path, size);
      expect(metadata, path).toMatchObject({ format: 'jpeg', width, height });
      expect(result.contentType).toBe('image/jpeg');
      expect(result.extension).toBe('jpg');
    }
  });

  it('uses an image of exactly the size as it is', async () => {
    expect(await fit('/exact.png', '1280x720')).toEqual({ ok: true, image: { kind: 'as_is', width: 1280, height: 720 } });
  });

  it('applies the EXIF rotation, so a rotated photo of the right displayed size is re-encoded upright', async () => {
    const { metadata } = await fitted('/rotated.jpg', '1280x720');
    expect(metadata).toMatchObject({ format: 'jpeg', width: 1280, height: 720 });
    expect(metadata.orientation ?? 1).toBe(1);
  });

  it('refuses an image over the byte limit, declared or not', async () => {
    expect(await fit('/large-declared.png', '1280x720')).toEqual({ ok: false, reason: 'too_large', maxBytes: MAX_BYTES });
    expect(await fit('/large-chunked.png', '1280x720')).toEqual({ ok: false, reason: 'too_large', maxBytes: MAX_BYTES });
  });

  it('refuses an image whose canvas has too many pixels, without decoding it', async () => {
    expect(await fit('/bomb.png', '1280x720')).toEqual({ ok: false, reason: 'too_many_pixels', maxPixels: 8192 * 8192 });
  });

  it('refuses bytes that are not a PNG, JPEG, WebP or GIF', async () => {
    for (const path of ['/not-an-image.png', '/truncated.png', '/drawing.svg']) {
      expect(await fit(path, '1280x720'), path).toMatchObject({ ok: false, reason: 'not_an_image' });
    }
  });

  it('reports a 404 as a failed download', async () => {
    expect(await fit('/gone.png', '1280x720')).toEqual({ ok: false, reason: 'download_failed', detail: 'HTTP 404' });
  });

  it('gives up after the timeout, before the headers or in the middle of the body', async () => {
    for (const path of ['/silent.png', '/stalls.png']) {
      const started = Date.now();
      expect(await fit(path, '1280x720', 300), path).toEqual({ ok: false, reason: 'download_failed', detail: 'timed out' });
      expect(Date.now() - started).toBeLessThan(3_000);
    }
  });

  it('reports a refused connection as a failed download', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await fitReferenceImage(
      `http://127.0.0.1:${port}/x.png`,
      { width: 1280, height: 720 },
      { maxBytes: MAX_BYTES, timeoutMs: 2_000 },
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'download_failed' });
  });
});
