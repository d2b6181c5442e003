import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';

/** What a failed Discord request means for the caller. */
export type DiscordErrorClass =
  /** The channel is gone or the bot may not post there: trying again will not help. */
  | { kind: 'undeliverable'; code: number; reason: string }
  /** The upload is over the guild's size cap (40005 / HTTP 413): post a link instead. */
  | { kind: 'too_large'; reason: string }
  /** Transient (rate limit, 5xx, network, timeout): try again after `retryAfterMs`. */
  | { kind: 'retry'; retryAfterMs: number; reason: string }
  /** The interaction token or its message is gone (15-minute lifetime): stop using it. */
  | { kind: 'expired'; code: number; reason: string }
  | { kind: 'other'; reason: string };

/** Discord JSON error codes meaning "this channel cannot take the message". */
const UNDELIVERABLE_CODES: ReadonlyMap<number, string> = new Map([
  [10003, 'the channel no longer exists'],
  [10004, 'the bot is no longer in this server'],
  [10008, 'the message no longer exists'],
  [50001, 'the bot cannot see this channel (Missing Access)'],
  [50008, 'messages cannot be sent in this channel type'],
  [50013, 'the bot lacks permission to post here (Missing Permissions)'],
  [50083, 'the thread is archived'],
  [160005, 'the thread is locked'],
]);

/** Codes for an interaction webhook that no longer works. */
const EXPIRED_CODES: ReadonlyMap<number, string> = new Map([
  [10015, 'unknown webhook'],
  [10062, 'unknown interaction'],
  [50027, 'invalid webhook token (the interaction expired)'],
]);

const TOO_LARGE_CODE = 40005;

/** Backoff for transient failures that carry no Retry-After. */
export const SERVER_ERROR_RETRY_MS = 5_000;
export const NETWORK_RETRY_MS = 5_000;
export const TIMEOUT_RETRY_MS = 10_000;

const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Classifies an error thrown by discord.js REST (or the network below it). */
export function classifyDiscordError(error: unknown): DiscordErrorClass {
  if (error instanceof RateLimitError) {
    const waitMs = Math.max(error.retryAfter, error.timeToReset, 0);
    return { kind: 'retry', retryAfterMs: Math.ceil(waitMs), reason: 'Discord rate limit (429)' };
  }
  if (error instanceof DiscordAPIError) return classifyApiError(error);
  if (error instanceof HTTPError) return classifyStatus(error.status, `HTTP ${error.status}`);
  if (isTimeout(error)) return { kind: 'retry', retryAfterMs: TIMEOUT_RETRY_MS, reason: 'request to Discord timed out' };
  const networkCode = findNetworkCode(error);
  if (networkCode !== undefined) {
    return { kind: 'retry', retryAfterMs: NETWORK_RETRY_MS, reason: `network error (${networkCode})` };
  }
  return { kind: 'other', reason: errorName(error) };
}

function classifyApiError(error: DiscordAPIError): DiscordErrorClass {
  const code = typeof error.code === 'number' ? error.code : undefined;
  if (code !== undefined) {
    const undeliverable = UNDELIVERABLE_CODES.get(code);
    if (undeliverable !== undefined) return { kind: 'undeliverable', code, reason: undeliverable };
    const expired = EXPIRED_CODES.get(code);
    if (expired !== undefined) return { kind: 'expired', code, reason: expired };
    if (code === TOO_LARGE_CODE) return { kind: 'too_large', reason: 'file over the upload limit (40005)' };
  }
  if (error.status === 429) {
    // discord.js normally waits out a 429 itself; this covers a proxy that answers 429 as an error.
    const raw = error.rawError as { retry_after?: unknown };
    const seconds = typeof raw.retry_after === 'number' ? raw.retry_after : 1;
    return { kind: 'retry', retryAfterMs: Math.ceil(seconds * 1000), reason: 'Discord rate limit (429)' };
  }
  const label = code !== undefined ? `Discord error ${code} (HTTP ${error.status})` : `HTTP ${error.status}`;
  return classifyStatus(error.status, label);
}

function classifyStatus(status: number, label: string): DiscordErrorClass {
  if (status === 413) return { kind: 'too_large', reason: 'request entity too large (413)' };
  if (status === 429) return { kind: 'retry', retryAfterMs: SERVER_ERROR_RETRY_MS, reason: label };
  if (status >= 500) return { kind: 'retry', retryAfterMs: SERVER_ERROR_RETRY_MS, reason: `Discord server error: ${label}` };
  return { kind: 'other', reason: label };
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Looks through `cause` chains too: undici's fetch wraps socket errors in `TypeError: fetch failed`. */
function findNetworkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
    if (isTimeout(current)) return current.name;
    current = current.cause;
  }
  return undefined;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * A log-safe summary of a Discord error. Never log the error object itself: its `url` holds the
 * interaction token on webhook routes, and its `requestBody` holds the whole uploaded video.
 */
export function describeDiscordError(error: unknown): Record<string, unknown> {
  if (error instanceof DiscordAPIError) {
    return {
      name: 'DiscordAPIError',
      code: error.code,
      status: error.status,
      method: error.method,
      message: redactWebhookTokens(error.message),
    };
  }
  if (error instanceof HTTPError) return { name: 'HTTPError', status: error.status, method: error.method };
  if (error instanceof RateLimitError) {
    return { name: 'RateLimitError', route: error.route, retryAfterMs: error.retryAfter, global: error.global };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      code: typeof code === 'string' ? code : undefined,
      networkCode: findNetworkCode(error),
      message: redactWebhookTokens(error.message),
    };
  }
  return { name: typeof error };
}

/** Replaces the token in any `/webhooks/<application>/<token>` path. */
export function redactWebhookTokens(text: string): string {
  return text.replace(/\/webhooks\/(\d+)\/[^/\s?#]+/g, '/webhooks/$1/[redacted]');
}
