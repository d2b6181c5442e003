import { Agent, request, type Dispatcher } from 'undici';
import { SoraApiError, errorFromHttpAnswer, sanitizeMessage } from './errors.js';
import { batchResponseSchema, isEmptyAnswer, isErrorOnlyBody, submitResponseSchema, taskRecordSchema, type TaskRecord } from './wire.js';

/** The most ids one `retrieve_batch` call carries (the vendor's MCP server suggests about 50). */
export const RETRIEVE_BATCH_MAX_IDS = 50;

const SORA_SUBMIT_PATH = 'sora/videos';
const SORA_TASKS_PATH = 'sora/tasks';

// A batch of 50 records is far below this; the cap only guards against a misbehaving proxy.
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** Options of createSoraClient (alias createAceDataClient). */
export interface SoraClientOptions {
  /** API base, e.g. `https://api.acedata.cloud` (a path prefix is kept). */
  baseUrl: string;
  apiToken: string;
  /** Deadline for one whole request, body included. */
  requestTimeoutMs: number;
  /** Transport to use instead of the client's own keep-alive Agent (not closed by `close()`). */
  dispatcher?: Dispatcher;
}

/** Body fields of `POST /sora/videos`; `async: true` is always added. */
export interface SubmitBody {
  prompt: string;
  model: string;
  duration: number;
  orientation: string;
  size: string;
  image_urls?: string[];
  callback_url?: string;
}

/** What a submit returned. */
export interface SubmitResult {
  taskId: string;
  traceId?: string;
}

/**
 * A thin Ace Data Cloud client: one HTTP request per call, no retries, no logging. One client (one
 * connection pool, one token) serves every video service: the `…To`/`…At` calls take the service's
 * path (relative to the base URL, e.g. `veo/videos`, as `SERVICES[id].submitPath`/`tasksPath` give it);
 * `submit`, `retrieve` and `retrieveBatch` are the same calls on Sora's paths.
 */
export interface SoraClient {
  /** `POST <submitPath>` with the payload plus `async: true`; reads `task_id`. */
  submitTo(submitPath: string, payload: Readonly<Record<string, unknown>>): Promise<SubmitResult>;
  /** `POST <tasksPath>` `{id, action: 'retrieve'}`; an unknown id may answer a record without `response` (or `{}`). */
  retrieveAt(tasksPath: string, id: string): Promise<TaskRecord>;
  /**
   * `POST <tasksPath>` `{ids, action: 'retrieve_batch'}`, split into calls of at most `maxIds`
   * (default RETRIEVE_BATCH_MAX_IDS) ids. Records are keyed by `id`; ids the API did not return are
   * absent (an empty `{}` answer returns none).
   */
  retrieveBatchAt(tasksPath: string, ids: readonly string[], maxIds?: number): Promise<Map<string, TaskRecord>>;
  /** `POST /sora/videos` with `async: true`. */
  submit(body: SubmitBody): Promise<SubmitResult>;
  /** `POST /sora/tasks` `{id, action: 'retrieve'}`. */
  retrieve(id: string): Promise<TaskRecord>;
  /** `POST /sora/tasks` `{ids, action: 'retrieve_batch'}` in calls of at most RETRIEVE_BATCH_MAX_IDS ids. */
  retrieveBatch(ids: readonly string[]): Promise<Map<string, TaskRecord>>;
  /** Closes the client's own connection pool. */
  close(): Promise<void>;
}

/** The client under the name the multi-service code uses. */
export type AceDataClient = SoraClient;

interface Answer {
  status: number;
  body: unknown;
}

/** Creates a client that throws SoraApiError for every failed call. */
export function createSoraClient(options: SoraClientOptions): SoraClient {
  const { apiToken, requestTimeoutMs } = options;
  const secrets = [apiToken];
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  // Our own Agent: the global dispatcher belongs to discord.js and to whoever else set it.
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({
        keepAliveTimeout: 30_000,
        connect: { timeout: Math.min(requestTimeoutMs, 10_000) },
      });
  const dispatcher: Dispatcher = options.dispatcher ?? (ownAgent as Agent);
  const headers = {
    authorization: `Bearer ${apiToken}`,
    'content-type': 'application/json',
    accept: 'application/json',
  };

  function transportError(error: unknown, path: string, timedOut: boolean, status?: number): SoraApiError {
    const errorCode = (error as { code?: unknown } | null)?.code;
    const isTimeout =
      timedOut ||
      errorCode === 'UND_ERR_HEADERS_TIMEOUT' ||
      errorCode === 'UND_ERR_BODY_TIMEOUT' ||
      errorCode === 'UND_ERR_CONNECT_TIMEOUT';
    if (isTimeout) {
      return new SoraApiError({
        code: 'timeout',
        message: `Request to ${path} timed out after ${requestTimeoutMs} ms.`,
        status,
        retryable: true,
      });
    }
    const detail = error instanceof Error ? `${typeof errorCode === 'string' ? `${errorCode}: ` : ''}${error.message}` : String(error);
    return new SoraApiError({
      code: 'network_error',
      message: sanitizeMessage(`Request to ${path} failed: ${detail}`, secrets),
      status,
      retryable: true,
    });
  }

  async function post(rawPath: string, payload: unknown): Promise<Answer> {
    // Relative to the base, prefix kept: a leading slash would replace the base URL's own path.
    const path = rawPath.replace(/^\/+/, '');
    const url = new URL(path, base);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, requestTimeoutMs);
    try {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(payload),
          dispatcher,
          signal: controller.signal,
          headersTimeout: requestTimeoutMs,
          bodyTimeout: requestTimeoutMs,
        });
      } catch (error) {
        throw transportError(error, path, timedOut);
      }
      const status = response.statusCode;
      let text: string;
      try {
        text = await readBody(response.body);
      } catch (error) {
        if (error instanceof SoraApiError) throw error;
        throw transportError(error, path, timedOut, status);
      }
      let body: unknown;
      let parsed = true;
      try {
        body = JSON.parse(text);
      } catch {
        parsed = false;
      }
      const retryAfter = response.headers['retry-after'];
      if (status < 200 || status >= 300) {
        throw errorFromHttpAnswer({ status, retryAfter, body: parsed ? body : undefined, secrets });
      }
      if (!parsed) throw malformed(path, status, 'is not JSON');
      if (isErrorOnlyBody(body)) throw errorFromHttpAnswer({ status, retryAfter, body, secrets });
      return { status, body };
    } finally {
      clearTimeout(timer);
    }
  }

  async function submitTo(submitPath: string, payload: Readonly<Record<string, unknown>>): Promise<SubmitResult> {
    const answer = await post(submitPath, { ...payload, async: true });
    const parsed = submitResponseSchema.safeParse(answer.body);
    if (!parsed.success) throw malformed(submitPath, answer.status, 'has no task_id');
    const traceId = parsed.data.trace_id ?? undefined;
    return traceId ? { taskId: parsed.data.task_id, traceId } : { taskId: parsed.data.task_id };
  }

  async function retrieveAt(tasksPath: string, id: string): Promise<TaskRecord> {
    const answer = await post(tasksPath, { id, action: 'retrieve' });
    const parsed = taskRecordSchema.safeParse(answer.body);
    if (!parsed.success) throw malformed(tasksPath, answer.status, 'is not a task record');
    return parsed.data;
  }

  async function retrieveBatchAt(
    tasksPath: string,
    ids: readonly string[],
    maxIds: number = RETRIEVE_BATCH_MAX_IDS,
  ): Promise<Map<string, TaskRecord>> {
    const perCall = Math.max(1, Math.floor(maxIds));
    const wanted = [...new Set(ids)];
    const records = new Map<string, TaskRecord>();
    for (let start = 0; start < wanted.length; start += perCall) {
      const chunk = wanted.slice(start, start + perCall);
      const answer = await post(tasksPath, { ids: chunk, action: 'retrieve_batch' });
      // Seedance answers `{}` when none of the ids exists: nothing found, not a malformed answer.
      if (isEmptyAnswer(answer.body)) continue;
      const parsed = batchResponseSchema.safeParse(answer.body);
      if (!parsed.success) throw malformed(tasksPath, answer.status, 'is not a batch answer');
      const asked = new Set(chunk);
      for (const item of parsed.data.items ?? []) {
        const record = taskRecordSchema.safeParse(item);
        // An unreadable item is left out: its task stays pending until a later poll reads it.
        if (!record.success) continue;
        const id = record.data.id;
        if (typeof id !== 'string' || !asked.has(id)) continue;
        const previous = records.get(id);
        if (!previous || progressRank(record.data) > progressRank(previous)) records.set(id, record.data);
      }
    }
    return records;
  }

  return {
    submitTo,
    retrieveAt,
    retrieveBatchAt,

    submit(body) {
      // Field order as the bot always sent it (the body is compared byte for byte in tests).
      const payload: Record<string, unknown> = {
        prompt: body.prompt,
        model: body.model,
        duration: body.duration,
        orientation: body.orientation,
        size: body.size,
      };
      if (body.image_urls !== undefined) payload.image_urls = body.image_urls;
      if (body.callback_url !== undefined) payload.callback_url = body.callback_url;
      return submitTo(SORA_SUBMIT_PATH, payload);
    },

    retrieve(id) {
      return retrieveAt(SORA_TASKS_PATH, id);
    },

    retrieveBatch(ids) {
      return retrieveBatchAt(SORA_TASKS_PATH, ids, RETRIEVE_BATCH_MAX_IDS);
    },

    async close() {
      await ownAgent?.close();
    },
  };
}

// Repeated items may disagree; the one that got furthest wins (finished > running > queued).
function progressRank(record: TaskRecord): number {
  const response = record.response;
  if (!response) return 0;
  return response.success === true || response.success === false ? 2 : 1;
}

function malformed(path: string, status: number, what: string): SoraApiError {
  return new SoraApiError({
    code: 'malformed_response',
    message: `The answer to ${path} (HTTP ${status}) ${what}.`,
    status,
    retryable: true,
  });
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new SoraApiError({
        code: 'malformed_response',
        message: `The answer is larger than ${MAX_RESPONSE_BYTES} bytes.`,
        retryable: true,
      });
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The client of every Ace Data Cloud video service (the same function as createSoraClient). */
export const createAceDataClient: (options: SoraClientOptions) => AceDataClient = createSoraClient;
