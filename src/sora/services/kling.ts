import type { ModelSpec } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';
import { aspectRatioOf, durationOf, endImageOf, firstImageOf, negativePromptOf, put, sizeOf, type WireBody } from './shared.js';

/**
 * `POST /kling/videos` (docs/acedata-contract.md §3): `action` text2video or image2video, `duration`,
 * `aspect_ratio`, `mode` (the member's quality, `std`/`pro`), `start_image_url`, `end_image_url`,
 * `negative_prompt`.
 */
export function toSubmitBody(request: GenerationRequest, spec: ModelSpec): WireBody {
  const start = firstImageOf(request, spec);
  const end = endImageOf(request, spec);
  const body: WireBody = { action: start !== undefined || end !== undefined ? 'image2video' : 'text2video' };
  put(body, 'model', spec.wireModel);
  body.prompt = request.prompt;
  put(body, 'duration', durationOf(request, spec));
  put(body, 'aspect_ratio', aspectRatioOf(request, spec));
  put(body, 'mode', sizeOf(request, spec));
  put(body, 'start_image_url', start);
  put(body, 'end_image_url', end);
  put(body, 'negative_prompt', negativePromptOf(request, spec));
  return body;
}
