import type { ServiceId } from '../../src/core/models/catalogue.js';
import type { RemoteStatus, StatusBatchOutcome, SubmitOutcome, VideoApi } from '../../src/core/ports.js';
import type { GenerationRequest } from '../../src/core/task.js';

type BatchError = Extract<StatusBatchOutcome, { kind: 'error' }>;

/** One recorded submit. */
export interface SubmitCall {
  request: GenerationRequest;
  atMs: number;
  callbackUrl?: string;
  /** Undefined while the submit is in flight. */
  outcome?: SubmitOutcome | Error;
}

/**
 * A scripted Ace Data Cloud: submit outcomes are taken from a script in call order (default:
 * accepted with `prov-N`), statuses are set per provider id (default: pending). Every call is
 * recorded, and it tracks how many accepted generations the bot has not yet been told are finished.
 */
export class FakeVideoApi implements VideoApi {
  readonly submitCalls: SubmitCall[] = [];
  /** Ids of every status request, in call order (whatever the service). */
  readonly batchCalls: string[][] = [];
  /** Every status request with the service whose tasks endpoint it asked. */
  readonly batchRequests: { service: ServiceId; ids: string[] }[] = [];
  /** Highest number of accepted generations not yet reported finished, seen at any submit. */
  maxActiveSeen = 0;
  private readonly submitScript: (SubmitOutcome | Error)[] = [];
  private readonly batchScript: (BatchError | Error)[] = [];
  private readonly statuses = new Map<string, RemoteStatus>();
  private readonly acceptedAtMs = new Map<string, number>();
  private readonly active = new Set<string>();
  private nextId = 1;

  constructor(
    private readonly options: {
      /** Latency of each submit (uses the global, possibly fake, timers). */
      submitDelayMs?: number;
      /** Accepted generations succeed this long after their submit (in Date.now() time). */
      autoSucceedAfterMs?: (providerTaskId: string) => number | undefined;
    } = {},
  ) {}

  /** The next submits answer these, in order (an Error is thrown). */
  scriptSubmits(...outcomes: (SubmitOutcome | Error)[]): void {
    this.submitScript.push(...outcomes);
  }

  /** The next status requests fail with these, in order (an Error is thrown). */
  scriptBatchErrors(...errors: (BatchError | Error)[]): void {
    this.batchScript.push(...errors);
  }

  /** What the provider says about a task from now on. */
  setStatus(providerTaskId: string, status: RemoteStatus): void {
    this.statuses.set(providerTaskId, status);
  }

  /** Requests of every submit, in call order. */
  get submits(): GenerationRequest[] {
    return this.submitCalls.map((c) => c.request);
  }

  async submit(request: GenerationRequest, options?: { callbackUrl?: string }): Promise<SubmitOutcome> {
    const call: SubmitCall = {
      request: structuredClone(request),
      atMs: Date.now(),
      ...(options?.callbackUrl ? { callbackUrl: options.callbackUrl } : {}),
    };
    this.submitCalls.push(call);
    if (this.options.submitDelayMs) await new Promise((resolve) => setTimeout(resolve, this.options.submitDelayMs));
    const outcome = this.submitScript.shift() ?? { kind: 'accepted', providerTaskId: `prov-${this.nextId++}` };
    call.outcome = outcome;
    if (outcome instanceof Error) throw outcome;
    if (outcome.kind === 'accepted') {
      this.active.add(outcome.providerTaskId);
      this.maxActiveSeen = Math.max(this.maxActiveSeen, this.active.size);
      this.acceptedAtMs.set(outcome.providerTaskId, Date.now());
      if (!this.statuses.has(outcome.providerTaskId)) this.statuses.set(outcome.providerTaskId, { kind: 'pending' });
    }
    return outcome;
  }

  retrieveBatch(service: ServiceId, providerTaskIds: readonly string[]): Promise<StatusBatchOutcome> {
    this.batchCalls.push([...providerTaskIds]);
    this.batchRequests.push({ service, ids: [...providerTaskIds] });
    const scripted = this.batchScript.shift();
    if (scripted instanceof Error) return Promise.reject(scripted);
    if (scripted) return Promise.resolve(scripted);
    const statuses = new Map<string, RemoteStatus>();
    for (const id of providerTaskIds) {
      const status = this.currentStatus(id);
      if (!status) continue;
      statuses.set(id, status);
      if (status.kind !== 'pending') this.active.delete(id);
    }
    return Promise.resolve({ kind: 'ok', statuses });
  }

  private currentStatus(id: string): RemoteStatus | undefined {
    const status = this.statuses.get(id);
    const acceptedAtMs = this.acceptedAtMs.get(id);
    const afterMs = this.options.autoSucceedAfterMs?.(id);
    if (status?.kind === 'pending' && acceptedAtMs !== undefined && afterMs !== undefined) {
      if (Date.now() >= acceptedAtMs + afterMs) {
        const done: RemoteStatus = { kind: 'succeeded', videoUrl: `https://videos.example/${id}.mp4` };
        this.statuses.set(id, done);
        return done;
      }
    }
    return status;
  }
}
