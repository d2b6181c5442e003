import { randomUUID } from 'node:crypto';
import { Routes } from 'discord.js';
import type { APIMessage, REST, RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import type { Logger } from 'pino';
import { fetch } from 'undici';
import type { Dispatcher } from 'undici';
import type { PublishOutcome, Publisher } from '../core/ports.js';
import type { Task, TaskOutcome } from '../core/task.js';
import { classifyDiscordError, describeDiscordError } from './discord-errors.js';
import { parseResultFooter, renderResultMessage, resultMarker, videoFileName } from './render.js';

/** How long an unclassified Discord error waits before the core tries again. */
export const OTHER_ERROR_RETRY_MS = 60_000;
const DEFAULT_FETCH_TIMEOUT_MS = 120_000;
// Discord returns at most 100; 50 covers "a few minutes" of a busy channel.
const HISTORY_LIMIT = 50;

/** Options for {@link createDiscordPublisher}. */
export interface DiscordPublisherOptions {
  /** discord.js REST with the bot token (the bot passes `client.rest`). */
  rest: REST;
  /** The bot's own user id: only its messages count when looking for an earlier post. */
  botUserId: string;
  /** Time allowed for downloading the video from the provider. */
  fetchTimeoutMs?: number;
  /** undici dispatcher for the video download (tests, proxies). */
  dispatcher?: Dispatcher;
  logger?: Logger;
}

type Download = { ok: true; data: Buffer } | { ok: false; reason: 'too_large' | 'download_failed' };

/** A `Publisher` that posts results as channel messages with the bot token. */
export function createDiscordPublisher(options: DiscordPublisherOptions): Publisher {
  const { rest, botUserId, dispatcher, logger } = options;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;

  async function publish(task: Task, { lookForExisting }: { lookForExisting: boolean }): Promise<PublishOutcome> {
    const log = logger?.child({ taskId: task.id, guildId: task.guildId, channelId: task.channelId });
    const outcome = task.outcome;
    if (!outcome) return { kind: 'undeliverable', code: 'no_outcome', reason: 'the task has no outcome to post' };

    if (lookForExisting) {
      const found = await findExisting(task, outcome);
      if (found) return found;
    }

    if (outcome.kind !== 'succeeded') {
      return post(task, renderResultMessage(task, { mode: 'link' }), 'notice', log);
    }

    const download = await downloadVideo(outcome.videoUrl, task.uploadLimitBytes, log);
    if (download.ok) {
      const upload = multipartBody(renderResultMessage(task, { mode: 'upload' }), videoFileName(task), download.data);
      try {
        const message = (await rest.post(Routes.channelMessages(task.channelId), {
          body: upload.body,
          passThroughBody: true,
          headers: { 'Content-Type': upload.contentType },
        })) as APIMessage;
        return { kind: 'posted', messageId: message.id, mode: 'upload' };
      } catch (error) {
        const classified = classifyDiscordError(error);
        if (classified.kind !== 'too_large') return failure(error, log);
        // The guild's cap is lower than the interaction said (boost lost since): fall back to the link.
        log?.info({ bytes: download.data.length }, 'upload rejected as too large; posting the link');
        return post(task, renderResultMessage(task, { mode: 'link', reason: 'too_large' }), 'link', log);
      }
    }
    log?.info({ reason: download.reason }, 'posting the video link instead of uploading');
    return post(task, renderResultMessage(task, { mode: 'link', reason: download.reason }), 'link', log);
  }

  async function post(
    task: Task,
    body: RESTPostAPIChannelMessageJSONBody,
    mode: 'link' | 'notice',
    log: Logger | undefined,
  ): Promise<PublishOutcome> {
    try {
      const message = (await rest.post(Routes.channelMessages(task.channelId), { body })) as APIMessage;
      return { kind: 'posted', messageId: message.id, mode };
    } catch (error) {
      return failure(error, log);
    }
  }

  function failure(error: unknown, log: Logger | undefined): PublishOutcome {
    const classified = classifyDiscordError(error);
    log?.warn({ error: describeDiscordError(error), kind: classified.kind }, 'posting the result failed');
    switch (classified.kind) {
      case 'undeliverable':
        return { kind: 'undeliverable', code: classified.code, reason: classified.reason };
      case 'retry':
        return { kind: 'retry', retryAfterMs: classified.retryAfterMs, reason: classified.reason };
      case 'too_large':
      case 'expired':
      case 'other':
        // Not `undeliverable`: an unknown error (a 401 after a token reset, a Discord API change)
        // is usually fixable by the operator, and giving up would lose a video that was paid for.
        // The core bounds the number of retries.
        return { kind: 'retry', retryAfterMs: OTHER_ERROR_RETRY_MS, reason: classified.reason };
    }
  }

  /**
   * The crash-recovery path: our own earlier message for this outcome, found by its footer
   * (`posted`), a transient error (`retry`), or undefined to go ahead and post.
   */
  async function findExisting(task: Task, outcome: TaskOutcome): Promise<PublishOutcome | undefined> {
    let messages: APIMessage[];
    try {
      messages = (await rest.get(Routes.channelMessages(task.channelId), {
        query: new URLSearchParams({ limit: String(HISTORY_LIMIT) }),
      })) as APIMessage[];
    } catch (error) {
      const classified = classifyDiscordError(error);
      logger?.warn(
        { taskId: task.id, error: describeDiscordError(error), kind: classified.kind },
        'could not read channel history',
      );
      // Transient: look again later rather than risk a double post. Anything else (e.g. no
      // ReadMessageHistory): post anyway; the post itself tells whether the channel is usable.
      if (classified.kind === 'retry') {
        return { kind: 'retry', retryAfterMs: classified.retryAfterMs, reason: classified.reason };
      }
      return undefined;
    }
    const marker = resultMarker(outcome.kind);
    const match = messages.find(
      (message) =>
        message.author.id === botUserId &&
        message.embeds.some((embed) => {
          const footer = parseResultFooter(embed.footer?.text);
          return footer?.taskId === task.id && footer.marker === marker;
        }),
    );
    if (!match) return undefined;
    const mode = outcome.kind !== 'succeeded' ? 'notice' : match.attachments.length > 0 ? 'upload' : 'link';
    logger?.info({ taskId: task.id, messageId: match.id }, 'found the earlier result message; not posting again');
    return { kind: 'posted', messageId: match.id, mode };
  }

  /** Downloads into memory, never holding more than `limitBytes`; anything larger becomes a link. */
  async function downloadVideo(url: string, limitBytes: number, log: Logger | undefined): Promise<Download> {
    if (limitBytes <= 0) return { ok: false, reason: 'too_large' };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), fetchTimeoutMs);
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

  return { publish };
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
