import { wireModelFor, type ModelSpec } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';
import { durationOf, firstImageOf, negativePromptOf, put, sizeOf, type WireBody } from './shared.js';

/**
 * `POST /wan/videos` (docs/acedata-contract.md §3): `action` text2video or image2video (with the i2v model and
 * `image_url` as first frame), `duration`, `resolution` in upper case (`720P`), `negative_prompt`.
 * No aspect-ratio field.
 */
export function toSubmitBody(request: GenerationRequest, spec: ModelSpec): WireBody {
  const first = firstImageOf(request, spec);
  const body: WireBody = { action: first !== undefined ? 'image2video' : 'text2video' };
  put(body, 'model', wireModelFor(spec, first !== undefined));
  body.prompt = request.prompt;
  put(body, 'duration', durationOf(request, spec));
  put(body, 'resolution', sizeOf(request, spec)?.toUpperCase());
  put(body, 'image_url', first);
  put(body, 'negative_prompt', negativePromptOf(request, spec));
  return body;
}
