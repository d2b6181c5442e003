/**
 * Per-service parts of the Ace Data Cloud emulator (`acedata-emulator.ts`): request validation, the
 * final bodies (success, failure) and the task-record extras of each video service. The engine
 * (tasks, timing, faults, callbacks, videos) is shared and lives in `acedata-emulator.ts`; the choices
 * made where the vendor documents nothing are listed in that file's header.
 *
 * Sources: `sora-api.md` for Sora, `video-apis.md` sections 1–9 and `fixtures/<service>/` for the rest.
 */
import { createHash } from 'node:crypto';
import type { EmulatedTask } from './acedata-emulator.js';

/** The video services the emulator speaks, each at `POST /<service>/videos` and `POST /<service>/tasks`. */
export type VideoService = 'sora' | 'veo' | 'kling' | 'seedance' | 'hailuo' | 'wan' | 'luma';

export const VIDEO_SERVICES: readonly VideoService[] = ['sora', 'veo', 'kling', 'seedance', 'hailuo', 'wan', 'luma'];

/**
 * How a retired or unavailable service (or model) answers:
 * - `api_not_implemented`: 400 `api_not_implemented` (submit and tasks paths);
 * - `no_api`: 404 `no_api`, like an unknown path (submit and tasks paths);
 * - `disabled`: 400 `disabled` (submit path);
 * - `invalid_model`: 400 `bad_request` "model is invalid." (submit path);
 * - `http_404`: 404 with an HTML body, as a proxy in front of a removed route would (submit and tasks paths).
 */
export type UnavailableMode = 'api_not_implemented' | 'no_api' | 'disabled' | 'invalid_model' | 'http_404';

export const UNAVAILABLE_MODES: readonly UnavailableMode[] = ['api_not_implemented', 'no_api', 'disabled', 'invalid_model', 'http_404'];

/** An answer with the gateway error envelope `{error: {code, message}, trace_id}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Settings of the emulator that change validation. */
export interface ValidationSettings {
  rejectLargeWithSora2: boolean;
}

/** URLs of a task's served files. */
export interface TaskLinks {
  /** `<base>/videos/<task id>.mp4`. */
  videoUrl: string;
  /** `<base>/videos/<task id>.jpg`. */
  thumbnailUrl: string;
}

/** What the engine needs from a service. */
export interface ServiceShape {
  readonly name: VideoService;
  /** Throws HttpError 400 `bad_request` for a body the service refuses. */
  validate(body: Record<string, unknown>, settings: ValidationSettings): void;
  /** The model the submit asks for (the documented default when left out); undefined for Luma. */
  model(body: Record<string, unknown>): string | undefined;
  /** The body of a successful synchronous answer, callback and `response` of the task record. */
  successBody(task: EmulatedTask, links: TaskLinks): Record<string, unknown>;
  /** The same for a failed task. */
  failureBody(task: EmulatedTask): Record<string, unknown>;
  /** `response` of a running task past its queue time; undefined: no `response` until the end. */
  runningResponse?(task: EmulatedTask): unknown;
  /** Service-specific keys of the task record. */
  recordExtras?(task: EmulatedTask, nowMs: number): Record<string, unknown>;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function bad(message: string): never {
  throw new HttpError(400, 'bad_request', message);
}

/** Wan and Luma document only this 400 message (`fixtures/{wan,luma}/error-400-bad-request.json`). */
const INVALID_PAYLOAD = 'The json payload is not valid to request the API';

function digest(value: string, salt: string): string {
  return createHash('sha256').update(`${salt}:${value}`).digest('hex');
}

/** A stable UUID-shaped id derived from the task id. */
function derivedUuid(taskId: string, salt: string): string {
  const hex = digest(taskId, salt);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** `YYYY-MM-DD HH:MM:SS`, UTC (Veo's `created_at` / `complete_at`). */
function formatUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function epochSeconds(ms: number): number {
  return ms / 1000;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function checkCommon(body: Record<string, unknown>, fail: (message: string) => never): void {
  if (body.callback_url !== undefined && !isHttpUrl(body.callback_url)) fail('callback_url is invalid.');
  if (body.async !== undefined && typeof body.async !== 'boolean') fail('async is invalid.');
}

function checkEnum(body: Record<string, unknown>, field: string, allowed: ReadonlySet<string>, fail: (message: string) => never): void {
  const value = body[field];
  if (value !== undefined && (typeof value !== 'string' || !allowed.has(value))) fail(`${field} is invalid.`);
}

function checkBoolean(body: Record<string, unknown>, field: string, fail: (message: string) => never): void {
  if (body[field] !== undefined && typeof body[field] !== 'boolean') fail(`${field} is invalid.`);
}

function checkUrl(body: Record<string, unknown>, field: string, fail: (message: string) => never): void {
  if (body[field] !== undefined && !isHttpUrl(body[field])) fail(`${field} is invalid.`);
}

function requirePrompt(body: Record<string, unknown>, fail: (message: string) => never): void {
  if (typeof body.prompt !== 'string' || body.prompt.trim() === '') fail('prompt is required.');
}

function optionalString(body: Record<string, unknown>, field: string, fail: (message: string) => never): void {
  if (body[field] !== undefined && typeof body[field] !== 'string') fail(`${field} is invalid.`);
}

function gatewayFailure(task: EmulatedTask): Record<string, unknown> {
  return { success: false, error: { code: task.plan.errorCode, message: task.plan.errorMessage }, trace_id: task.traceId };
}

// ---------------------------------------------------------------------------------------------- Sora

const SORA_MODELS = new Set(['sora-2', 'sora-2-pro']);
const SORA_V1_DURATIONS = new Set([10, 15, 25]);
const SORA_V2_DURATIONS = new Set([4, 8, 12]);
const SORA_V1_SIZES = new Set(['small', 'large']);
const SORA_V2_SIZES = new Set(['720x1280', '1280x720', '1024x1792', '1792x1024']);
const SORA_ORIENTATIONS = new Set(['landscape', 'portrait']);

const sora: ServiceShape = {
  name: 'sora',
  validate(body, settings) {
    if (typeof body.prompt !== 'string' || body.prompt.trim() === '') bad('prompt is required.');
    if (typeof body.model !== 'string' || !SORA_MODELS.has(body.model)) bad('model is invalid.');
    const version = body.version ?? '1.0';
    if (version !== '1.0' && version !== '2.0') bad('version is invalid.');
    const v2 = version === '2.0';
    if (body.duration !== undefined) {
      if (typeof body.duration !== 'number' || !(v2 ? SORA_V2_DURATIONS : SORA_V1_DURATIONS).has(body.duration)) {
        bad('duration is invalid.');
      }
      if (!v2 && body.duration === 25 && body.model !== 'sora-2-pro') bad('duration 25 is only supported by sora-2-pro.');
    }
    if (body.size !== undefined) {
      if (typeof body.size !== 'string' || !(v2 ? SORA_V2_SIZES : SORA_V1_SIZES).has(body.size)) bad('size is invalid.');
      if (settings.rejectLargeWithSora2 && !v2 && body.size === 'large' && body.model === 'sora-2') {
        bad('size large is only supported in sora-2-pro.');
      }
    }
    if (body.orientation !== undefined && (v2 || typeof body.orientation !== 'string' || !SORA_ORIENTATIONS.has(body.orientation))) {
      bad('orientation is invalid.');
    }
    if (body.image_urls !== undefined) {
      if (!Array.isArray(body.image_urls) || !body.image_urls.every(isHttpUrl)) bad('image_urls is invalid.');
    }
    checkCommon(body, bad);
  },
  model: (body) => (typeof body.model === 'string' ? body.model : undefined),
  successBody(task, links) {
    const model = stringOr(task.request.model, 'sora-2');
    return {
      success: true,
      task_id: task.id,
      trace_id: task.traceId,
      data: [{ id: `${model}:task_${task.id.replace(/-/g, '').slice(0, 26)}`, video_url: links.videoUrl, state: 'succeeded' }],
    };
  },
  failureBody(task) {
    return {
      success: false,
      task_id: task.id,
      trace_id: task.traceId,
      error: { code: task.plan.errorCode, message: task.plan.errorMessage },
    };
  },
  runningResponse: () => ({ data: [{ state: 'pending' }] }),
};

// ----------------------------------------------------------------------------------------------- Veo

const VEO_MODELS = new Set(['veo3', 'veo3-fast', 'veo31', 'veo31-fast', 'veo31-fast-ingredients', 'veo2', 'veo2-fast']);
// `ingredients2video` is what the vendor's MCP server and Nexior send for the ingredients model
// (docs/video-services.md); the OpenAPI file lists only the first two.
const VEO_ACTIONS = new Set(['text2video', 'image2video', 'ingredients2video']);
const VEO_ASPECT_RATIOS = new Set(['16:9', '9:16', '1:1', '3:4', '4:3']);
const VEO_RESOLUTIONS = new Set(['4k', '1080p', 'gif']);
/** VEO-OAS: "default value is veo2-fast". */
const VEO_DEFAULT_MODEL = 'veo2-fast';

const veo: ServiceShape = {
  name: 'veo',
  validate(body) {
    if (typeof body.action !== 'string' || !VEO_ACTIONS.has(body.action)) bad('action is invalid.');
    if (body.model !== undefined && (typeof body.model !== 'string' || !VEO_MODELS.has(body.model))) bad('model is invalid.');
    const model = stringOr(body.model, VEO_DEFAULT_MODEL);
    const images = body.image_urls ?? [];
    if (!Array.isArray(images) || !images.every(isHttpUrl)) bad('image_urls is invalid.');
    if (images.length > 3) bad('image_urls can contain at most 3 items.');
    if (body.action === 'text2video') {
      requirePrompt(body, bad);
      if (images.length > 0) bad('image_urls is only valid when action is image2video.');
      if (model === 'veo31-fast-ingredients') bad('veo31-fast-ingredients needs 1 to 3 image_urls.');
    } else {
      optionalString(body, 'prompt', bad);
      if (images.length === 0) bad('image_urls is required when action is image2video.');
      if (model === 'veo2-fast' && images.length > 1) bad('veo2-fast takes only 1 image.');
      if ((body.action === 'ingredients2video') !== (model === 'veo31-fast-ingredients')) {
        bad('action ingredients2video goes with model veo31-fast-ingredients only.');
      }
    }
    checkEnum(body, 'aspect_ratio', VEO_ASPECT_RATIOS, bad);
    checkEnum(body, 'resolution', VEO_RESOLUTIONS, bad);
    if (body.resolution === '4k' && model !== 'veo31') bad('resolution 4k is only supported by veo31.');
    checkBoolean(body, 'translation', bad);
    checkCommon(body, bad);
  },
  model: (body) => stringOr(body.model, VEO_DEFAULT_MODEL),
  successBody(task, links) {
    return {
      success: true,
      task_id: task.id,
      trace_id: task.traceId,
      data: [
        {
          id: digest(task.id, 'veo-video').slice(0, 32),
          video_url: links.videoUrl,
          created_at: formatUtc(task.submittedAtMs),
          complete_at: formatUtc(task.finishedAtMs ?? Date.now()),
          state: 'succeeded',
        },
      ],
    };
  },
  failureBody: gatewayFailure,
};

// --------------------------------------------------------------------------------------------- Kling

const KLING_MODELS = new Set([
  'kling-v1',
  'kling-v1-6',
  'kling-v2-master',
  'kling-v2-1-master',
  'kling-v2-5-turbo',
  'kling-v2-6',
  'kling-v3',
  'kling-v3-omni',
  'kling-video-o1',
]);
const KLING_FREE_DURATION_MODELS = new Set(['kling-v3', 'kling-v3-omni']);
const KLING_ACTIONS = new Set(['text2video', 'image2video']);
const KLING_MODES = new Set(['std', 'pro']);
const KLING_ASPECT_RATIOS = new Set(['16:9', '9:16', '1:1']);
/** KLING-OAS: "default value is kling-v1"; MCP default duration 5. */
const KLING_DEFAULT_MODEL = 'kling-v1';
const KLING_DEFAULT_DURATION = 5;

const kling: ServiceShape = {
  name: 'kling',
  validate(body) {
    if (typeof body.action !== 'string' || !KLING_ACTIONS.has(body.action)) bad('action is invalid.');
    if (body.model !== undefined && (typeof body.model !== 'string' || !KLING_MODELS.has(body.model))) bad('model is invalid.');
    const model = stringOr(body.model, KLING_DEFAULT_MODEL);
    checkEnum(body, 'mode', KLING_MODES, bad);
    checkEnum(body, 'aspect_ratio', KLING_ASPECT_RATIOS, bad);
    checkUrl(body, 'start_image_url', bad);
    checkUrl(body, 'end_image_url', bad);
    if (body.action === 'text2video') {
      requirePrompt(body, bad);
      if (body.start_image_url !== undefined || body.end_image_url !== undefined) {
        bad('start_image_url and end_image_url are only valid when action is image2video.');
      }
    } else {
      optionalString(body, 'prompt', bad);
      if (body.start_image_url === undefined) bad('start_image_url is required when action is image2video.');
    }
    if (body.negative_prompt !== undefined) {
      if (typeof body.negative_prompt !== 'string') bad('negative_prompt is invalid.');
      if (body.negative_prompt.length > 200) bad('negative_prompt can be at most 200 characters.');
    }
    if (body.duration !== undefined) {
      const duration = body.duration;
      if (typeof duration !== 'number' || !Number.isInteger(duration)) bad('duration is invalid.');
      if (KLING_FREE_DURATION_MODELS.has(model) ? duration < 3 || duration > 15 : duration !== 5 && duration !== 10) {
        bad('duration is invalid.');
      }
      if (body.end_image_url !== undefined && duration !== 5) bad('duration must be 5 with end_image_url.');
    }
    checkBoolean(body, 'generate_audio', bad);
    checkCommon(body, bad);
  },
  model: (body) => stringOr(body.model, KLING_DEFAULT_MODEL),
  successBody(task, links) {
    const duration = typeof task.request.duration === 'number' ? task.request.duration : KLING_DEFAULT_DURATION;
    return {
      success: true,
      video_id: derivedUuid(task.id, 'kling-video'),
      video_url: links.videoUrl,
      duration: String(duration),
      state: 'succeed',
      task_id: task.id,
    };
  },
  failureBody: gatewayFailure,
  recordExtras(task) {
    const extras: Record<string, unknown> = {
      job_id: Buffer.from(task.id.replace(/-/g, ''), 'hex').toString('base64url'),
    };
    if (task.finishedAtMs !== undefined) {
      extras.duration = (task.finishedAtMs - task.submittedAtMs) / 1000;
      extras.finished_at = epochSeconds(task.finishedAtMs);
    }
    return extras;
  },
};

// ------------------------------------------------------------------------------------------ Seedance

const SEEDANCE_MODELS = new Set([
  'doubao-seedance-1-0-pro-250528',
  'doubao-seedance-1-0-pro-fast-251015',
  'doubao-seedance-1-5-pro-251215',
  'doubao-seedance-1-0-lite-t2v-250428',
  'doubao-seedance-1-0-lite-i2v-250428',
  'doubao-seedance-2-0-260128',
  'doubao-seedance-2-0-fast-260128',
  'doubao-seedance-2-0-mini-260615',
  'doubao-seedance-2-5-260628',
]);
const SEEDANCE_RESOLUTIONS = new Set(['480p', '720p', '1080p', '4k']);
const SEEDANCE_RATIOS = new Set(['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', 'adaptive']);
const SEEDANCE_IMAGE_ROLES = new Set(['first_frame', 'last_frame', 'reference_image']);
const SEEDANCE_ITEM_KEYS: Record<string, readonly string[]> = {
  text: ['type', 'text'],
  image_url: ['type', 'image_url', 'role'],
  audio_url: ['type', 'audio_url', 'role'],
  video_url: ['type', 'video_url', 'role'],
};

/** Duration range per model family (SEED-GUIDE): [min, max, accepts -1]. */
function seedanceDurations(model: string): [number, number, boolean] {
  if (model.startsWith('doubao-seedance-1-0-')) return [2, 12, false];
  if (model.startsWith('doubao-seedance-1-5-')) return [4, 12, true];
  if (model.startsWith('doubao-seedance-2-5-')) return [4, 30, true];
  return [4, 15, true];
}

/** Resolutions per model (SEED-GUIDE): 2.0 Fast/Mini up to 720p, 2.0 Standard up to 4k, the others up to 1080p. */
function seedanceResolutions(model: string): ReadonlySet<string> {
  if (model === 'doubao-seedance-2-0-fast-260128' || model === 'doubao-seedance-2-0-mini-260615') return new Set(['480p', '720p']);
  if (model === 'doubao-seedance-2-0-260128') return SEEDANCE_RESOLUTIONS;
  return new Set(['480p', '720p', '1080p']);
}

function isSeedanceImageUrl(value: unknown): boolean {
  return isHttpUrl(value) || (typeof value === 'string' && /^data:image\/[a-z0-9.+-]+;base64,./i.test(value));
}

function checkSeedanceContent(content: unknown, model: string): void {
  if (!Array.isArray(content) || content.length === 0) bad('content is required.');
  const roles: string[] = [];
  for (const item of content) {
    if (!isObject(item) || typeof item.type !== 'string' || !(item.type in SEEDANCE_ITEM_KEYS)) bad('content is invalid.');
    const allowed = SEEDANCE_ITEM_KEYS[item.type]!;
    if (Object.keys(item).some((key) => !allowed.includes(key))) bad('content is invalid.');
    if (item.type === 'text') {
      if (typeof item.text !== 'string' || item.text.trim() === '') bad('content text is required.');
      if (item.text.length > 1000) bad('content text can be at most 1000 characters.');
    } else if (item.type === 'image_url') {
      if (!isObject(item.image_url) || !isSeedanceImageUrl(item.image_url.url)) bad('content image_url is invalid.');
      const role = item.role ?? 'first_frame';
      if (typeof role !== 'string' || !SEEDANCE_IMAGE_ROLES.has(role)) bad('content role is invalid.');
      roles.push(role);
    } else {
      const media = item[item.type];
      if (!isObject(media) || !isHttpUrl(media.url)) bad(`content ${item.type} is invalid.`);
      const expected = item.type === 'audio_url' ? 'reference_audio' : 'reference_video';
      if (item.role !== undefined && item.role !== expected) bad('content role is invalid.');
    }
  }
  const count = (role: string): number => roles.filter((entry) => entry === role).length;
  if (count('first_frame') > 1 || count('last_frame') > 1) bad('content can have one first_frame and one last_frame.');
  if (count('last_frame') === 1 && count('first_frame') === 0) bad('a last_frame needs a first_frame.');
  if (count('reference_image') > 0 && count('first_frame') + count('last_frame') > 0) {
    bad('reference_image cannot be combined with first_frame or last_frame.');
  }
  if (roles.length > (model.startsWith('doubao-seedance-2-5-') ? 30 : 9)) bad('content has too many images.');
}

function checkInteger(body: Record<string, unknown>, field: string, min: number, max: number): void {
  const value = body[field];
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)) {
    bad(`${field} is invalid.`);
  }
}

const seedance: ServiceShape = {
  name: 'seedance',
  validate(body) {
    if (body.action !== undefined) bad('action is not a field of this API.');
    if (body.prompt !== undefined) bad('prompt is not a field of this API, send the text in content.');
    if (typeof body.model !== 'string' || !SEEDANCE_MODELS.has(body.model)) bad('model is invalid.');
    const model = body.model;
    checkSeedanceContent(body.content, model);
    const resolution = body.resolution;
    if (resolution !== undefined) {
      if (typeof resolution !== 'string' || !SEEDANCE_RESOLUTIONS.has(resolution)) bad('resolution is invalid.');
      if (!seedanceResolutions(model).has(resolution)) bad(`resolution ${resolution} is not supported by ${model}.`);
    }
    checkEnum(body, 'ratio', SEEDANCE_RATIOS, bad);
    if (body.duration !== undefined) {
      const [min, max, auto] = seedanceDurations(model);
      const duration = body.duration;
      if (typeof duration !== 'number' || !Number.isInteger(duration)) bad('duration is invalid.');
      if (!(auto && duration === -1) && (duration < min || duration > max)) bad('duration is invalid.');
    }
    checkInteger(body, 'frames', 29, 289);
    if (body.frames !== undefined && !model.startsWith('doubao-seedance-1-0-')) bad('frames is only supported by the 1.0 series.');
    checkInteger(body, 'seed', -1, 4_294_967_295);
    checkInteger(body, 'execution_expires_after', 3600, 259_200);
    for (const field of ['camerafixed', 'watermark', 'generate_audio', 'return_last_frame']) checkBoolean(body, field, bad);
    checkCommon(body, bad);
  },
  model: (body) => (typeof body.model === 'string' ? body.model : undefined),
  successBody(task, links) {
    const request = task.request;
    const duration = typeof request.duration === 'number' && request.duration > 0 ? request.duration : 5;
    const stamp = new Date(task.submittedAtMs).toISOString().replace(/[-:T]/g, '').slice(0, 14);
    return {
      success: true,
      task_id: task.id,
      trace_id: task.traceId,
      data: {
        task_id: `cgt-${stamp}-${digest(task.id, 'seedance').slice(0, 5)}`,
        status: 'succeeded',
        model: stringOr(request.model, ''),
        duration,
        resolution: stringOr(request.resolution, '720p'),
        ratio: stringOr(request.ratio, '16:9'),
        video_url: links.videoUrl,
        last_frame_url: null,
      },
    };
  },
  failureBody: gatewayFailure,
  recordExtras(task, nowMs) {
    const startedAtMs = task.submittedAtMs + task.plan.queueTimeMs;
    const started = task.finishedAtMs !== undefined || nowMs >= startedAtMs;
    return {
      started_at: started ? epochSeconds(Math.min(startedAtMs, task.finishedAtMs ?? startedAtMs)) : null,
      finished_at: task.finishedAtMs === undefined ? null : epochSeconds(task.finishedAtMs),
      elapsed: task.finishedAtMs === undefined ? null : (task.finishedAtMs - task.submittedAtMs) / 1000,
    };
  },
};

// -------------------------------------------------------------------------------------------- Hailuo

const HAILUO_MODELS = new Set(['minimax-t2v', 'minimax-i2v', 'minimax-i2v-director']);
const HAILUO_I2V_MODELS = new Set(['minimax-i2v', 'minimax-i2v-director']);
/** HAILUO-OAS: "default value is minimax-t2v" (the guide's example leaves `model` out). */
const HAILUO_DEFAULT_MODEL = 'minimax-t2v';

const hailuo: ServiceShape = {
  name: 'hailuo',
  validate(body) {
    if (body.action !== 'generate') bad('action is invalid.');
    if (body.model !== undefined && (typeof body.model !== 'string' || !HAILUO_MODELS.has(body.model))) bad('model is invalid.');
    const model = stringOr(body.model, HAILUO_DEFAULT_MODEL);
    requirePrompt(body, bad);
    if (HAILUO_I2V_MODELS.has(model)) {
      if (body.first_image_url === undefined) bad(`first_image_url is required with ${model}.`);
      if (!isHttpUrl(body.first_image_url)) bad('first_image_url must be an http(s) URL, Base64 encoding is not supported.');
    } else if (body.first_image_url !== undefined) {
      bad('first_image_url is only valid with minimax-i2v and minimax-i2v-director.');
    }
    checkCommon(body, bad);
  },
  model: (body) => stringOr(body.model, HAILUO_DEFAULT_MODEL),
  successBody(task, links) {
    // Hailuo video ids look like `t80jhsf96srg80cmcm6b0rk8gm`: 26 lower-case base-32 characters.
    const id = BigInt(`0x${digest(task.id, 'hailuo').slice(0, 32)}`)
      .toString(32)
      .padStart(26, '0')
      .slice(-26);
    return {
      success: true,
      task_id: task.id,
      trace_id: task.traceId,
      data: [
        {
          id,
          model: stringOr(task.request.model, HAILUO_DEFAULT_MODEL),
          prompt: stringOr(task.request.prompt, ''),
          video_url: links.videoUrl,
          state: 'succeeded',
        },
      ],
    };
  },
  failureBody: gatewayFailure,
};

// ----------------------------------------------------------------------------------------------- Wan

const WAN_T2V_MODELS = new Set(['wan2.6-t2v']);
const WAN_I2V_MODELS = new Set(['wan2.6-i2v', 'wan2.6-r2v', 'wan2.6-i2v-flash']);
const WAN_IMAGE_MODELS = new Set(['wan2.6-i2v', 'wan2.6-i2v-flash']);
const WAN_RESOLUTIONS = new Set(['480P', '720P', '1080P']);
const WAN_DURATIONS = new Set([5, 10, 15]);
const WAN_SHOT_TYPES = new Set(['single', 'multi']);

function failWan(): never {
  throw new HttpError(400, 'bad_request', INVALID_PAYLOAD);
}

const wan: ServiceShape = {
  name: 'wan',
  validate(body) {
    const action = body.action ?? 'text2video';
    if (action !== 'text2video' && action !== 'image2video') failWan();
    if (typeof body.model !== 'string') failWan();
    if (!(action === 'text2video' ? WAN_T2V_MODELS : WAN_I2V_MODELS).has(body.model)) failWan();
    requirePrompt(body, failWan);
    if (WAN_IMAGE_MODELS.has(body.model)) {
      if (!isHttpUrl(body.image_url)) failWan();
    } else if (body.image_url !== undefined) {
      failWan();
    }
    const references = body.reference_video_urls;
    if (body.model === 'wan2.6-r2v') {
      const list: unknown[] = Array.isArray(references) ? references : [references];
      if (list.length === 0 || !list.every(isHttpUrl)) failWan();
    } else if (references !== undefined) {
      failWan();
    }
    checkEnum(body, 'resolution', WAN_RESOLUTIONS, failWan);
    if (body.duration !== undefined && (typeof body.duration !== 'number' || !WAN_DURATIONS.has(body.duration))) failWan();
    // WAN-OAS: negative_prompt is at most 500 characters and the excess is truncated, not refused.
    optionalString(body, 'negative_prompt', failWan);
    checkEnum(body, 'shot_type', WAN_SHOT_TYPES, failWan);
    if (body.size !== undefined && (typeof body.size !== 'string' || !/^\d+\*\d+$/.test(body.size))) failWan();
    checkBoolean(body, 'audio', failWan);
    checkBoolean(body, 'prompt_extend', failWan);
    checkUrl(body, 'audio_url', failWan);
    checkCommon(body, failWan);
  },
  model: (body) => (typeof body.model === 'string' ? body.model : undefined),
  successBody(task, links) {
    // Wan answers a signed upstream URL that expires; the emulator imitates its query string.
    const expires = Math.floor((task.finishedAtMs ?? Date.now()) / 1000) + 86_400;
    const signature = Buffer.from(digest(task.id, 'wan').slice(0, 20), 'hex').toString('base64');
    const query = new URLSearchParams({ Expires: String(expires), OSSAccessKeyId: 'emulator', Signature: signature });
    return { success: true, video_url: `${links.videoUrl}?${query.toString()}`, state: 'completed', task_id: task.id };
  },
  failureBody: gatewayFailure,
  recordExtras: (task) => (task.finishedAtMs === undefined ? {} : { finished_at: epochSeconds(task.finishedAtMs) }),
};

// ---------------------------------------------------------------------------------------------- Luma

const LUMA_DIMENSIONS: Record<string, [number, number]> = {
  '16:9': [1360, 752],
  '9:16': [752, 1360],
  '1:1': [1024, 1024],
  '4:3': [1168, 880],
  '3:4': [880, 1168],
  '21:9': [1552, 656],
  '9:21': [656, 1552],
};

function failLuma(): never {
  throw new HttpError(400, 'bad_request', INVALID_PAYLOAD);
}

const luma: ServiceShape = {
  name: 'luma',
  validate(body) {
    if (body.model !== undefined) failLuma();
    const action = body.action ?? 'generate';
    if (action !== 'generate' && action !== 'extend') failLuma();
    optionalString(body, 'prompt', failLuma);
    checkUrl(body, 'start_image_url', failLuma);
    checkUrl(body, 'end_image_url', failLuma);
    if (action === 'generate') {
      const prompt = typeof body.prompt === 'string' ? body.prompt.trim() : '';
      if (prompt === '' && body.start_image_url === undefined) failLuma();
    } else {
      optionalString(body, 'video_id', failLuma);
      checkUrl(body, 'video_url', failLuma);
      if (body.video_id === undefined && body.video_url === undefined) failLuma();
    }
    if (body.aspect_ratio !== undefined && (typeof body.aspect_ratio !== 'string' || body.aspect_ratio === '')) failLuma();
    checkBoolean(body, 'loop', failLuma);
    checkBoolean(body, 'enhancement', failLuma);
    if (body.timeout !== undefined && (typeof body.timeout !== 'number' || !(body.timeout > 0))) failLuma();
    checkCommon(body, failLuma);
  },
  model: () => undefined,
  successBody(task, links) {
    const [width, height] = LUMA_DIMENSIONS[stringOr(task.request.aspect_ratio, '16:9')] ?? LUMA_DIMENSIONS['16:9']!;
    return {
      success: true,
      task_id: task.id,
      video_id: derivedUuid(task.id, 'luma-video'),
      prompt: stringOr(task.request.prompt, ''),
      video_url: links.videoUrl,
      video_height: height,
      video_width: width,
      state: 'completed',
      thumbnail_url: links.thumbnailUrl,
      thumbnail_width: width,
      thumbnail_height: height,
    };
  },
  failureBody: gatewayFailure,
  recordExtras: (task) => (task.finishedAtMs === undefined ? {} : { finished_at: epochSeconds(task.finishedAtMs) }),
};

/** Every service by name. */
export const SERVICES: Readonly<Record<VideoService, ServiceShape>> = { sora, veo, kling, seedance, hailuo, wan, luma };

export function isVideoService(value: string): value is VideoService {
  return Object.hasOwn(SERVICES, value);
}
