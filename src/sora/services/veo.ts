import type { ModelSpec } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';
import { aspectRatioOf, endImageOf, imageUrlsOf, put, sizeOf, type WireBody } from './shared.js';

// 720p is the API's default and not one of its `resolution` values: it is sent by leaving the field out.
const DEFAULT_RESOLUTION = '720p';
const MAX_IMAGES = 3;

/**
 * `POST /veo/videos` (docs/acedata-contract.md §3): `action` text2video or image2video, `image_urls` (1–3:
 * first frame, first and last frame, or the ingredients), `aspect_ratio`, `resolution` `1080p`/`4k`.
 * A last frame goes after the reference images, and only with a first one (alone it would be read as
 * the first frame). No duration field. The ingredients model sends its own action (`ingredients2video`).
 */
export function toSubmitBody(request: GenerationRequest, spec: ModelSpec): WireBody {
  const images = imageUrlsOf(request, spec);
  const last = endImageOf(request, spec);
  if (images.length > 0 && last !== undefined) images.push(last);
  images.splice(MAX_IMAGES);
  const body: WireBody = { action: spec.wireAction ?? (images.length > 0 ? 'image2video' : 'text2video') };
  put(body, 'model', spec.wireModel);
  body.prompt = request.prompt;
  if (images.length > 0) body.image_urls = images;
  put(body, 'aspect_ratio', aspectRatioOf(request, spec));
  const resolution = sizeOf(request, spec);
  if (resolution !== undefined && resolution !== DEFAULT_RESOLUTION) body.resolution = resolution;
  return body;
}
