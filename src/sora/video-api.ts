import type { RemoteStatus, StatusBatchOutcome, SubmitOutcome, VideoApi } from '../core/ports.js';
import type { GenerationRequest } from '../core/task.js';
import { SoraApiError } from './errors.js';
import { RETRIEVE_BATCH_MAX_IDS, type SoraClient, type SubmitBody } from './sora-client.js';
import { classifyTaskRecord } from './wire.js';

/** The most provider task ids one `retrieveBatch` call should carry. */
export const MAX_BATCH_SIZE = RETRIEVE_BATCH_MAX_IDS;

/** 429 codes: per-token rate limit and the concurrency limit (sora-api.md §6.2). */
export const RATE_LIMIT_CODES: ReadonlySet<string> = new Set(['too_many_requests', 'rate_limited']);

/** Codes that mean the bot's token or account needs the operator: every further submit would fail too. */
export const ACCOUNT_PROBLEM_CODES: ReadonlySet<string> = new Set([
  'invalid_token',
  'token_expired',
  'token_mismatched',
  'used_up',
  'disabled',
  'no_token',
  // A wrong ACEDATA_BASE_URL: operator misconfiguration, not the member's request.
  'no_api',
  'api_not_implemented',
]);

/** The VideoApi port over the Ace Data Cloud client, with its batch limit. */
export interface SoraVideoApi extends VideoApi {
  readonly maxBatchSize: number;
}

/** Maps a GenerationRequest to the `/sora/videos` body. */
export function toSubmitBody(request: GenerationRequest): SubmitBody {
  const body: SubmitBody = {
    prompt: request.prompt,
    model: request.model,
    duration: request.duration,
    orientation: request.orientation,
    size: request.size,
  };
  if (request.imageUrl !== undefined) body.image_urls = [request.imageUrl];
  return body;
}

/**
 * Turns a failed submit into its outcome (design.md §2a). Only a 429 is surely not accepted; a
 * timeout, 5xx, dropped connection or unreadable answer may hide an accepted (billed) task.
 */
export function submitOutcomeFromError(error: SoraApiError): SubmitOutcome {
  const { code, message, status } = error;
  if (RATE_LIMIT_CODES.has(code) || status === 429) {
    return error.retryAfterMs === undefined
      ? { kind: 'rate_limited' }
      : { kind: 'rate_limited', retryAfterMs: error.retryAfterMs };
  }
  if (ACCOUNT_PROBLEM_CODES.has(code)) return { kind: 'account_problem', code, message };
  // 408 means the request may still have reached the API: not a refusal.
  const refusedByStatus = status !== undefined && status >= 400 && status < 500 && status !== 408;
  // A 2xx body that is an error (no task_id) with a non-transient code is a refusal too.
  const refusedInBody = status !== undefined && status >= 200 && status < 300 && !error.retryable;
  if (refusedByStatus || refusedInBody) return { kind: 'rejected', code, message };
  return { kind: 'uncertain', code, message };
}

/** Creates the core's VideoApi over a SoraClient. */
export function createSoraVideoApi(client: Pick<SoraClient, 'submit' | 'retrieveBatch'>): SoraVideoApi {
  return {
    maxBatchSize: MAX_BATCH_SIZE,

    async submit(request, options) {
      try {
        const body = toSubmitBody(request);
        if (options?.callbackUrl) body.callback_url = options.callbackUrl;
        const { taskId } = await client.submit(body);
        return { kind: 'accepted', providerTaskId: taskId };
      } catch (error) {
        // Anything but a SoraApiError is a bug: let it surface instead of hiding it in an outcome.
        if (!(error instanceof SoraApiError)) throw error;
        return submitOutcomeFromError(error);
      }
    },

    async retrieveBatch(providerTaskIds): Promise<StatusBatchOutcome> {
      try {
        const records = await client.retrieveBatch(providerTaskIds);
        const statuses = new Map<string, RemoteStatus>();
        for (const [id, record] of records) statuses.set(id, classifyTaskRecord(record));
        return { kind: 'ok', statuses };
      } catch (error) {
        if (!(error instanceof SoraApiError)) throw error;
        const outcome: StatusBatchOutcome = {
          kind: 'error',
          code: error.code,
          message: error.message,
          retryable: error.retryable,
        };
        if (error.retryAfterMs !== undefined) outcome.retryAfterMs = error.retryAfterMs;
        return outcome;
      }
    },
  };
}
