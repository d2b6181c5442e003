import { SERVICES, findModel, type ModelSpec, type ServiceId, type ServiceSpec } from '../../core/models/catalogue.js';
import type { GenerationRequest } from '../../core/task.js';
import * as hailuo from './hailuo.js';
import * as kling from './kling.js';
import * as luma from './luma.js';
import * as seedance from './seedance.js';
import * as sora from './sora.js';
import * as veo from './veo.js';
import * as wan from './wan.js';

/** One service's wire mapping: the submit body of a request, in that service's field names. */
export interface ServiceWire {
  /**
   * The `<service>/videos` body of a request for a model of this service, without `async` and
   * `callback_url` (the client and the VideoApi add those). Holds only fields the model takes.
   */
  toSubmitBody(request: GenerationRequest, spec: ModelSpec): Record<string, unknown>;
}

/** Every service's wire mapping, keyed by ServiceId. */
export const SERVICE_WIRES: Readonly<Record<ServiceId, ServiceWire>> = Object.freeze({
  sora,
  veo,
  kling,
  seedance,
  hailuo,
  wan,
  luma,
});

/** The wire mapping of a service. */
export function wireFor(service: ServiceId): ServiceWire {
  return SERVICE_WIRES[service];
}

/** Where and what to post for a request; undefined when its model is not in the catalogue. */
export interface SubmitPlan {
  spec: ModelSpec;
  service: ServiceSpec;
  body: Record<string, unknown>;
}

/** Looks up the request's model and service and builds its submit body. */
export function planSubmit(request: GenerationRequest): SubmitPlan | undefined {
  const spec = findModel(request.model);
  if (!spec) return undefined;
  return { spec, service: SERVICES[spec.service], body: wireFor(spec.service).toSubmitBody(request, spec) };
}
