import { randomUUID } from 'node:crypto';
import type { Transform } from 'node:stream';
import { Readable, pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { STATUS_CODES } from 'node:http';
import { DefaultRestOptions, Routes } from 'discord.js';
import type { APIMessage, REST, ResponseLike } from 'discord.js';
import type { Logger } from 'pino';
import { Agent, Headers, interceptors } from 'undici';
import type { Dispatcher } from 'undici';
import { describeDiscordError } from './discord-errors.js';

/**
 * Why a video could not be downloaded. `retryable` marks what may pass (a 5xx, 408, 429, a timeout,
 * a dropped connection); a 404, 403 or 410, or an address that is not http(s), will not. `status` is
 * the provider's HTTP status when there was one, `retryAfterMs` its Retry-After.
 */
export type DownloadFailure =
  { ok: false; reason: 'too_large' } | { ok: false; reason: 'download_failed'; retryable: boolean; status?: number; retryAfterMs?: number };

/** A video held in memory for an upload, or why it is not. */
export type VideoDownload = { ok: true; data: Buffer } | DownloadFailure;

/**
 * A video downloaded straight into the `multipart/form-data` body of its message (ready for
 * `postMultipartMessage`), or why it is not.
 */
export type VideoUpload = { ok: true; upload: MultipartUpload; videoBytes: number } | DownloadFailure;

/** A complete `multipart/form-data` request body and its content type. */
export interface MultipartUpload {
  body: MultipartBody;
  contentType: string;
}

/**
 * A request body kept as the pieces it was made of (the multipart head, the video as its download
 * chunks arrived, the tail) and sent piece by piece: never joined, so the video is held once, and
 * sendable again for a retried post. `uploadAwareMakeRequest` streams it to Discord; any other
 * sender sees an async iterable (which @discordjs/rest would join into one copy: correct, not lean).
 */
export class MultipartBody implements AsyncIterable<Uint8Array> {
  readonly byteLength: number;

  constructor(readonly parts: readonly Uint8Array[]) {
    this.byteLength = parts.reduce((sum, part) => sum + part.byteLength, 0);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    // Yields (not `yield*` over an array iterator) so each send walks the parts afresh.
    for (const part of this.parts) yield await Promise.resolve(part);
  }

  /** One joined copy (tests; small bodies). */
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.byteLength);
  }
}

/** How videos are fetched from the provider. */
export interface VideoDownloadOptions {
  /** The whole download, headers to last byte. */
  fetchTimeoutMs: number;
  /** Longest wait for the headers or for the next bytes of the body; default `fetchTimeoutMs`. */
  stallTimeoutMs?: number;
  /** Aborts the download (shutdown); the result is then a retryable failure. */
  signal?: AbortSignal;
  /** undici dispatcher for the download (tests, proxies). */
  dispatcher?: Dispatcher;
  log?: Logger;
}

/** Downloads into memory, never holding more than `limitBytes`; anything larger becomes a link. */
export async function downloadVideo(url: string, limitBytes: number, options: VideoDownloadOptions): Promise<VideoDownload> {
  const result = await downloadFramed(url, limitBytes, EMPTY_FRAME, options);
  return result.ok ? { ok: true, data: result.body.toBuffer() } : result;
}

/**
 * Downloads the video of a message with one file (`payload.attachments` must name it as id 0)
 * straight into the multipart body of its upload: the chunks the download arrives in become the
 * body's middle, between the multipart head and tail, so the video is held once and nothing is
 * copied (a preallocated buffer filled from the chunks held them twice until the next GC). Never
 * holds more than `limitBytes` of video; anything larger becomes a link.
 */
export async function downloadVideoUpload(
  url: string,
  limitBytes: number,
  payload: unknown,
  fileName: string,
  options: VideoDownloadOptions,
): Promise<VideoUpload> {
  const frame = multipartFrame(payload, fileName);
  const result = await downloadFramed(url, limitBytes, frame, options);
  if (!result.ok) return result;
  return { ok: true, upload: { body: result.body, contentType: frame.contentType }, videoBytes: result.videoBytes };
}

/** What goes before and after the file's bytes in a multipart body. */
interface Frame {
  head: Buffer;
  tail: Buffer;
}

const EMPTY_FRAME: Frame = Object.freeze({ head: Buffer.alloc(0), tail: Buffer.alloc(0) });

type FramedDownload = { ok: true; body: MultipartBody; videoBytes: number } | DownloadFailure;

/** Statuses worth asking again: the provider or its CDN may answer next time. */
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Retry-After in seconds or as an HTTP date, in ms from now; undefined when absent or malformed. */
function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function isWebUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}

/** A decimal `content-length`, or undefined when it is missing or malformed. */
function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined || !/^\s*\d+\s*$/.test(header)) return undefined;
  const value = Number(header);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A header's single value (undici gives repeated headers as arrays). */
function headerValue(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The decoder of a `content-encoding`, null for identity, undefined for one we cannot read. */
function decoderFor(encoding: string): Transform | null | undefined {
  switch (encoding) {
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

const MAX_REDIRECTIONS = 5;

let ownAgent: Agent | undefined;
/**
 * An undici 7 agent of our own for downloads and streamed uploads: the global dispatcher may be
 * Node's bundled undici (whichever registered it first), whose handlers our interceptors and
 * request bodies do not fit ("invalid onError method").
 */
function sharedAgent(): Agent {
  ownAgent ??= new Agent({ keepAliveTimeout: 10_000 });
  return ownAgent;
}

/**
 * Downloads `url` into `frame.head + video + frame.tail`, never holding more than `limitBytes` of
 * video. undici's `request` rather than `fetch`: fetch's web streams held the video about twice
 * over until the next GC (the bench's peak: 2.0–3.1× the video before, 1.0× with `request` and the
 * chunks kept), and a redirect interceptor gives back fetch's following of the CDN's redirects.
 */
async function downloadFramed(url: string, limitBytes: number, frame: Frame, options: VideoDownloadOptions): Promise<FramedDownload> {
  const { log, signal } = options;
  if (limitBytes <= 0) return { ok: false, reason: 'too_large' };
  // Nothing to fetch, and no retry can help: the link is all there is.
  if (!isWebUrl(url)) return { ok: false, reason: 'download_failed', retryable: false };
  if (signal?.aborted) return { ok: false, reason: 'download_failed', retryable: true };
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  signal?.addEventListener('abort', abort, { once: true });
  const timer = setTimeout(abort, options.fetchTimeoutMs);
  // A provider that stops sending (headers or body) is given up on well before the whole timeout.
  const stallMs = Math.min(options.stallTimeoutMs ?? options.fetchTimeoutMs, options.fetchTimeoutMs);
  const stallTimer = setTimeout(abort, stallMs);
  const progressed = (): void => {
    stallTimer.refresh();
  };
  let body: Readable | undefined;
  try {
    const dispatcher = (options.dispatcher ?? sharedAgent()).compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTIONS }));
    const response = await dispatcher.request({
      ...splitUrl(url),
      method: 'GET',
      // Compressing an MP4 gains nothing; identity keeps content-length the video's size.
      headers: { 'accept-encoding': 'identity' },
      signal: controller.signal,
    });
    body = response.body;
    progressed();
    if (response.statusCode < 200 || response.statusCode > 299) {
      log?.warn({ status: response.statusCode }, 'video download failed');
      const after = retryAfterMs(headerValue(response.headers, 'retry-after'));
      return {
        ok: false,
        reason: 'download_failed',
        retryable: RETRYABLE_STATUSES.has(response.statusCode),
        status: response.statusCode,
        ...(after !== undefined ? { retryAfterMs: after } : {}),
      };
    }
    const encoding = (headerValue(response.headers, 'content-encoding') ?? 'identity').trim().toLowerCase();
    const decoder = decoderFor(encoding);
    if (decoder === undefined) {
      log?.warn({ encoding }, 'video download in an encoding the bot cannot read');
      return { ok: false, reason: 'download_failed', retryable: false };
    }
    // The declared length only counts video bytes without an encoding.
    const declared = decoder === null ? declaredLength(headerValue(response.headers, 'content-length')) : undefined;
    if (declared !== undefined && declared > limitBytes) return { ok: false, reason: 'too_large' };
    // pipeline: an error on either side ends the loop below with it.
    const stream: AsyncIterable<Uint8Array> = decoder === null ? response.body : pipeline(response.body, decoder, () => {});
    const parts = await readParts(stream, limitBytes, progressed);
    if (!parts) return { ok: false, reason: 'too_large' };
    return {
      ok: true,
      body: new MultipartBody([frame.head, ...parts.chunks, frame.tail]),
      videoBytes: parts.total,
    };
  } catch (error) {
    // Timeouts, stalls, resets and a body cut short: all may pass on another try.
    log?.warn({ error: describeDiscordError(error), timedOut: controller.signal.aborted }, 'video download failed');
    return { ok: false, reason: 'download_failed', retryable: true };
  } finally {
    clearTimeout(timer);
    clearTimeout(stallTimer);
    signal?.removeEventListener('abort', abort);
    // Whatever was not read (an error answer, a video over the limit) is dropped with its connection.
    if (body && !body.readableEnded) {
      // Destroying an unfinished body makes it emit an abort error nobody else listens for.
      body.on('error', () => {});
      body.destroy();
    }
  }
}

/** `{origin, path}` of an absolute URL, as undici's dispatcher API takes it. */
function splitUrl(url: string): { origin: string; path: string } {
  const parsed = new URL(url);
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
}

/** The chunks of a body as they arrived (kept, not copied); undefined once past `limitBytes`. */
async function readParts(
  stream: AsyncIterable<Uint8Array>,
  limitBytes: number,
  progressed: () => void,
): Promise<{ chunks: Uint8Array[]; total: number } | undefined> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    progressed();
    total += chunk.byteLength;
    if (total > limitBytes) return undefined;
    chunks.push(chunk);
  }
  return { chunks, total };
}

/** Posts a channel message carrying one video file (`body.attachments` must name it as id 0). */
export async function postVideoMessage(
  rest: REST,
  channelId: string,
  body: unknown,
  fileName: string,
  data: Uint8Array,
): Promise<APIMessage> {
  return postMultipartMessage(rest, channelId, multipartBody(body, fileName, data));
}

/** Posts a channel message from a ready multipart body (`downloadVideoUpload`, `multipartBody`). */
export async function postMultipartMessage(rest: REST, channelId: string, upload: MultipartUpload): Promise<APIMessage> {
  return (await rest.post(Routes.channelMessages(channelId), {
    body: upload.body,
    passThroughBody: true,
    headers: { 'Content-Type': upload.contentType },
  })) as APIMessage;
}

/**
 * The `makeRequest` of the bot's REST client (`rest.makeRequest` in discord.js's client options):
 * a `MultipartBody` goes out piece by piece with its Content-Length, everything else the default way.
 * Needed because @discordjs/rest joins any iterable body into one Buffer before sending (a second
 * copy of the video); a Uint8Array it would pass through, but making one from the download chunks
 * is that same copy. Rate limits, retries (the body is sent again from its parts) and timeouts
 * stay @discordjs/rest's: only the network call is ours.
 */
export async function uploadAwareMakeRequest(url: string, init: RequestInit): Promise<ResponseLike> {
  const body = init.body as unknown;
  if (!(body instanceof MultipartBody)) return DefaultRestOptions.makeRequest(url, init);
  // REST's own agent (if any) belongs to its undici 6; the upload goes through ours.
  const response = await sharedAgent().request({
    ...splitUrl(url),
    method: init.method ?? 'POST',
    headers: { ...(init.headers as Record<string, string>), 'content-length': String(body.byteLength) },
    // A fresh stream over the same parts for every send (no copy).
    body: Readable.from(body.parts),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one);
  }
  return {
    body: response.body,
    arrayBuffer: () => response.body.arrayBuffer(),
    json: () => response.body.json(),
    text: () => response.body.text(),
    get bodyUsed() {
      return response.body.bodyUsed;
    },
    headers,
    status: response.statusCode,
    statusText: STATUS_CODES[response.statusCode] ?? '',
    ok: response.statusCode >= 200 && response.statusCode < 300,
  };
}

/**
 * The `multipart/form-data` body of a message with one file, built here rather than through
 * discord.js's `files`: that path hands a FormData to whichever undici owns the global dispatcher,
 * and undici 7 (ours) cannot serialize the FormData of Node's or discord.js's undici 6
 * ("action is not a function"), so uploads would depend on which module loaded undici first.
 */
export function multipartBody(payload: unknown, fileName: string, data: Uint8Array): MultipartUpload {
  const { head, tail, contentType } = multipartFrame(payload, fileName);
  return { body: new MultipartBody([head, data, tail]), contentType };
}

/** The parts of a one-file multipart body around the file's bytes, and its content type. */
function multipartFrame(payload: unknown, fileName: string): Frame & { contentType: string } {
  const boundary = `sora-bot-${randomUUID()}`;
  const safeName = fileName.replace(/["\\\r\n]/g, '_');
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="payload_json"\r\n` +
    `Content-Type: application/json\r\n\r\n${JSON.stringify(payload)}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="files[0]"; filename="${safeName}"\r\n` +
    'Content-Type: video/mp4\r\n\r\n';
  const tail = `\r\n--${boundary}--\r\n`;
  return { head: Buffer.from(head, 'utf8'), tail: Buffer.from(tail, 'utf8'), contentType: `multipart/form-data; boundary=${boundary}` };
}
