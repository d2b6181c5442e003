import type { ModelSpec } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';
import { aspectRatioOf, durationOf, endImageOf, firstImageOf, put, sizeOf, type WireBody } from './shared.js';

/**
 * `POST /seedance/videos` (docs/acedata-contract.md §3): no `action` and no top-level prompt; the prompt and
 * the frames are typed parts of `content[]` (`role` first_frame / last_frame), next to `resolution`,
 * `ratio` and `duration` as top-level fields (the guide's "strong validation" way, not `--rs` flags).
 */
export function toSubmitBody(request: GenerationRequest, spec: ModelSpec): WireBody {
  const content: Record<string, unknown>[] = [{ type: 'text', text: request.prompt }];
  const first = firstImageOf(request, spec);
  if (first !== undefined) content.push({ type: 'image_url', image_url: { url: first }, role: 'first_frame' });
  const last = endImageOf(request, spec);
  if (last !== undefined) content.push({ type: 'image_url', image_url: { url: last }, role: 'last_frame' });
  const body: WireBody = {};
  put(body, 'model', spec.wireModel);
  body.content = content;
  put(body, 'resolution', sizeOf(request, spec));
  put(body, 'ratio', aspectRatioOf(request, spec));
  put(body, 'duration', durationOf(request, spec));
  return body;
}
