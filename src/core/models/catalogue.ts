/**
 * The model catalogue: every video model the bot can drive, as data. Slash-command options,
 * validation before spend, the submit body, the result's text, the poll cadence's first guess and
 * the budget all read it, so adding a model of a known service is one entry here (and a new service
 * is one entry plus its wire mapping in `src/sora/services/`).
 *
 * Values come from the vendor's documentation and code, with sources in docs/video-services.md
 * and docs/acedata-contract.md (the Ace Data Cloud contract); where sources disagree the entry
 * follows the vendor's own client code (AceDataCloud/MCPs), which calls the live API.
 */

/** The Ace Data Cloud services the bot speaks; each has `/<id>/videos` and `/<id>/tasks`. */
export const SERVICE_IDS = ['sora', 'veo', 'kling', 'seedance', 'hailuo', 'wan', 'luma'] as const;
export type ServiceId = (typeof SERVICE_IDS)[number];

/** Member-facing aspect choices; each service maps them to its own field and values. */
export const ORIENTATIONS = ['landscape', 'portrait', 'square'] as const;
export type Orientation = (typeof ORIENTATIONS)[number];

/** One service's endpoints and polling facts. */
export interface ServiceSpec {
  id: ServiceId;
  displayName: string;
  submitPath: string;
  tasksPath: string;
  /** Whether `/tasks` takes `retrieve_batch` with `ids` (all six documented ones do). */
  batchesTasks: boolean;
  /** Most ids in one `retrieve_batch`. */
  maxBatchIds: number;
}

/** How a generation is priced, in budget credits (1 credit = sora-2 for 10 s, see README "Models"). */
export type ModelPrice = { kind: 'per_second'; creditsPerSecond: number } | { kind: 'per_generation'; credits: number };

/** One catalogued model. */
export interface ModelSpec {
  /** What members and admins type (`/sora generate model:`, `VIDEO_MODELS`); unique. */
  id: string;
  service: ServiceId;
  /** The `model` sent on the wire; undefined for a service without a model field (Luma). */
  wireModel: string | undefined;
  /** Wire model used instead when the request carries a reference image (Hailuo, Wan). */
  imageWireModel?: string;
  /** The `action` this model always sends, where its service has one per model (Veo ingredients). */
  wireAction?: string;
  /** Sora's request version (`"1.0"` classic, `"2.0"` partner mode). */
  soraVersion?: '1.0' | '2.0';
  displayName: string;
  /** Allowed lengths in seconds; empty: the service decides (no duration field). */
  durations: readonly number[];
  defaultDuration?: number;
  /** Lengths allowed when an end frame is given (Kling: 5 s only). */
  durationsWithEndFrame?: readonly number[];
  orientations: readonly Orientation[];
  defaultOrientation?: Orientation;
  /** Quality / resolution / pixel-size values, as members type them; empty: none. */
  sizes: readonly string[];
  defaultSize?: string;
  /** Reference images: most and fewest accepted (min 1 = image-only model), and whether an end frame is. */
  images: { max: number; min: number; endFrame: boolean };
  /** Whether the Sora character parameters (`character_url`, start, end) apply. */
  character?: boolean;
  /** Longest negative prompt the service takes; undefined: none. */
  negativePromptMaxChars?: number;
  /** Costs far more than its siblings: admins may keep it to some roles (`/sora-admin pro-roles`). */
  premium: boolean;
  /** Seed of the poll cadence before the bot has learned real times. */
  typicalGenerationMs: number;
  price: ModelPrice;
}

const MINUTE = 60_000;

/** Every service the bot speaks (paths are relative to ACEDATA_BASE_URL). */
export const SERVICES: Readonly<Record<ServiceId, ServiceSpec>> = Object.freeze({
  sora: service('sora', 'Sora'),
  veo: service('veo', 'Veo'),
  kling: service('kling', 'Kling'),
  seedance: service('seedance', 'Seedance'),
  hailuo: service('hailuo', 'Hailuo'),
  wan: service('wan', 'Wan'),
  luma: service('luma', 'Luma'),
});

function service(id: ServiceId, displayName: string): ServiceSpec {
  return { id, displayName, submitPath: `${id}/videos`, tasksPath: `${id}/tasks`, batchesTasks: true, maxBatchIds: 50 };
}

const SORA_V1 = {
  soraVersion: '1.0',
  orientations: ['landscape', 'portrait'],
  defaultOrientation: 'landscape',
  sizes: ['small', 'large'],
  defaultSize: 'small',
  character: true,
} as const;
const SORA_V2 = {
  soraVersion: '2.0',
  durations: [4, 8, 12],
  defaultDuration: 4,
  orientations: [],
  sizes: ['720x1280', '1280x720', '1024x1792', '1792x1024'],
  defaultSize: '1280x720',
  images: { max: 1, min: 0, endFrame: false },
} as const;
const VEO = {
  service: 'veo',
  durations: [],
  orientations: ['landscape', 'portrait'],
  defaultOrientation: 'landscape',
  typicalGenerationMs: 2 * MINUTE,
} as const;
// Veo takes one image as the first frame, two as first and last (docs/video-services.md).
const VEO_FRAMES = { max: 1, min: 0, endFrame: true } as const;
const KLING = {
  service: 'kling',
  durations: [5, 10],
  defaultDuration: 5,
  durationsWithEndFrame: [5],
  orientations: ['landscape', 'portrait', 'square'],
  defaultOrientation: 'landscape',
  sizes: ['std', 'pro'],
  defaultSize: 'std',
  images: { max: 1, min: 0, endFrame: true },
  negativePromptMaxChars: 200,
  premium: false,
  typicalGenerationMs: 2 * MINUTE,
} as const;
const SEEDANCE = {
  service: 'seedance',
  orientations: ['landscape', 'portrait', 'square'],
  defaultOrientation: 'landscape',
  defaultSize: '720p',
  images: { max: 1, min: 0, endFrame: true },
  premium: false,
  typicalGenerationMs: 2 * MINUTE,
} as const;

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The catalogue, in the order members see it. */
export const MODEL_CATALOGUE: readonly ModelSpec[] = Object.freeze([
  {
    id: 'veo31-fast',
    wireModel: 'veo31-fast',
    displayName: 'Veo 3.1 Fast',
    ...VEO,
    sizes: ['720p', '1080p'],
    defaultSize: '720p',
    images: VEO_FRAMES,
    premium: false,
    price: { kind: 'per_generation', credits: 2.15 },
  },
  {
    id: 'veo31',
    wireModel: 'veo31',
    displayName: 'Veo 3.1',
    ...VEO,
    sizes: ['720p', '1080p', '4k'],
    defaultSize: '720p',
    images: VEO_FRAMES,
    premium: true,
    price: { kind: 'per_generation', credits: 13.7 },
  },
  {
    id: 'veo3-fast',
    wireModel: 'veo3-fast',
    displayName: 'Veo 3 Fast',
    ...VEO,
    sizes: ['720p', '1080p'],
    defaultSize: '720p',
    images: VEO_FRAMES,
    premium: false,
    price: { kind: 'per_generation', credits: 2.15 },
  },
  {
    id: 'veo3',
    wireModel: 'veo3',
    displayName: 'Veo 3',
    ...VEO,
    sizes: ['720p', '1080p'],
    defaultSize: '720p',
    images: VEO_FRAMES,
    premium: true,
    price: { kind: 'per_generation', credits: 13.7 },
  },
  {
    id: 'veo31-fast-ingredients',
    wireModel: 'veo31-fast-ingredients',
    wireAction: 'ingredients2video',
    displayName: 'Veo 3.1 Fast Ingredients (1–3 images)',
    ...VEO,
    sizes: ['720p', '1080p'],
    defaultSize: '720p',
    images: { max: 3, min: 1, endFrame: false },
    premium: false,
    price: { kind: 'per_generation', credits: 2.15 },
  },
  { id: 'kling-v2-6', wireModel: 'kling-v2-6', displayName: 'Kling 2.6', ...KLING, price: { kind: 'per_second', creditsPerSecond: 0.75 } },
  {
    id: 'kling-v2-5-turbo',
    wireModel: 'kling-v2-5-turbo',
    displayName: 'Kling 2.5 Turbo',
    ...KLING,
    price: { kind: 'per_second', creditsPerSecond: 0.75 },
  },
  {
    id: 'kling-v3',
    wireModel: 'kling-v3',
    displayName: 'Kling 3',
    ...KLING,
    durations: range(3, 15),
    price: { kind: 'per_second', creditsPerSecond: 0.75 },
  },
  {
    id: 'kling-v2-1-master',
    wireModel: 'kling-v2-1-master',
    displayName: 'Kling 2.1 Master',
    ...KLING,
    premium: true,
    price: { kind: 'per_second', creditsPerSecond: 0.75 },
  },
  {
    id: 'seedance-2-0',
    wireModel: 'doubao-seedance-2-0-260128',
    displayName: 'Seedance 2.0',
    ...SEEDANCE,
    durations: range(4, 15),
    defaultDuration: 5,
    sizes: ['480p', '720p', '1080p', '4k'],
    price: { kind: 'per_second', creditsPerSecond: 2.75 },
  },
  {
    id: 'seedance-2-0-fast',
    wireModel: 'doubao-seedance-2-0-fast-260128',
    displayName: 'Seedance 2.0 Fast',
    ...SEEDANCE,
    durations: range(4, 15),
    defaultDuration: 5,
    sizes: ['480p', '720p'],
    price: { kind: 'per_second', creditsPerSecond: 2.2 },
  },
  {
    id: 'seedance-1-5-pro',
    wireModel: 'doubao-seedance-1-5-pro-251215',
    displayName: 'Seedance 1.5 Pro',
    ...SEEDANCE,
    durations: range(4, 12),
    defaultDuration: 5,
    sizes: ['480p', '720p', '1080p'],
    price: { kind: 'per_second', creditsPerSecond: 0.47 },
  },
  {
    id: 'seedance-1-0-pro',
    wireModel: 'doubao-seedance-1-0-pro-250528',
    displayName: 'Seedance 1.0 Pro',
    ...SEEDANCE,
    durations: range(2, 12),
    defaultDuration: 5,
    sizes: ['480p', '720p', '1080p'],
    price: { kind: 'per_second', creditsPerSecond: 0.92 },
  },
  {
    id: 'hailuo',
    service: 'hailuo',
    wireModel: 'minimax-t2v',
    imageWireModel: 'minimax-i2v',
    displayName: 'Hailuo (MiniMax)',
    durations: [],
    orientations: [],
    sizes: [],
    images: { max: 1, min: 0, endFrame: false },
    premium: false,
    typicalGenerationMs: 2 * MINUTE,
    price: { kind: 'per_generation', credits: 3.8 },
  },
  {
    id: 'wan2.6',
    service: 'wan',
    wireModel: 'wan2.6-t2v',
    imageWireModel: 'wan2.6-i2v',
    displayName: 'Wan 2.6',
    durations: [5, 10, 15],
    defaultDuration: 5,
    orientations: [],
    sizes: ['480p', '720p', '1080p'],
    defaultSize: '720p',
    images: { max: 1, min: 0, endFrame: false },
    negativePromptMaxChars: 500,
    premium: false,
    typicalGenerationMs: 3.5 * MINUTE,
    price: { kind: 'per_generation', credits: 3.4 },
  },
  {
    id: 'wan2.6-flash',
    service: 'wan',
    wireModel: 'wan2.6-i2v-flash',
    displayName: 'Wan 2.6 Flash (image to video)',
    durations: [5, 10, 15],
    defaultDuration: 5,
    orientations: [],
    sizes: ['480p', '720p', '1080p'],
    defaultSize: '720p',
    images: { max: 1, min: 1, endFrame: false },
    negativePromptMaxChars: 500,
    premium: false,
    typicalGenerationMs: 3.5 * MINUTE,
    price: { kind: 'per_generation', credits: 3.4 },
  },
  {
    id: 'luma',
    service: 'luma',
    wireModel: undefined,
    displayName: 'Luma Dream Machine',
    durations: [],
    orientations: ['landscape', 'portrait', 'square'],
    defaultOrientation: 'landscape',
    sizes: [],
    images: { max: 1, min: 0, endFrame: true },
    premium: false,
    typicalGenerationMs: 2 * MINUTE,
    price: { kind: 'per_generation', credits: 6.6 },
  },
  {
    id: 'sora-2',
    service: 'sora',
    wireModel: 'sora-2',
    displayName: 'Sora 2',
    ...SORA_V1,
    durations: [10, 15],
    defaultDuration: 10,
    images: { max: 3, min: 0, endFrame: false },
    premium: false,
    typicalGenerationMs: 3 * MINUTE,
    price: { kind: 'per_second', creditsPerSecond: 0.1 },
  },
  {
    id: 'sora-2-pro',
    service: 'sora',
    wireModel: 'sora-2-pro',
    displayName: 'Sora 2 Pro',
    ...SORA_V1,
    durations: [10, 15, 25],
    defaultDuration: 10,
    images: { max: 3, min: 0, endFrame: false },
    premium: true,
    typicalGenerationMs: 5 * MINUTE,
    price: { kind: 'per_second', creditsPerSecond: 1 },
  },
  {
    id: 'sora-2-v2',
    service: 'sora',
    wireModel: 'sora-2',
    displayName: 'Sora 2 (v2: 4/8/12 s, pixel sizes)',
    ...SORA_V2,
    premium: false,
    typicalGenerationMs: 3 * MINUTE,
    price: { kind: 'per_second', creditsPerSecond: 0.1 },
  },
  {
    id: 'sora-2-pro-v2',
    service: 'sora',
    wireModel: 'sora-2-pro',
    displayName: 'Sora 2 Pro (v2: 4/8/12 s, pixel sizes)',
    ...SORA_V2,
    premium: true,
    typicalGenerationMs: 5 * MINUTE,
    price: { kind: 'per_second', creditsPerSecond: 1 },
  },
] satisfies ModelSpec[]);

const BY_ID: ReadonlyMap<string, ModelSpec> = new Map(MODEL_CATALOGUE.map((spec) => [spec.id, spec]));

/** Every catalogue id, in catalogue order. */
export const MODEL_IDS: readonly string[] = Object.freeze(MODEL_CATALOGUE.map((spec) => spec.id));

/**
 * The models a fresh install enables: every model of a service Ace Data Cloud documents as served.
 * Sora is left out: its upstream was retired on 2026-09-24 (add `sora-2` to VIDEO_MODELS to try it).
 */
export const DEFAULT_ENABLED_MODEL_IDS: readonly string[] = Object.freeze(
  MODEL_CATALOGUE.filter((spec) => spec.service !== 'sora').map((spec) => spec.id),
);

/** The default model of a fresh install (the vendor's own client defaults to it). */
export const DEFAULT_MODEL_ID = 'veo31-fast';

/** The catalogued model with this id, or undefined. */
export function findModel(id: string | null | undefined): ModelSpec | undefined {
  return id ? BY_ID.get(id) : undefined;
}

/** The catalogued model with this id; throws for an id not in the catalogue (a bug or a stale record). */
export function modelSpec(id: string): ModelSpec {
  const spec = BY_ID.get(id);
  if (!spec) throw new Error(`model ${id} is not in the catalogue`);
  return spec;
}

/** The service a catalogued model runs on. */
export function serviceOf(modelId: string): ServiceSpec {
  return SERVICES[modelSpec(modelId).service];
}

/** The wire model for a request (image models differ on Hailuo and Wan). */
export function wireModelFor(spec: ModelSpec, hasImage: boolean): string | undefined {
  return hasImage && spec.imageWireModel ? spec.imageWireModel : spec.wireModel;
}
