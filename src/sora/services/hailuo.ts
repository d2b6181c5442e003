import { wireModelFor, type ModelSpec } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';
import { firstImageOf, put, type WireBody } from './shared.js';

/**
 * `POST /hailuo/videos` (docs/acedata-contract.md §3): `action` is only `generate`; an image turns the model into
 * its image-to-video sibling (`minimax-i2v`) with `first_image_url`. No duration, size or aspect.
 */
export function toSubmitBody(request: GenerationRequest, spec: ModelSpec): WireBody {
  const first = firstImageOf(request, spec);
  const body: WireBody = { action: 'generate' };
  put(body, 'model', wireModelFor(spec, first !== undefined));
  body.prompt = request.prompt;
  put(body, 'first_image_url', first);
  return body;
}
