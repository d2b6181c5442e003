import { SERVICES, type ServiceId } from '../core/models/catalogue.js';
import type { RemoteStatus, StatusBatchOutcome, SubmitOutcome, VideoApi } from '../core/ports.js';
import type { GenerationRequest } from '../core/task.js';
import { SoraApiError } from './errors.js';
import { planSubmit } from './services/index.js';
import { RETRIEVE_BATCH_MAX_IDS, type SoraClient } from './sora-client.js';
import { classifyTaskRecord } from './wire.js';

/** The most provider task ids one `retrieveBatch` call should carry (every service: 50). */
export const MAX_BATCH_SIZE = RETRIEVE_BATCH_MAX_IDS;

/** 429 codes: per-token rate limit and the concurrency limit (docs/acedata-contract.md §6.2). */
export const RATE_LIMIT_CODES: ReadonlySet<string> = new Set(['too_many_requests', 'rate_limited']);

/** Codes that mean the bot's token or account needs the operator: every further submit would fail too. */
export const ACCOUNT_PROBLEM_CODES: ReadonlySet<string> = new Set([
  'invalid_token',
  'token_expired',
  'token_mismatched',
  'used_up',
  'no_token',
]);

/**
 * Codes that mean the service is not served (docs/acedata-contract.md §6.3):
 * only the models of that service stop, the account is fine.
 */
export const SERVICE_UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['api_not_implemented', 'no_api', 'disabled']);

// "model is invalid." (the documented message), "invalid model", "model xyz is not supported", …
const MODEL_INVALID_MESSAGE =
  /\bmodel\b[^.]*\b(?:invalid|unknown|unsupported|not supported|not found|does not exist|not available)\b|\b(?:invalid|unknown|unsupported)\s+model\b/i;

/** Whether a `bad_request` message says the model itself is unknown or invalid. */
export function saysModelIsInvalid(message: string): boolean {
  return MODEL_INVALID_MESSAGE.test(message);
}

/** The VideoApi port over the Ace Data Cloud client, with its batch limit. */
export interface AceDataVideoApi extends VideoApi {
  /** The most ids per `retrieveBatch` call of any service (each service's own is `SERVICES[id].maxBatchIds`). */
  readonly maxBatchSize: number;
}

/** The former name of AceDataVideoApi. */
export type SoraVideoApi = AceDataVideoApi;

/** What the VideoApi needs of the client. */
export type VideoApiClient = Pick<SoraClient, 'submitTo' | 'retrieveBatchAt'>;

/**
 * The `<service>/videos` body of a request (without `async`, which the client adds, and
 * `callback_url`); throws for a model that is not in the catalogue.
 */
export function toSubmitBody(request: GenerationRequest): Record<string, unknown> {
  const plan = planSubmit(request);
  if (!plan) throw new Error(`model ${request.model} is not in the catalogue`);
  return plan.body;
}

/**
 * Turns a failed submit into its outcome (docs/crash-outcomes.md). Only a 429, a refusal of the account, of
 * the service or of the model is surely not accepted; a timeout, 5xx, dropped connection or
 * unreadable answer may hide an accepted (billed) task.
 */
export function submitOutcomeFromError(error: SoraApiError): SubmitOutcome {
  const { code, message, status } = error;
  if (RATE_LIMIT_CODES.has(code) || status === 429) {
    return error.retryAfterMs === undefined ? { kind: 'rate_limited' } : { kind: 'rate_limited', retryAfterMs: error.retryAfterMs };
  }
  // A 404 on the submit path, whatever its body: the path (the service) does not exist.
  if (SERVICE_UNAVAILABLE_CODES.has(code) || status === 404) {
    return { kind: 'model_unavailable', scope: 'service', code, message };
  }
  if (ACCOUNT_PROBLEM_CODES.has(code)) return { kind: 'account_problem', code, message };
  if (code === 'bad_request' && saysModelIsInvalid(message)) {
    return { kind: 'model_unavailable', scope: 'model', code, message };
  }
  // 408 means the request may still have reached the API: not a refusal.
  const refusedByStatus = status !== undefined && status >= 400 && status < 500 && status !== 408;
  // A 2xx body that is an error (no task_id) with a non-transient code is a refusal too.
  const refusedInBody = status !== undefined && status >= 200 && status < 300 && !error.retryable;
  if (refusedByStatus || refusedInBody) return { kind: 'rejected', code, message };
  return { kind: 'uncertain', code, message };
}

/**
 * Turns a failed status request into its outcome. The service being gone (404, `no_api`,
 * `api_not_implemented`) is not worth a quick retry; the poller still checks again after its backoff.
 */
export function statusOutcomeFromError(error: SoraApiError): StatusBatchOutcome {
  const serviceGone = error.status === 404 || error.code === 'no_api' || error.code === 'api_not_implemented';
  const outcome: StatusBatchOutcome = {
    kind: 'error',
    code: error.code,
    message: error.message,
    retryable: serviceGone ? false : error.retryable,
  };
  if (error.retryAfterMs !== undefined) outcome.retryAfterMs = error.retryAfterMs;
  return outcome;
}

/**
 * Creates the core's VideoApi over one Ace Data Cloud client: a submit goes to the request's
 * model's service (`SERVICES[spec.service].submitPath`) with that service's body
 * (`src/sora/services/`); `retrieveBatch(service, ids)` asks that service's tasks path in chunks of
 * its `maxBatchIds`.
 */
export function createAceDataVideoApi(client: VideoApiClient): AceDataVideoApi {
  return {
    maxBatchSize: MAX_BATCH_SIZE,

    async submit(request, options) {
      const plan = planSubmit(request);
      if (!plan) {
        // A stale record of a model the catalogue no longer has: nothing is sent, nothing billed.
        return {
          kind: 'model_unavailable',
          scope: 'model',
          code: 'unknown_model',
          message: `The model ${request.model} is not available.`,
        };
      }
      const body = plan.body;
      if (options?.callbackUrl) body.callback_url = options.callbackUrl;
      try {
        const { taskId } = await client.submitTo(plan.service.submitPath, body);
        return { kind: 'accepted', providerTaskId: taskId };
      } catch (error) {
        // Anything but a SoraApiError is a bug: let it surface instead of hiding it in an outcome.
        if (!(error instanceof SoraApiError)) throw error;
        return submitOutcomeFromError(error);
      }
    },

    async retrieveBatch(service: ServiceId, providerTaskIds): Promise<StatusBatchOutcome> {
      const spec = SERVICES[service];
      try {
        const records = await client.retrieveBatchAt(spec.tasksPath, providerTaskIds, spec.maxBatchIds);
        const statuses = new Map<string, RemoteStatus>();
        for (const [id, record] of records) statuses.set(id, classifyTaskRecord(record));
        return { kind: 'ok', statuses };
      } catch (error) {
        if (!(error instanceof SoraApiError)) throw error;
        return statusOutcomeFromError(error);
      }
    },
  };
}

/** The former name of createAceDataVideoApi. */
export const createSoraVideoApi: (client: VideoApiClient) => AceDataVideoApi = createAceDataVideoApi;
