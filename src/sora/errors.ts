import { readErrorBody } from './wire.js';

/** Codes the client itself uses when no usable HTTP answer arrived. */
export type TransportErrorCode = 'timeout' | 'network_error' | 'malformed_response';

/** Fields of a SoraApiError. */
export interface SoraApiErrorInit {
  code: string;
  message: string;
  status?: number | undefined;
  traceId?: string | undefined;
  retryable: boolean;
  retryAfterMs?: number | undefined;
}

/** A failed Ace Data Cloud call: the API's `error.code`, or a transport code (`timeout`, …). */
export class SoraApiError extends Error {
  override readonly name = 'SoraApiError';
  /** `error.code` from the body (e.g. `used_up`), `http_<status>` when absent, or a transport code. */
  readonly code: string;
  /** HTTP status, undefined when no answer arrived. */
  readonly status: number | undefined;
  readonly traceId: string | undefined;
  /** Whether the same request may succeed later (429, 5xx, timeouts, network errors). */
  readonly retryable: boolean;
  /** From the Retry-After header, when the API sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(init: SoraApiErrorInit) {
    super(init.message);
    this.code = init.code;
    this.status = init.status;
    this.traceId = init.traceId;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
  }
}

// Codes that mean "try again later" even when they arrive on an unexpected HTTP status.
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['too_many_requests', 'rate_limited', 'api_error', 'timeout', 'busy']);

const MAX_MESSAGE_CHARS = 500;

/** Whether an HTTP status is worth retrying (429, 408 and 5xx). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/** Parses a Retry-After header (delay seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfterMs(value: string | string[] | undefined, nowMs: number = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  const atMs = Date.parse(raw);
  if (Number.isNaN(atMs)) return undefined;
  return Math.max(0, atMs - nowMs);
}

/** Removes every secret from a text that may end up in an error message, and bounds its length. */
export function sanitizeMessage(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) {
    if (secret.length > 0) clean = clean.split(secret).join('[redacted]');
  }
  clean = clean.replace(/\s+/g, ' ').trim();
  return clean.length > MAX_MESSAGE_CHARS ? `${clean.slice(0, MAX_MESSAGE_CHARS - 1)}…` : clean;
}

/** Builds the error for a non-2xx answer, or for a 2xx answer whose body is an error. */
export function errorFromHttpAnswer(answer: {
  status: number;
  retryAfter: string | string[] | undefined;
  body: unknown;
  secrets: readonly string[];
}): SoraApiError {
  const { status, body, secrets } = answer;
  const details = readErrorBody(body);
  const isHttpError = status < 200 || status >= 300;
  const code = details.code ?? (isHttpError ? `http_${status}` : 'malformed_response');
  const retryable = isHttpError ? isRetryableStatus(status) : details.code === undefined || RETRYABLE_CODES.has(details.code);
  const message = details.message ?? `Ace Data Cloud answered HTTP ${status} without an error message.`;
  return new SoraApiError({
    code,
    message: sanitizeMessage(message, secrets),
    status,
    traceId: details.traceId,
    retryable,
    retryAfterMs: parseRetryAfterMs(answer.retryAfter),
  });
}
