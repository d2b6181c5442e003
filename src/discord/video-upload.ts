import { randomUUID } from 'node:crypto';
import { Routes } from 'discord.js';
import type { APIMessage, REST } from 'discord.js';
import type { Logger } from 'pino';
import { fetch } from 'undici';
import type { Dispatcher } from 'undici';
import { describeDiscordError } from './discord-errors.js';

/**
 * Why a video could not be downloaded. `retryable` marks what may pass (a 5xx, 408, 429, a timeout,
 * a dropped connection); a 404, 403 or 410, or an address that is not http(s), will not. `status` is
 * the provider's HTTP status when there was one, `retryAfterMs` its Retry-After.
 */
export type DownloadFailure =
  | { ok: false; reason: 'too_large' }
  | { ok: false; reason: 'download_failed'; retryable: boolean; status?: number; retryAfterMs?: number };

/** A video held in memory for an upload, or why it is not. */
export type VideoDownload = { ok: true; data: Buffer } | DownloadFailure;

/**
 * A video downloaded straight into the `multipart/form-data` body of its message (ready for
 * `postMultipartMessage`), or why it is not.
 */
export type VideoUpload = { ok: true; upload: MultipartUpload; videoBytes: number } | DownloadFailure;

/** A complete `multipart/form-data` request body and its content type. */
export interface MultipartUpload {
  body: Buffer;
  contentType: string;
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
  return result.ok ? { ok: true, data: result.body } : result;
}

/**
 * Downloads the video of a message with one file (`payload.attachments` must name it as id 0)
 * straight into the multipart body of its upload: when the provider declares the length, the body
 * is allocated once (head + video + tail) and the download is written into it, so the video is
 * held once rather than as chunks, then a joined copy, then a multipart copy. Never holds more than
 * `limitBytes` of video; anything larger becomes a link.
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

type FramedDownload = { ok: true; body: Buffer; videoBytes: number } | DownloadFailure;

/** Statuses worth asking again: the provider or its CDN may answer next time. */
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Retry-After in seconds or as an HTTP date, in ms from now; undefined when absent or malformed. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
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
function declaredLength(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  const value = Number(header);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Downloads `url` into `frame.head + video + frame.tail`, never holding more than `limitBytes` of video. */
async function downloadFramed(url: string, limitBytes: number, frame: Frame, options: VideoDownloadOptions): Promise<FramedDownload> {
  const { dispatcher, log, signal } = options;
  if (limitBytes <= 0) return { ok: false, reason: 'too_large' };
  // fetch would throw on these too, but no retry can help: the link is all there is.
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
  try {
    const response = await fetch(url, { signal: controller.signal, ...(dispatcher ? { dispatcher } : {}) });
    progressed();
    if (!response.ok || !response.body) {
      log?.warn({ status: response.status }, 'video download failed');
      controller.abort();
      const after = retryAfterMs(response.headers.get('retry-after'));
      return {
        ok: false,
        reason: 'download_failed',
        retryable: RETRYABLE_STATUSES.has(response.status),
        status: response.status,
        ...(after !== undefined ? { retryAfterMs: after } : {}),
      };
    }
    const declared = declaredLength(response.headers.get('content-length'));
    if (declared !== undefined && declared > limitBytes) {
      controller.abort();
      return { ok: false, reason: 'too_large' };
    }
    // fetch decodes a compressed body, so its length is only known for an identity encoding.
    const encoding = (response.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
    const stream = response.body as AsyncIterable<Uint8Array>;
    const result =
      declared !== undefined && (encoding === 'identity' || encoding === '')
        ? await readPreallocated(stream, declared, limitBytes, frame, progressed)
        : await readChunked(stream, limitBytes, frame, progressed);
    if (!result) {
      controller.abort();
      return { ok: false, reason: 'too_large' };
    }
    return { ok: true, ...result };
  } catch (error) {
    // Timeouts, stalls, resets and a body cut short: all may pass on another try.
    log?.warn({ error: describeDiscordError(error), timedOut: controller.signal.aborted }, 'video download failed');
    return { ok: false, reason: 'download_failed', retryable: true };
  } finally {
    clearTimeout(timer);
    clearTimeout(stallTimer);
    signal?.removeEventListener('abort', abort);
  }
}

/**
 * Reads a body of `declared` bytes into one buffer of head + declared + tail. A body longer than
 * declared keeps what arrived and continues in chunks; a shorter one is framed as it is.
 * Undefined once more than `limitBytes` arrived (the caller aborts).
 */
async function readPreallocated(
  stream: AsyncIterable<Uint8Array>,
  declared: number,
  limitBytes: number,
  frame: Frame,
  progressed: () => void,
): Promise<{ body: Buffer; videoBytes: number } | undefined> {
  const start = frame.head.length;
  const body = Buffer.allocUnsafe(start + declared + frame.tail.length);
  frame.head.copy(body, 0);
  let written = 0;
  let overflow: Uint8Array[] | undefined;
  let total = 0;
  for await (const chunk of stream) {
    progressed();
    total += chunk.byteLength;
    // `return` cancels the body stream; aborting inside the loop would make that cancel throw.
    if (total > limitBytes) return undefined;
    if (overflow) {
      overflow.push(chunk);
      continue;
    }
    const fits = Math.min(chunk.byteLength, declared - written);
    body.set(fits === chunk.byteLength ? chunk : chunk.subarray(0, fits), start + written);
    written += fits;
    if (fits < chunk.byteLength) overflow = [chunk.subarray(fits)];
  }
  if (overflow) {
    return { body: Buffer.concat([body.subarray(0, start + written), ...overflow, frame.tail], start + total + frame.tail.length), videoBytes: total };
  }
  frame.tail.copy(body, start + written);
  return { body: written === declared ? body : body.subarray(0, start + written + frame.tail.length), videoBytes: written };
}

/** Reads a body of unknown length in chunks, joined once with the frame; undefined past `limitBytes`. */
async function readChunked(
  stream: AsyncIterable<Uint8Array>,
  limitBytes: number,
  frame: Frame,
  progressed: () => void,
): Promise<{ body: Buffer; videoBytes: number } | undefined> {
  const chunks: Uint8Array[] = [frame.head];
  let total = 0;
  for await (const chunk of stream) {
    progressed();
    total += chunk.byteLength;
    // `return` cancels the body stream; aborting inside the loop would make that cancel throw.
    if (total > limitBytes) return undefined;
    chunks.push(chunk);
  }
  chunks.push(frame.tail);
  return { body: Buffer.concat(chunks, frame.head.length + total + frame.tail.length), videoBytes: total };
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
 * The `multipart/form-data` body of a message with one file, built here rather than through
 * discord.js's `files`: that path hands a FormData to whichever undici owns the global dispatcher,
 * and undici 7 (ours) cannot serialize the FormData of Node's or discord.js's undici 6
 * ("action is not a function"), so uploads would depend on which module loaded undici first.
 */
export function multipartBody(payload: unknown, fileName: string, data: Uint8Array): MultipartUpload {
  const { head, tail, contentType } = multipartFrame(payload, fileName);
  return { body: Buffer.concat([head, data, tail]), contentType };
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
