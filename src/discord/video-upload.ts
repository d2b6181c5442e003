import { randomUUID } from 'node:crypto';
import { Routes } from 'discord.js';
import type { APIMessage, REST } from 'discord.js';
import type { Logger } from 'pino';
import { fetch } from 'undici';
import type { Dispatcher } from 'undici';
import { describeDiscordError } from './discord-errors.js';

/** A video held in memory for an upload, or why it is not. */
export type VideoDownload = { ok: true; data: Buffer } | { ok: false; reason: 'too_large' | 'download_failed' };

/** How videos are fetched from the provider. */
export interface VideoDownloadOptions {
  fetchTimeoutMs: number;
  /** undici dispatcher for the download (tests, proxies). */
  dispatcher?: Dispatcher;
  log?: Logger;
}

/** Downloads into memory, never holding more than `limitBytes`; anything larger becomes a link. */
export async function downloadVideo(url: string, limitBytes: number, options: VideoDownloadOptions): Promise<VideoDownload> {
  const { dispatcher, log } = options;
  if (limitBytes <= 0) return { ok: false, reason: 'too_large' };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.fetchTimeoutMs);
  try {
    const response = await fetch(url, { signal: controller.signal, ...(dispatcher ? { dispatcher } : {}) });
    if (!response.ok || !response.body) {
      log?.warn({ status: response.status }, 'video download failed');
      controller.abort();
      return { ok: false, reason: 'download_failed' };
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > limitBytes) {
      controller.abort();
      return { ok: false, reason: 'too_large' };
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    let tooLarge = false;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > limitBytes) {
        // `break` cancels the body stream; aborting inside the loop would make that cancel throw.
        tooLarge = true;
        break;
      }
      chunks.push(chunk);
    }
    if (tooLarge) {
      controller.abort();
      return { ok: false, reason: 'too_large' };
    }
    return { ok: true, data: Buffer.concat(chunks, total) };
  } catch (error) {
    log?.warn({ error: describeDiscordError(error) }, 'video download failed');
    return { ok: false, reason: 'download_failed' };
  } finally {
    clearTimeout(timer);
  }
}

/** Posts a channel message carrying one video file (`body.attachments` must name it as id 0). */
export async function postVideoMessage(
  rest: REST,
  channelId: string,
  body: unknown,
  fileName: string,
  data: Uint8Array,
): Promise<APIMessage> {
  const upload = multipartBody(body, fileName, data);
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
export function multipartBody(payload: unknown, fileName: string, data: Uint8Array): { body: Buffer; contentType: string } {
  const boundary = `sora-bot-${randomUUID()}`;
  const safeName = fileName.replace(/["\\\r\n]/g, '_');
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="payload_json"\r\n` +
    `Content-Type: application/json\r\n\r\n${JSON.stringify(payload)}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="files[0]"; filename="${safeName}"\r\n` +
    'Content-Type: video/mp4\r\n\r\n';
  const tail = `\r\n--${boundary}--\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head, 'utf8'), data, Buffer.from(tail, 'utf8')]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}
