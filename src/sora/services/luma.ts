import type { ModelSpec } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';
import { aspectRatioOf, endImageOf, firstImageOf, put, type WireBody } from './shared.js';

/**
 * `POST /luma/videos` (docs/acedata-contract.md §3): `action` `generate`, `aspect_ratio`, `start_image_url`,
 * `end_image_url`. Luma has no `model` field (the catalogue's wireModel is undefined) and no duration.
 */
export function toSubmitBody(request: GenerationRequest, spec: ModelSpec): WireBody {
  const body: WireBody = { action: 'generate', prompt: request.prompt };
  put(body, 'aspect_ratio', aspectRatioOf(request, spec));
  put(body, 'start_image_url', firstImageOf(request, spec));
  put(body, 'end_image_url', endImageOf(request, spec));
  return body;
}
