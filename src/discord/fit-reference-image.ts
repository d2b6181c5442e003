import { request, type Dispatcher } from 'undici';
import { loadSharp } from './load-sharp.js';

// Sora's v2 ("partner") mode uses one reference image whose pixel size must equal the requested
// `size` (docs/acedata-contract.md §2.2), while members attach images of any size. The image is scaled and
// centre-cropped here with sharp: libvips decodes PNG, JPEG, WebP and GIF, shrinks on load and works
// in streaming tiles, so a 25 MB photo is fitted in a fraction of a second without holding every
// decoded pixel, and the package ships its prebuilt binary inside npm (no compiler, no download).

/** How long fetching a reference image may take, headers and body together. */
export const REFERENCE_IMAGE_TIMEOUT_MS = 15_000;
// Decoding bombs: a small file can declare a huge canvas. 8192×8192 is more than any phone photo.
const MAX_INPUT_PIXELS = 8192 * 8192;
// What members may attach (preflight checks the declared type; this checks the bytes).
const DECODABLE_FORMATS: ReadonlySet<string> = new Set(['png', 'jpeg', 'webp', 'gif']);

/** Width and height in pixels. */
export interface PixelSize {
  width: number;
  height: number;
}

/** A pixel size `WIDTHxHEIGHT` (Sora v2's `1280x720`); undefined for anything else (`small`, `large`). */
export function fitTarget(size: string | undefined): PixelSize | undefined {
  const match = /^([1-9]\d{0,4})x([1-9]\d{0,4})$/.exec(size ?? '');
  if (!match) return undefined;
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** Why an image could not be fitted. */
export type FitFailure =
  /** Larger than the byte limit (declared or as it arrived). */
  | { reason: 'too_large'; maxBytes: number }
  /** More pixels than `MAX_INPUT_PIXELS`. */
  | { reason: 'too_many_pixels'; maxPixels: number }
  /** A status other than 2xx, a network error or the timeout. */
  | { reason: 'download_failed'; detail: string }
  /** Not a PNG, JPEG, WebP or GIF that decodes. */
  | { reason: 'not_an_image'; detail: string };

/** A fitted image ready to upload, or the original when it already had the size. */
export type FittedImage =
  | { kind: 'as_is'; width: number; height: number }
  | { kind: 'fitted'; data: Buffer; contentType: 'image/png' | 'image/jpeg'; extension: 'png' | 'jpg'; width: number; height: number };

/** The outcome of `fitReferenceImage`. */
export type FitOutcome = { ok: true; image: FittedImage } | ({ ok: false } & FitFailure);

/** How a reference image is fetched. */
export interface FitOptions {
  maxBytes: number;
  timeoutMs?: number;
  /** undici dispatcher for the download (tests, proxies). */
  dispatcher?: Dispatcher;
}

/**
 * Downloads the image at `url` (at most `maxBytes`, within the timeout) and fits it to exactly
 * `target`: scaled to cover it and centre-cropped. PNG stays PNG (transparency kept); every other
 * format becomes JPEG. An image that already has the size (and no EXIF rotation) is used as is.
 */
export async function fitReferenceImage(url: string, target: PixelSize, options: FitOptions): Promise<FitOutcome> {
  const downloaded = await downloadImage(url, options);
  if (!downloaded.ok) return downloaded;
  return fitImageBytes(downloaded.data, target);
}

/** Fits image bytes to exactly `target` (see `fitReferenceImage`). */
export async function fitImageBytes(data: Buffer, target: PixelSize): Promise<FitOutcome> {
  const sharp = await loadSharp();
  const input = () => sharp(data, { limitInputPixels: MAX_INPUT_PIXELS, pages: 1 });
  let format: string;
  let width: number;
  let height: number;
  let rotated: boolean;
  try {
    const metadata = await input().metadata();
    format = metadata.format;
    ({ width, height } = metadata.autoOrient);
    rotated = (metadata.orientation ?? 1) !== 1;
  } catch (error) {
    return decodeFailure(error);
  }
  if (!DECODABLE_FORMATS.has(format)) return { ok: false, reason: 'not_an_image', detail: `format ${format}` };
  if (width * height > MAX_INPUT_PIXELS) return { ok: false, reason: 'too_many_pixels', maxPixels: MAX_INPUT_PIXELS };
  if (width === target.width && height === target.height && !rotated) return { ok: true, image: { kind: 'as_is', width, height } };

  const png = format === 'png';
  try {
    const pipeline = input().autoOrient().resize(target.width, target.height, { fit: 'cover', position: 'centre' });
    const output = png
      ? await pipeline.png().toBuffer({ resolveWithObject: true })
      : await pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: 90 }).toBuffer({ resolveWithObject: true });
    return {
      ok: true,
      image: {
        kind: 'fitted',
        data: output.data,
        contentType: png ? 'image/png' : 'image/jpeg',
        extension: png ? 'png' : 'jpg',
        width: output.info.width,
        height: output.info.height,
      },
    };
  } catch (error) {
    return decodeFailure(error);
  }
}

function decodeFailure(error: unknown): FitOutcome {
  const detail = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(detail)) return { ok: false, reason: 'too_many_pixels', maxPixels: MAX_INPUT_PIXELS };
  return { ok: false, reason: 'not_an_image', detail };
}

type Download = { ok: true; data: Buffer } | ({ ok: false } & FitFailure);

/** GETs `url` into memory, never holding more than `maxBytes`. */
async function downloadImage(url: string, options: FitOptions): Promise<Download> {
  const { maxBytes } = options;
  const signal = AbortSignal.timeout(options.timeoutMs ?? REFERENCE_IMAGE_TIMEOUT_MS);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, { method: 'GET', signal, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) });
  } catch (error) {
    return { ok: false, reason: 'download_failed', detail: describe(error, signal) };
  }
  const { statusCode, headers, body } = response;
  try {
    if (statusCode < 200 || statusCode >= 300) return { ok: false, reason: 'download_failed', detail: `HTTP ${statusCode}` };
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) return { ok: false, reason: 'too_large', maxBytes };
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) return { ok: false, reason: 'too_large', maxBytes };
      chunks.push(chunk);
    }
    return { ok: true, data: Buffer.concat(chunks, total) };
  } catch (error) {
    return { ok: false, reason: 'download_failed', detail: describe(error, signal) };
  } finally {
    // Drops the rest of an unread or refused body; after the timeout undici reports the abort as
    // an 'error' event that nobody else would listen to.
    body.on('error', () => {});
    body.destroy();
  }
}

function describe(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timed out';
  return error instanceof Error ? error.message : String(error);
}
