import { Routes } from 'discord.js';
import type { APIMessage, REST, RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { PublishOutcome, Publisher } from '../core/ports.js';
import type { Task, TaskOutcome } from '../core/task.js';
import { classifyDiscordError, describeDiscordError } from './discord-errors.js';
import { parseResultFooter, renderResultMessage, resultMarker, videoFileName } from './render.js';
import { DEFAULT_DOWNLOAD_RETRY, withDownloadRetries, type DownloadRetryPolicy, type RetryEnvironment } from './download-retry.js';
import { downloadVideoUpload, postMultipartMessage } from './video-upload.js';

/** How long an unclassified Discord error waits before the core tries again. */
export const OTHER_ERROR_RETRY_MS = 60_000;
const DEFAULT_FETCH_TIMEOUT_MS = 120_000;
const DEFAULT_STALL_TIMEOUT_MS = 30_000;
// Discord returns at most 100; 50 covers "a few minutes" of a busy channel.
const HISTORY_LIMIT = 50;

/** Options for {@link createDiscordPublisher}. */
export interface DiscordPublisherOptions {
  /** discord.js REST with the bot token (the bot passes `client.rest`). */
  rest: REST;
  /**
   * The bot's own user id: only its messages count when looking for an earlier post. A function when
   * the publisher is built before login (the id is known once logged in; nothing is published before).
   */
  botUserId: string | (() => string | undefined);
  /** Time allowed for one try at downloading the video from the provider (default 120 s). */
  fetchTimeoutMs?: number;
  /** Longest silence from the provider (headers, then between body bytes) before a try is given up (default 30 s). */
  stallTimeoutMs?: number;
  /** How a failing download is retried before the link is posted (DEFAULT_DOWNLOAD_RETRY). */
  downloadRetry?: DownloadRetryPolicy;
  /** Clock, randomness and sleep of the download retries (tests). */
  retryEnvironment?: Omit<RetryEnvironment, 'signal' | 'log'>;
  /**
   * Aborted on shutdown: a download under way or a wait between tries ends at once and the post
   * is left for the next start (the task stays `posting`; the restart looks for an earlier message).
   */
  signal?: AbortSignal;
  /** undici dispatcher for the video download (tests, proxies). */
  dispatcher?: Dispatcher;
  logger?: Logger;
}

/** A `Publisher` that posts results as channel messages with the bot token. */
export function createDiscordPublisher(options: DiscordPublisherOptions): Publisher {
  const { rest, dispatcher, logger, signal } = options;
  const givenUserId = options.botUserId;
  const botUserId = typeof givenUserId === 'string' ? () => givenUserId : givenUserId;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const downloadRetry = options.downloadRetry ?? DEFAULT_DOWNLOAD_RETRY;

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

    // Rendered before the download: the video is written straight into the multipart body.
    const payload = renderResultMessage(task, { mode: 'upload' });
    const download = await withDownloadRetries(
      (budgetLeftMs) =>
        downloadVideoUpload(outcome.videoUrl, task.uploadLimitBytes, payload, videoFileName(task), {
          fetchTimeoutMs: Math.min(fetchTimeoutMs, budgetLeftMs),
          stallTimeoutMs,
          ...(dispatcher ? { dispatcher } : {}),
          ...(signal ? { signal } : {}),
          ...(log ? { log } : {}),
        }),
      downloadRetry,
      { ...options.retryEnvironment, ...(signal ? { signal } : {}), ...(log ? { log } : {}) },
    );
    if (download.aborted) {
      // Shutting down: nothing was posted; the next start posts (the core schedules no retry once stopped).
      return { kind: 'retry', retryAfterMs: 0, reason: 'shutting down during the video download' };
    }
    if (download.ok) {
      try {
        const message = await postMultipartMessage(rest, task.channelId, download.upload);
        return { kind: 'posted', messageId: message.id, mode: 'upload' };
      } catch (error) {
        const classified = classifyDiscordError(error);
        if (classified.kind !== 'too_large') return failure(error, log);
        // The guild's cap is lower than the interaction said (boost lost since): fall back to the link.
        log?.info({ bytes: download.videoBytes }, 'upload rejected as too large; posting the link');
        return post(task, renderResultMessage(task, { mode: 'link', reason: 'too_large' }), 'link', log);
      }
    }
    log?.info(
      {
        reason: download.reason,
        attempts: download.attempts,
        ...(download.reason === 'download_failed' ? { status: download.status } : {}),
      },
      'posting the video link instead of uploading',
    );
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
      logger?.warn({ taskId: task.id, error: describeDiscordError(error), kind: classified.kind }, 'could not read channel history');
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
        message.author.id === botUserId() &&
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

  return { publish };
}
