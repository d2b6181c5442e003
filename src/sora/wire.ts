import { z } from 'zod';
import type { RemoteStatus } from '../core/ports.js';

// The vendor documents few of these shapes exactly (docs/acedata-contract.md §5.3, §7, §8), so
// every schema is tolerant: optional fields accept null, unknown keys are kept, only what we act on
// is typed, and a field of an unexpected shape is dropped rather than sinking the whole record.
// One set of schemas reads every service: Sora, Veo and Hailuo put the video in `data[0].video_url`,
// Kling, Wan and Luma in a flat `video_url`, Seedance in `data.video_url` (`data` an object) or
// `data[0].content.video_url`.

const optionalString = z.string().nullish();

const errorObjectSchema = z.looseObject({
  code: z.union([z.string(), z.number()]).nullish(),
  message: optionalString,
});

/** One generated video inside a response's `data[]` (or Seedance's `data` object). */
export const videoItemSchema = z.looseObject({
  id: optionalString,
  video_url: optionalString,
  state: optionalString,
  status: optionalString,
  // Seedance's upstream (Ark) shape: `data[0].content.video_url`.
  content: z.looseObject({ video_url: optionalString }).nullish().catch(undefined),
});

/** A response's `data`: an array of videos (Sora, Veo, Hailuo) or one object (Seedance). */
const dataSchema = z
  .union([z.array(videoItemSchema.catch({})), videoItemSchema])
  .nullish()
  .catch(undefined);

/** The final `/<service>/videos` answer (or callback body) stored under a task record's `response`. */
export const taskResponseSchema = z.looseObject({
  success: z.boolean().nullish(),
  task_id: optionalString,
  trace_id: optionalString,
  state: optionalString,
  status: optionalString,
  // Kling, Wan, Luma: the answer is flat.
  video_url: optionalString,
  data: dataSchema,
  error: z.union([errorObjectSchema, z.string()]).nullish(),
});

/** A stored task record as `/<service>/tasks` returns it (docs/acedata-contract.md §5.2). */
export const taskRecordSchema = z.looseObject({
  id: optionalString,
  trace_id: optionalString,
  created_at: z.union([z.number(), z.string()]).nullish(),
  state: optionalString,
  status: optionalString,
  request: z.record(z.string(), z.unknown()).nullish(),
  response: taskResponseSchema.nullish(),
});

/** A task record after tolerant parsing. */
export type TaskRecord = z.infer<typeof taskRecordSchema>;

/** `/<service>/videos` answer: async `{task_id}` (with or without `success`), or a sync shape. */
export const submitResponseSchema = z.looseObject({
  task_id: z.string().min(1),
  success: z.boolean().nullish(),
  trace_id: optionalString,
  data: dataSchema,
});

/** `retrieve_batch` answer; items are validated one by one so one odd item cannot sink the batch. */
export const batchResponseSchema = z.looseObject({
  items: z.array(z.unknown()).nullable(),
  count: z.number().nullish(),
  total: z.number().nullish(),
});

const errorBodySchema = z.looseObject({
  error: z.union([errorObjectSchema, z.string()]).nullish(),
  // Legacy top-level code, still checked by the vendor's own web app (docs/acedata-contract.md §6.1).
  code: z.union([z.string(), z.number()]).nullish(),
  message: optionalString,
  trace_id: optionalString,
});

/** What an error body says, whichever of the known shapes it uses. */
export interface ErrorBodyDetails {
  code?: string;
  message?: string;
  traceId?: string;
}

const CODE_LIKE = /^[a-z][a-z0-9_]*$/;

/** Reads `error.code`/`error.message`, a legacy top-level `code`, or a bare-string `error`. */
export function readErrorBody(body: unknown): ErrorBodyDetails {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return {};
  const { error, code, message, trace_id: traceId } = parsed.data;
  const details: ErrorBodyDetails = {};
  if (typeof error === 'string') {
    if (CODE_LIKE.test(error)) details.code = error;
    details.message = error;
  } else if (error) {
    if (error.code !== undefined && error.code !== null && String(error.code) !== '') details.code = String(error.code);
    if (error.message) details.message = error.message;
  }
  if (details.code === undefined && code !== undefined && code !== null && String(code) !== '') {
    details.code = String(code);
  }
  if (details.message === undefined && message) details.message = message;
  if (traceId) details.traceId = traceId;
  return details;
}

/** Whether a 2xx body is an error answer rather than the expected payload. */
export function isErrorOnlyBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const record = body as Record<string, unknown>;
  const hasError = (record.error !== undefined && record.error !== null) || record.success === false;
  return hasError && !('id' in record) && !('response' in record) && !('task_id' in record) && !('items' in record);
}

/** Whether a `retrieve_batch` answer is Seedance's `{}` for ids it does not know (nothing found). */
export function isEmptyAnswer(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0;
}

const FAILED_WORDS = new Set(['failed', 'failure', 'error', 'cancelled', 'canceled', 'rejected']);
// `succeed`: Kling; `completed`: Wan and Luma; Seedance says `succeeded` under `status`.
const SUCCEEDED_WORDS = new Set(['succeeded', 'succeed', 'success', 'completed', 'complete', 'finished']);

type TaskResponse = NonNullable<TaskRecord['response']>;
type VideoItem = z.infer<typeof videoItemSchema>;

function dataItems(response: TaskResponse): VideoItem[] {
  const data = response.data;
  if (!data) return [];
  return Array.isArray(data) ? data : [data];
}

function stateWords(record: TaskRecord): string[] {
  const words = [record.state, record.status];
  const response = record.response;
  if (response) {
    words.push(response.state, response.status);
    for (const item of dataItems(response)) words.push(item.state, item.status);
  }
  return words.filter((word): word is string => typeof word === 'string').map((word) => word.trim().toLowerCase());
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/** The video URL, looked for at `video_url`, `data[i].video_url`, `data[i].content.video_url`, `data.video_url`. */
function firstVideoUrl(record: TaskRecord): string | undefined {
  const response = record.response;
  if (!response) return undefined;
  const candidates = [response.video_url];
  for (const item of dataItems(response)) candidates.push(item.video_url, item.content?.video_url);
  for (const candidate of candidates) {
    const url = candidate?.trim();
    if (url && isHttpUrl(url)) return url;
  }
  return undefined;
}

function failure(record: TaskRecord, stateWord: string | undefined): RemoteStatus {
  const details = readErrorBody(record.response ?? {});
  const cancelled = stateWord === 'cancelled' || stateWord === 'canceled';
  return {
    kind: 'failed',
    code: details.code ?? (cancelled ? 'cancelled' : 'generation_failed'),
    message: details.message ?? (cancelled ? 'The generation was cancelled.' : 'The generation failed.'),
  };
}

const NO_OUTPUT: RemoteStatus = {
  kind: 'failed',
  code: 'no_output',
  message: 'The generation ended without output.',
};

/**
 * Classifies a task record of any service as docs/acedata-contract.md §5.3 describes: no `response` is pending
 * (so is Seedance's `{}` for an unknown id), a `response` without `success` is still running,
 * `success: true` with a video URL is done, `success: false` or a failure state word is failed, and a
 * success without a URL is failed ("ended without output").
 */
export function classifyTaskRecord(record: TaskRecord): RemoteStatus {
  return classifyRecord(record);
}

/**
 * Reads a provider callback body (the shape of a synchronous `/<service>/videos` answer: flat for
 * Kling, Wan and Luma, `data`-shaped for the others; docs/acedata-contract.md §4): its
 * `task_id` and what it says about the task; undefined when it is not such a body. A failure may come
 * without `task_id` (the non-Sora services' only documented failure body is `{success: false, error,
 * trace_id}`): the per-task secret in the callback URL already says which task it is.
 */
export function classifyCallbackBody(body: unknown): { providerTaskId?: string; status: RemoteStatus } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const taskId = (body as { task_id?: unknown }).task_id;
  const hasTaskId = typeof taskId === 'string' && taskId.length > 0;
  if (!hasTaskId && (body as { success?: unknown }).success !== false) return undefined;
  const parsed = taskRecordSchema.safeParse({ id: hasTaskId ? taskId : 'unknown', response: body });
  if (!parsed.success) return undefined;
  const status = classifyRecord(parsed.data);
  return hasTaskId ? { providerTaskId: taskId, status } : { status };
}

function classifyRecord(record: TaskRecord): RemoteStatus {
  const words = stateWords(record);
  const failedWord = words.find((word) => FAILED_WORDS.has(word));
  const response = record.response;
  if (response?.success === false || failedWord !== undefined) return failure(record, failedWord);
  if (!response) return { kind: 'pending' };

  const videoUrl = firstVideoUrl(record);
  if (response.success === true) return videoUrl ? { kind: 'succeeded', videoUrl } : NO_OUTPUT;
  if (words.some((word) => SUCCEEDED_WORDS.has(word))) {
    return videoUrl ? { kind: 'succeeded', videoUrl } : NO_OUTPUT;
  }
  return { kind: 'pending' };
}
