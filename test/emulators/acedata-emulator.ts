/**
 * A local Ace Data Cloud video API on 127.0.0.1 for unit tests, the end-to-end suite and benchmarks.
 *
 * It speaks seven services, each at `POST /<service>/videos` (submit) and `POST /<service>/tasks`
 * (`retrieve` / `retrieve_batch`), with its own validation and answer shapes (`acedata-services.ts`):
 * - `sora`: `test/fixtures/sora/` (sora-api.md), unchanged from the Sora-only emulator.
 * - `veo`, `kling`, `seedance`, `hailuo`, `wan`, `luma`: `video-apis.md` sections 1–9 and its
 *   `fixtures/<service>/`. Success bodies: Veo and Hailuo `{success, task_id, trace_id, data: [{…,
 *   video_url, state: 'succeeded'}]}`; Seedance `data` is an object (`status: 'succeeded'`); Kling
 *   (`state: 'succeed'`, `duration` a string), Wan (`state: 'completed'`) and Luma (`state:
 *   'completed'`, `video_id`, thumbnail) are flat.
 * Shared by all: the gateway error envelope `{error: {code, message}, trace_id}`, the task record
 * `{_id, id, api_id, application_id, created_at, credential_id, request, trace_id, type, user_id,
 * response?}`, callbacks carrying the final body, and the knobs below.
 *
 * Where the vendor documents nothing, the emulator makes a choice and says so here:
 * - Unknown task id: `retrieve` answers HTTP 200 with `{}` (no `id`, no `response`), or a 404
 *   `not_found` error with `unknownTaskMode: 'not_found'`; `retrieve_batch` leaves unknown ids out.
 *   A task of another service counts as unknown on a service's tasks path.
 * - `retrieve_batch` answers one item per asked id (a repeated id gives a repeated item, as in the
 *   vendor's example) and refuses more than `maxBatchIds` ids (default 50) with 400 `bad_request`.
 * - A running Sora task has no `response` for its queue time, then `response: {data: [{state: 'pending'}]}`.
 *   A running task of the other services has no `response` at all until it ends (their docs show
 *   no intermediate state); Seedance's `started_at` turns from null to a time after the queue time.
 * - Failed tasks: Sora `{success: false, task_id, trace_id, error}`; the others
 *   `{success: false, error: {code, message}, trace_id}` (their guides' only failure example).
 * - A submit without `async` and without `callback_url` is answered synchronously when the task
 *   finishes; a failed one answers HTTP 200 with the failed body, for every service.
 * - Record extras: Kling `job_id`, then `duration` (task seconds) and `finished_at`; Seedance
 *   `started_at`, `finished_at`, `elapsed` (null while running); Wan and Luma `finished_at` once ended.
 * - Ids in the success bodies derive from the task id, so every read of a task gives the same ones.
 *   Veo times are UTC `YYYY-MM-DD HH:MM:SS`; Seedance's `data.task_id` is `cgt-<UTC stamp>-<5 chars>`,
 *   `data.duration` / `resolution` / `ratio` echo the request or 5 / `720p` / `16:9`; Kling's
 *   `duration` is the requested one (default `'5'`); Wan's `video_url` carries a fake signed query
 *   (`Expires`, `OSSAccessKeyId`, `Signature`) like its upstream URLs; Luma's dimensions follow
 *   `aspect_ratio` (16:9 → 1360×752) and its thumbnail is served at `/videos/<id>.jpg`.
 * - Defaults when `model` is left out: Veo `veo2-fast`, Kling `kling-v1`, Hailuo `minimax-t2v`
 *   (their OAS); Sora, Seedance and Wan require it; Luma refuses one.
 * - Validation is strict where the docs give a rule, and refuses fields given to the wrong
 *   action/model (Veo/Kling images with text2video, Hailuo `first_image_url` with t2v, Wan
 *   `image_url` except with i2v / i2v-flash, `reference_video_urls` except with r2v, where it is required).
 *   Veo and Kling take only text2video / image2video (not get1080p / extend); Veo text2video needs a
 *   prompt and no images, image2video 1–3 images (veo2-fast 1), ingredients only image2video; Kling
 *   text2video needs a prompt; Hailuo needs a prompt and an http(s) `first_image_url` with both i2v
 *   models; Seedance refuses `action` and `prompt`, applies the guide's per-model durations (1.0:
 *   2–12, 1.5: 4–12 or −1, 2.0: 4–15 or −1, 2.5: 4–30 or −1) and resolutions (2.0 Fast/Mini ≤ 720p,
 *   4k only 2.0 Standard), takes `data:image/…;base64,` image URLs and refuses unknown item keys;
 *   Wan's longer `negative_prompt` is accepted (documented as truncated); Luma `generate` needs a
 *   prompt or `start_image_url`, `extend` a `video_id` or `video_url`, and `timeout` is not enforced.
 *   Wan and Luma refuse with their one documented message, "The json payload is not valid to request
 *   the API"; the others name the field.
 * - `maxConcurrentGenerations` and `submitMinIntervalMs` count per service (the vendor's limits are
 *   per API); `stats().running` and `maxRunning` count all services.
 * - Retired services or models (`unavailable`, `setUnavailable`): `no_api` and `http_404` answer
 *   before authentication, like an unknown path; `api_not_implemented` and `disabled` after it;
 *   `invalid_model` in place of validation, after the `used_up` check. A `service:model` key matches
 *   the submit's model (the default one when left out) and applies only to the submit path; a
 *   service key wins over a model key. Service `disabled` is 400 (the OAS; an account disabled
 *   stays 403), with a message of the emulator's own.
 * - Callbacks are POSTed once, without retries, and recorded in `callbacks`.
 * - Faults act at the gateway: they apply before authentication and validation.
 * - Videos at `GET /videos/<id>.mp4` need no token (a CDN); they exist once the task succeeded.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Agent, request } from 'undici';
import {
  HttpError,
  SERVICES,
  UNAVAILABLE_MODES,
  isObject,
  isVideoService,
  type UnavailableMode,
  type VideoService,
} from './acedata-services.js';

export { VIDEO_SERVICES, type UnavailableMode, type VideoService } from './acedata-services.js';

/** Token the emulator expects unless told otherwise. */
export const EMULATOR_API_TOKEN = 'emulator-acedata-token';

/** How a task ends and how long it takes. */
export interface TaskPlan {
  outcome: 'succeeded' | 'failed';
  /** From submit to the final state. */
  generationTimeMs: number;
  /** The first part of the generation time during which the record has no `response`. */
  queueTimeMs: number;
  /** For failed tasks. */
  errorCode: string;
  errorMessage: string;
  /** Size of the served video. */
  videoBytes: number;
}

/** Decides a task's plan from its submit body; fields left out take the emulator's defaults. */
export type TaskPlanner = (
  body: Record<string, unknown>,
  context: { index: number; service: VideoService },
) => Partial<TaskPlan> | undefined;

/** A scripted fault for the next request(s) on a path. */
export type EmulatorFault =
  /** Answer with this status and body (JSON unless `rawBody`) instead of the real answer. */
  | { kind: 'respond'; status: number; body?: unknown; rawBody?: string; headers?: Record<string, string> }
  /** Answer with a body that is not valid JSON (status 200 unless given). */
  | { kind: 'malformed'; status?: number }
  /** Wait, then answer normally (the request is processed even when the client gave up). */
  | { kind: 'delay'; delayMs: number }
  /** Close the connection without an answer; with `afterProcessing` the request takes effect first. */
  | { kind: 'drop'; afterProcessing?: boolean }
  /**
   * Videos only (`GET /videos/<id>.mp4`, see VIDEO_DOWNLOAD_PATH): answer the headers and the first
   * `afterBytes` (default 0) bytes, then send nothing more until the client gives up (a CDN that
   * hangs mid-body). Elsewhere it answers normally.
   */
  | { kind: 'stall'; afterBytes?: number };

/** Account modes that change every answer, like the real gateway would. */
export type AccountState = 'ok' | 'used_up' | 'invalid_token' | 'disabled';

/** One recorded HTTP request. */
export interface RecordedRequest {
  /** Arrival time, `Date.now()`. */
  timeMs: number;
  method: string;
  path: string;
  /** The parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  /** Whether `authorization` carried the expected token. */
  authorized: boolean;
  /** Request headers without `authorization`. */
  headers: Record<string, string>;
  /** Status answered; 0 until answered, and for a dropped connection. */
  status: number;
  /** The fault that was applied, if any. */
  fault?: EmulatorFault['kind'];
}

/** A recorded callback delivery. */
export interface CallbackDelivery {
  timeMs: number;
  url: string;
  body: unknown;
  /** Status the receiver answered, undefined when the delivery failed. */
  status?: number;
  error?: string;
}

/** A task as the emulator holds it. */
export interface EmulatedTask {
  readonly id: string;
  /** The service it was submitted to; only `/<service>/tasks` shows it. */
  readonly service: VideoService;
  /** Submit order, from 0 (over all services). */
  readonly index: number;
  readonly traceId: string;
  /** The submit body as received. */
  readonly request: Record<string, unknown>;
  readonly submittedAtMs: number;
  readonly plan: TaskPlan;
  state: 'running' | 'succeeded' | 'failed';
  finishedAtMs: number | undefined;
}

/** Options of startAceDataEmulator; everything has a default. */
export interface AceDataEmulatorOptions {
  apiToken?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default 200 ms. */
  generationTimeMs?: number;
  /** Default: half the generation time. */
  queueTimeMs?: number;
  /** Default 64 KiB. */
  videoBytes?: number;
  planner?: TaskPlanner;
  unknownTaskMode?: 'empty' | 'not_found';
  /** Default 50. */
  maxBatchIds?: number;
  /** When set, more running tasks of one service than this answer 429 `rate_limited` (the per-token concurrency limit). */
  maxConcurrentGenerations?: number;
  /** When set, submits to one service closer together than this answer 429 `too_many_requests`. */
  submitMinIntervalMs?: number;
  /**
   * Retired or unavailable services (`'sora'`) and models (`'veo:veo3'`) and how they answer; see
   * UnavailableMode. Change it later with `setUnavailable`.
   */
  unavailable?: Partial<Record<string, UnavailableMode>>;
  /** Refuse `size: large` with `sora-2` (one reading of the docs); default false. */
  rejectLargeWithSora2?: boolean;
  /** Base of `video_url`s; default the emulator's own URL. */
  videoBaseUrl?: string;
  /** Default true. */
  recordRequests?: boolean;
}

/** A running emulator. */
export interface AceDataEmulator {
  /** `http://127.0.0.1:<port>`, the value for ACEDATA_BASE_URL. */
  readonly url: string;
  readonly apiToken: string;
  /** Every request, in arrival order (live array). */
  readonly requests: RecordedRequest[];
  /** Every task by id (live map). */
  readonly tasks: ReadonlyMap<string, EmulatedTask>;
  /** Every callback delivery (live array). */
  readonly callbacks: CallbackDelivery[];
  /** Recorded requests on one path. */
  requestsTo(path: string): RecordedRequest[];
  clearRequests(): void;
  /** Applies to tasks submitted from now on. */
  setGenerationTimeMs(ms: number): void;
  setTaskPlanner(planner: TaskPlanner | undefined): void;
  setAccountState(state: AccountState): void;
  /** Plays a retired service (`'sora'`) or model (`'veo:veo3'`) from now on; undefined serves it again. */
  setUnavailable(key: string, mode: UnavailableMode | undefined): void;
  /** Scripts `fault` for the next `times` requests whose path equals `path` (or matches it). */
  failNext(path: string | RegExp, fault: EmulatorFault, times?: number): void;
  clearFaults(): void;
  /** Ends a running task now, with its planned outcome unless given. */
  finishTask(id: string, outcome?: Partial<Pick<TaskPlan, 'outcome' | 'errorCode' | 'errorMessage'>>): void;
  /** The task record `/<service>/tasks` of the task's own service would answer now. */
  recordOf(id: string): Record<string, unknown> | undefined;
  /** Counters for benchmarks. */
  stats(): EmulatorStats;
  close(): Promise<void>;
}

/** Counters of an emulator run. */
export interface EmulatorStats {
  submitted: number;
  running: number;
  succeeded: number;
  failed: number;
  /** The most tasks that were running at once. */
  maxRunning: number;
  requests: number;
}

/** Builds a `respond` fault with the documented error body `{error: {code, message}, trace_id}`. */
export function apiErrorFault(
  status: number,
  code: string,
  message = `emulated ${code}`,
  options: { retryAfter?: string | number } = {},
): EmulatorFault {
  const headers: Record<string, string> = {};
  if (options.retryAfter !== undefined) headers['retry-after'] = String(options.retryAfter);
  return { kind: 'respond', status, body: { error: { code, message }, trace_id: randomUUID() }, headers };
}

const MAX_REQUEST_BYTES = 1024 * 1024;
const VIDEO_CHUNK_BYTES = 64 * 1024;
const CALLBACK_TIMEOUT_MS = 5_000;
/** What a proxy answers for a removed route (`http_404`). */
const NOT_FOUND_PAGE =
  '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

// Thumbnails (Luma's `thumbnail_url`): the bytes at least start and end like a JPEG (SOI, JFIF APP0, EOI).
const THUMBNAIL = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
  Buffer.from('JFIF\0', 'latin1'),
  Buffer.from([0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9]),
]);

// One shared chunk serves every video, so thousands of tasks cost no video memory.
const VIDEO_CHUNK = Buffer.alloc(VIDEO_CHUNK_BYTES, 0x2e);
const VIDEO_HEAD = Buffer.concat([
  // A minimal `ftyp` box so the bytes at least start like an MP4.
  Buffer.from([0, 0, 0, 0x18]),
  Buffer.from('ftypmp42', 'ascii'),
  Buffer.from([0, 0, 0, 0]),
  Buffer.from('mp42isom', 'ascii'),
  VIDEO_CHUNK.subarray(0, VIDEO_CHUNK_BYTES - 24),
]);

type Reply =
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'raw'; status: number; text: string | Buffer; headers?: Record<string, string> }
  | { kind: 'video'; bytes: number; head: boolean; stallAfterBytes?: number }
  | { kind: 'drop' };

interface TaskInternals {
  timer?: NodeJS.Timeout;
  waiters: Array<() => void>;
}

function errorReply(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Reply {
  return { kind: 'json', status, body: { ...extra, error: { code, message }, trace_id: randomUUID() } };
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Starts the emulator on 127.0.0.1. */
export async function startAceDataEmulator(options: AceDataEmulatorOptions = {}): Promise<AceDataEmulator> {
  const apiToken = options.apiToken ?? EMULATOR_API_TOKEN;
  const recordRequests = options.recordRequests ?? true;
  const maxBatchIds = options.maxBatchIds ?? 50;
  const unknownTaskMode = options.unknownTaskMode ?? 'empty';
  let generationTimeMs = options.generationTimeMs ?? 200;
  let planner = options.planner;
  let accountState: AccountState = 'ok';
  let closed = false;
  const lastSubmitAtMs = new Map<VideoService, number>();
  const runningByService = new Map<VideoService, number>();
  const unavailable = new Map<string, UnavailableMode>();
  for (const [key, mode] of Object.entries(options.unavailable ?? {})) setUnavailable(key, mode);
  let running = 0;
  let maxRunning = 0;
  let requestCount = 0;

  const ids = {
    apiId: randomUUID(),
    applicationId: randomUUID(),
    credentialId: randomUUID(),
    userId: randomUUID(),
  };
  const requests: RecordedRequest[] = [];
  const callbacks: CallbackDelivery[] = [];
  const tasks = new Map<string, EmulatedTask>();
  const internals = new Map<string, TaskInternals>();
  const faults: Array<{ path: string | RegExp; fault: EmulatorFault; remaining: number }> = [];
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const callbackAgent = new Agent({ keepAliveTimeout: 1_000 });
  const pendingCallbacks = new Set<Promise<void>>();

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.statusCode = 500;
        res.end();
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 10_000;
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const videoBaseUrl = (options.videoBaseUrl ?? url).replace(/\/$/, '');

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          sleepers.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      sleepers.add(sleeper);
    });
  }

  function takeFault(path: string): EmulatorFault | undefined {
    const index = faults.findIndex((entry) => (typeof entry.path === 'string' ? entry.path === path : entry.path.test(path)));
    if (index === -1) return undefined;
    const entry = faults[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) faults.splice(index, 1);
    return entry.fault;
  }

  async function readRequestBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_REQUEST_BYTES) throw new HttpError(413, 'content_too_large', 'Request body is too large.');
      chunks.push(buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requestCount += 1;
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', url).pathname;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name !== 'authorization' && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const entry: RecordedRequest = {
      timeMs: Date.now(),
      method,
      path,
      body: undefined,
      authorized: req.headers.authorization === `Bearer ${apiToken}`,
      headers,
      status: 0,
    };
    if (recordRequests) requests.push(entry);

    let text: string;
    try {
      text = await readRequestBody(req);
    } catch (error) {
      if (error instanceof HttpError) return send(res, entry, errorReply(error.status, error.code, error.message));
      throw error;
    }
    let json: unknown;
    let isJson = false;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
        isJson = true;
      } catch {
        json = undefined;
      }
      entry.body = isJson ? json : text;
    }

    const fault = takeFault(path);
    if (fault) entry.fault = fault.kind;
    if (fault?.kind === 'respond') {
      const reply: Reply =
        fault.rawBody !== undefined
          ? { kind: 'raw', status: fault.status, text: fault.rawBody, headers: { 'content-type': 'text/html', ...fault.headers } }
          : { kind: 'json', status: fault.status, body: fault.body ?? {}, headers: fault.headers ?? {} };
      return send(res, entry, reply);
    }
    if (fault?.kind === 'malformed') {
      return send(res, entry, {
        kind: 'raw',
        status: fault.status ?? 200,
        text: '{"task_id": "',
        headers: { 'content-type': 'application/json' },
      });
    }
    if (fault?.kind === 'drop' && !fault.afterProcessing) return send(res, entry, { kind: 'drop' });
    if (fault?.kind === 'delay') {
      await sleep(fault.delayMs);
      if (closed) return;
    }

    const reply = await route(req, method, path, isJson ? json : undefined);
    if (closed) return;
    if (fault?.kind === 'drop') return send(res, entry, { kind: 'drop' });
    if (fault?.kind === 'stall' && reply.kind === 'video') return send(res, entry, { ...reply, stallAfterBytes: fault.afterBytes ?? 0 });
    return send(res, entry, reply);
  }

  async function send(res: ServerResponse, entry: RecordedRequest, reply: Reply): Promise<void> {
    if (res.destroyed) return;
    if (reply.kind === 'drop') {
      res.socket?.destroy();
      res.destroy();
      return;
    }
    if (reply.kind === 'json' || reply.kind === 'raw') {
      const payload = reply.kind === 'json' ? JSON.stringify(reply.body) : reply.text;
      entry.status = reply.status;
      res.writeHead(reply.status, {
        'content-type': 'application/json; charset=utf-8',
        ...reply.headers,
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
      return;
    }
    entry.status = 200;
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': reply.bytes, 'accept-ranges': 'none' });
    if (reply.head) {
      res.end();
      return;
    }
    let remaining = reply.bytes;
    let first = true;
    // A stalled answer sends its first bytes, then holds the connection until the client (or close()) ends it.
    let sendable = Math.min(reply.bytes, reply.stallAfterBytes ?? reply.bytes);
    while (sendable > 0 && !res.destroyed) {
      const source = first ? VIDEO_HEAD : VIDEO_CHUNK;
      first = false;
      const piece = source.subarray(0, Math.min(sendable, VIDEO_CHUNK_BYTES));
      remaining -= piece.length;
      sendable -= piece.length;
      if (!res.write(piece)) await drainOrClose(res);
    }
    if (remaining > 0 && !res.destroyed) {
      res.flushHeaders();
      await once(res, 'close');
      return;
    }
    res.end();
  }

  function setUnavailable(key: string, mode: UnavailableMode | undefined): void {
    const service = key.split(':', 1)[0]!;
    if (!isVideoService(service)) throw new Error(`unknown service in ${JSON.stringify(key)}`);
    if (mode === undefined) {
      unavailable.delete(key);
      return;
    }
    if (!UNAVAILABLE_MODES.includes(mode)) throw new Error(`unknown unavailable mode ${JSON.stringify(mode)}`);
    unavailable.set(key, mode);
  }

  /** How a retired service or model answers this request, if it is one. */
  function unavailableMode(service: VideoService, isSubmit: boolean, body: unknown): UnavailableMode | undefined {
    const serviceMode = unavailable.get(service);
    if (!isSubmit) return serviceMode === 'disabled' || serviceMode === 'invalid_model' ? undefined : serviceMode;
    if (serviceMode !== undefined) return serviceMode;
    const model = isObject(body) ? SERVICES[service].model(body) : undefined;
    return model === undefined ? undefined : unavailable.get(`${service}:${model}`);
  }

  async function route(req: IncomingMessage, method: string, path: string, body: unknown): Promise<Reply> {
    const video = /^\/videos\/([^/]+)\.(mp4|jpg)$/.exec(path);
    if (video && (method === 'GET' || method === 'HEAD')) {
      const task = tasks.get(decodeURIComponent(video[1]!));
      if (!task || task.state !== 'succeeded') return errorReply(404, 'not_found', 'Video not found.');
      // Node leaves the body out of an answer to HEAD.
      if (video[2] === 'jpg') return { kind: 'raw', status: 200, text: THUMBNAIL, headers: { 'content-type': 'image/jpeg' } };
      return { kind: 'video', bytes: task.plan.videoBytes, head: method === 'HEAD' };
    }
    const api = /^\/([a-z]+)\/(videos|tasks)$/.exec(path);
    const name = api?.[1];
    const service = name !== undefined && isVideoService(name) ? name : undefined;
    if (method !== 'POST' || service === undefined) {
      return errorReply(404, 'no_api', 'API does not exist, please make sure url is correct.');
    }
    const isSubmit = api?.[2] === 'videos';
    const retired = unavailableMode(service, isSubmit, body);
    if (retired === 'no_api') return errorReply(404, 'no_api', 'API does not exist, please make sure url is correct.');
    if (retired === 'http_404') return { kind: 'raw', status: 404, text: NOT_FOUND_PAGE, headers: { 'content-type': 'text/html' } };

    const authorization = req.headers.authorization;
    if (!authorization) return errorReply(400, 'no_token', 'No token specified for the request.');
    const match = /^Bearer (.+)$/i.exec(authorization);
    if (!match || match[1] !== apiToken || accountState === 'invalid_token') {
      return errorReply(401, 'invalid_token', 'The specified token is invalid or wrong.');
    }
    if (accountState === 'disabled') {
      return errorReply(
        403,
        'disabled',
        'Your application has been disabled by Ace Data Cloud due to abnormal usage behavior, please contact our support to get more information.',
      );
    }
    if (retired === 'api_not_implemented') return errorReply(400, 'api_not_implemented', 'The API is not implemented.');
    if (retired === 'disabled')
      return errorReply(400, 'disabled', 'This API has been disabled, please contact our support to get more information.');
    if (!isObject(body)) return errorReply(400, 'bad_request', 'request body is invalid.');
    try {
      return isSubmit ? await submit(service, body, retired === 'invalid_model') : tasksQuery(service, body);
    } catch (error) {
      if (error instanceof HttpError) return errorReply(error.status, error.code, error.message, error.extra);
      throw error;
    }
  }

  async function submit(service: VideoService, body: Record<string, unknown>, invalidModel: boolean): Promise<Reply> {
    if (accountState === 'used_up') {
      return errorReply(403, 'used_up', 'Your balance is not sufficient for current request, please buy more in Ace Data Cloud.');
    }
    if (invalidModel) throw new HttpError(400, 'bad_request', 'model is invalid.');
    SERVICES[service].validate(body, { rejectLargeWithSora2: options.rejectLargeWithSora2 ?? false });
    const nowMs = Date.now();
    if (
      options.submitMinIntervalMs !== undefined &&
      nowMs - (lastSubmitAtMs.get(service) ?? Number.NEGATIVE_INFINITY) < options.submitMinIntervalMs
    ) {
      return errorReply(429, 'too_many_requests', 'You have exceeded the rate limit.');
    }
    if (options.maxConcurrentGenerations !== undefined && (runningByService.get(service) ?? 0) >= options.maxConcurrentGenerations) {
      // The concurrency-limit body of the vendor's FAQ: success:false and no trace_id.
      return {
        kind: 'json',
        status: 429,
        body: { success: false, error: { code: 'rate_limited', message: 'Concurrency limit exceeded for this token.' } },
      };
    }
    lastSubmitAtMs.set(service, nowMs);
    const task = createTask(service, body, nowMs);
    if (body.async === true || body.callback_url !== undefined) return { kind: 'json', status: 200, body: { task_id: task.id } };

    // Synchronous mode: the answer waits for the generation.
    await new Promise<void>((resolve) => internals.get(task.id)!.waiters.push(resolve));
    if (closed) return { kind: 'drop' };
    return { kind: 'json', status: 200, body: finalBody(task) };
  }

  function createTask(service: VideoService, body: Record<string, unknown>, nowMs: number): EmulatedTask {
    const index = tasks.size;
    const override = planner?.(body, { index, service }) ?? {};
    const taskGenerationMs = override.generationTimeMs ?? generationTimeMs;
    const plan: TaskPlan = {
      outcome: override.outcome ?? 'succeeded',
      generationTimeMs: taskGenerationMs,
      queueTimeMs: override.queueTimeMs ?? options.queueTimeMs ?? Math.floor(taskGenerationMs / 2),
      errorCode: override.errorCode ?? 'api_error',
      errorMessage: override.errorMessage ?? 'The generation failed.',
      videoBytes: override.videoBytes ?? options.videoBytes ?? 64 * 1024,
    };
    const task: EmulatedTask = {
      id: randomUUID(),
      service,
      index,
      traceId: randomUUID(),
      request: body,
      submittedAtMs: nowMs,
      plan,
      state: 'running',
      finishedAtMs: undefined,
    };
    tasks.set(task.id, task);
    const inner: TaskInternals = { waiters: [] };
    internals.set(task.id, inner);
    running += 1;
    runningByService.set(service, (runningByService.get(service) ?? 0) + 1);
    maxRunning = Math.max(maxRunning, running);
    inner.timer = setTimeout(() => finish(task), plan.generationTimeMs);
    inner.timer.unref();
    return task;
  }

  function finish(task: EmulatedTask, override: Partial<Pick<TaskPlan, 'outcome' | 'errorCode' | 'errorMessage'>> = {}): void {
    if (task.state !== 'running') return;
    const inner = internals.get(task.id)!;
    if (inner.timer) clearTimeout(inner.timer);
    Object.assign(task.plan, override);
    task.state = task.plan.outcome;
    task.finishedAtMs = Date.now();
    running -= 1;
    runningByService.set(task.service, (runningByService.get(task.service) ?? 1) - 1);
    for (const wake of inner.waiters.splice(0)) wake();
    internals.delete(task.id);
    const callbackUrl = task.request.callback_url;
    if (typeof callbackUrl === 'string' && !closed) deliverCallback(callbackUrl, finalBody(task));
  }

  function deliverCallback(callbackUrl: string, body: unknown): void {
    const delivery: CallbackDelivery = { timeMs: Date.now(), url: callbackUrl, body };
    callbacks.push(delivery);
    const sending = (async () => {
      try {
        const response = await request(callbackUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          dispatcher: callbackAgent,
          headersTimeout: CALLBACK_TIMEOUT_MS,
          bodyTimeout: CALLBACK_TIMEOUT_MS,
        });
        delivery.status = response.statusCode;
        await response.body.dump();
      } catch (error) {
        delivery.error = error instanceof Error ? error.message : String(error);
      }
    })();
    pendingCallbacks.add(sending);
    void sending.finally(() => pendingCallbacks.delete(sending));
  }

  function finalBody(task: EmulatedTask): Record<string, unknown> {
    const shape = SERVICES[task.service];
    if (task.state !== 'succeeded') return shape.failureBody(task);
    const base = `${videoBaseUrl}/videos/${encodeURIComponent(task.id)}`;
    return shape.successBody(task, { videoUrl: `${base}.mp4`, thumbnailUrl: `${base}.jpg` });
  }

  function recordOf(id: string): Record<string, unknown> | undefined {
    const task = tasks.get(id);
    if (!task) return undefined;
    const shape = SERVICES[task.service];
    const nowMs = Date.now();
    const record: Record<string, unknown> = {
      _id: task.id.replace(/-/g, '').slice(0, 24),
      id: task.id,
      api_id: ids.apiId,
      application_id: ids.applicationId,
      created_at: task.submittedAtMs / 1000,
      credential_id: ids.credentialId,
      request: task.request,
      trace_id: task.traceId,
      type: 'videos',
      user_id: ids.userId,
    };
    if (task.state === 'running') {
      if (shape.runningResponse && nowMs - task.submittedAtMs >= task.plan.queueTimeMs) record.response = shape.runningResponse(task);
    } else {
      record.response = finalBody(task);
    }
    return shape.recordExtras ? Object.assign(record, shape.recordExtras(task, nowMs)) : record;
  }

  /** The record of a task of `service`; undefined for unknown ids and other services' tasks. */
  function serviceRecordOf(service: VideoService, id: string): Record<string, unknown> | undefined {
    return tasks.get(id)?.service === service ? recordOf(id) : undefined;
  }

  function tasksQuery(service: VideoService, body: Record<string, unknown>): Reply {
    const action = body.action ?? 'retrieve';
    if (action === 'retrieve') {
      if (typeof body.id !== 'string' || body.id === '') throw new HttpError(400, 'bad_request', 'id is required.');
      const record = serviceRecordOf(service, body.id);
      if (record) return { kind: 'json', status: 200, body: record };
      if (unknownTaskMode === 'not_found') return errorReply(404, 'not_found', 'The task does not exist.');
      return { kind: 'json', status: 200, body: {} };
    }
    if (action === 'retrieve_batch') {
      const asked = body.ids;
      if (!Array.isArray(asked) || !asked.every((id) => typeof id === 'string')) {
        throw new HttpError(400, 'bad_request', 'ids is invalid.');
      }
      if (asked.length > maxBatchIds) throw new HttpError(400, 'bad_request', `ids can contain at most ${maxBatchIds} items.`);
      const items: Array<Record<string, unknown>> = [];
      for (const id of asked) {
        const record = serviceRecordOf(service, id);
        if (record) items.push(record);
      }
      return { kind: 'json', status: 200, body: { items, count: items.length } };
    }
    throw new HttpError(400, 'bad_request', 'action is invalid.');
  }

  return {
    url,
    apiToken,
    requests,
    tasks,
    callbacks,
    requestsTo: (path) => requests.filter((entry) => entry.path === path),
    clearRequests: () => {
      requests.length = 0;
    },
    setGenerationTimeMs: (ms) => {
      generationTimeMs = ms;
    },
    setTaskPlanner: (next) => {
      planner = next;
    },
    setAccountState: (state) => {
      accountState = state;
    },
    setUnavailable,
    failNext: (path, fault, times = 1) => {
      faults.push({ path, fault, remaining: times });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    finishTask: (id, outcome) => {
      const task = tasks.get(id);
      if (!task) throw new Error(`unknown task ${id}`);
      finish(task, outcome);
    },
    recordOf,
    stats: () => {
      let succeeded = 0;
      let failed = 0;
      for (const task of tasks.values()) {
        if (task.state === 'succeeded') succeeded += 1;
        else if (task.state === 'failed') failed += 1;
      }
      return { submitted: tasks.size, running, succeeded, failed, maxRunning, requests: requestCount };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const inner of internals.values()) {
        if (inner.timer) clearTimeout(inner.timer);
        for (const wake of inner.waiters.splice(0)) wake();
      }
      for (const sleeper of sleepers) {
        clearTimeout(sleeper.timer);
        sleeper.resolve();
      }
      sleepers.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      await Promise.allSettled([...pendingCallbacks]);
      await callbackAgent.close();
    },
  };
}

// ---- video downloads (additions: fault helpers for the delivery tests) ----

/** Matches the path of every served video, for `failNext(VIDEO_DOWNLOAD_PATH, fault, times)`. */
export const VIDEO_DOWNLOAD_PATH = /^\/videos\/[^/]+\.mp4$/;

/** The exact bytes the emulator serves for a video of `bytes` bytes (to compare an upload with). */
export function emulatedVideoBytes(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let offset = 0;
  for (let first = true; offset < bytes; first = false) {
    const source = first ? VIDEO_HEAD : VIDEO_CHUNK;
    offset += source.copy(out, offset, 0, Math.min(bytes - offset, VIDEO_CHUNK_BYTES));
  }
  return out;
}
