import type { ModelSpec, Orientation } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';

/**
 * Helpers the per-service wire mappings share. Each reads one member-facing option of a request,
 * falling back to the model's default, and answers undefined when the model does not take the option
 * at all, so a body never carries a field its model has no use for.
 */

/** Aspect ratio of each orientation, as Veo, Kling, Seedance and Luma spell it. */
export const ASPECT_RATIOS: Readonly<Record<Orientation, '16:9' | '9:16' | '1:1'>> = Object.freeze({
  landscape: '16:9',
  portrait: '9:16',
  square: '1:1',
});

/** A body under construction: `put` leaves out undefined values. */
export type WireBody = Record<string, unknown>;

/** Sets `key` only when `value` is defined. */
export function put(body: WireBody, key: string, value: unknown): void {
  if (value !== undefined) body[key] = value;
}

/** The orientation, when the model takes one. */
export function orientationOf(request: GenerationRequest, spec: ModelSpec): Orientation | undefined {
  return spec.orientations.length > 0 ? (request.orientation ?? spec.defaultOrientation) : undefined;
}

/** The aspect ratio (`16:9`, `9:16`, `1:1`) of the orientation, when the model takes one. */
export function aspectRatioOf(request: GenerationRequest, spec: ModelSpec): string | undefined {
  const orientation = orientationOf(request, spec);
  return orientation === undefined ? undefined : ASPECT_RATIOS[orientation];
}

/** The length in seconds, when the model has a duration field. */
export function durationOf(request: GenerationRequest, spec: ModelSpec): number | undefined {
  return spec.durations.length > 0 ? (request.duration ?? spec.defaultDuration) : undefined;
}

/** The size / quality / resolution value, when the model takes one. */
export function sizeOf(request: GenerationRequest, spec: ModelSpec): string | undefined {
  return spec.sizes.length > 0 ? (request.size ?? spec.defaultSize) : undefined;
}

/** The reference images, first one first, cut to what the model takes. */
export function imageUrlsOf(request: GenerationRequest, spec: ModelSpec): string[] {
  const urls = [request.imageUrl, ...(request.extraImageUrls ?? [])].filter((url): url is string => typeof url === 'string' && url !== '');
  return urls.slice(0, spec.images.max);
}

/** The first reference image (the first frame), when the model takes images. */
export function firstImageOf(request: GenerationRequest, spec: ModelSpec): string | undefined {
  return imageUrlsOf(request, spec)[0];
}

/** The last frame, when the model takes one. */
export function endImageOf(request: GenerationRequest, spec: ModelSpec): string | undefined {
  return spec.images.endFrame && request.endImageUrl ? request.endImageUrl : undefined;
}

/** The negative prompt, when the model takes one. */
export function negativePromptOf(request: GenerationRequest, spec: ModelSpec): string | undefined {
  return spec.negativePromptMaxChars !== undefined && request.negativePrompt ? request.negativePrompt : undefined;
}
