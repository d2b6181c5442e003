import type { ModelSpec } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';
import { durationOf, imageUrlsOf, orientationOf, put, sizeOf, type WireBody } from './shared.js';

/**
 * `POST /sora/videos` (docs/acedata-contract.md §2). Version 1.0 ("classic") takes duration, orientation,
 * small/large, several `image_urls` and a character clip; it is sent without `version` (its default),
 * byte for byte the body the bot always sent. Version 2.0 ("partner") takes 4/8/12 s, a pixel `size`
 * and only the first image, and no orientation or character.
 */
export function toSubmitBody(request: GenerationRequest, spec: ModelSpec): WireBody {
  if (spec.soraVersion === '2.0') {
    const body: WireBody = { version: '2.0', prompt: request.prompt };
    put(body, 'model', spec.wireModel);
    put(body, 'duration', durationOf(request, spec));
    put(body, 'size', sizeOf(request, spec));
    const [first] = imageUrlsOf(request, spec);
    if (first !== undefined) body.image_urls = [first];
    return body;
  }
  const body: WireBody = { prompt: request.prompt };
  put(body, 'model', spec.wireModel);
  put(body, 'duration', durationOf(request, spec));
  put(body, 'orientation', orientationOf(request, spec));
  put(body, 'size', sizeOf(request, spec));
  const images = imageUrlsOf(request, spec);
  if (images.length > 0) body.image_urls = images;
  if (spec.character && request.character) {
    body.character_url = request.character.videoUrl;
    body.character_start = request.character.startSeconds;
    body.character_end = request.character.endSeconds;
  }
  return body;
}
