import { findModel, type ServiceId } from './models/catalogue.js';
import type { Clock } from './ports.js';

/** What the bot last heard about one model, for `/sora-admin check` and the metrics. */
export type ModelHealth =
  | { state: 'unknown' }
  | { state: 'ok'; lastAnsweredAt: Date }
  | { state: 'unavailable'; code: string; since: Date; retryAt: Date; lastAnsweredAt?: Date };

interface Refusal {
  code: string;
  since: Date;
  retryAt: Date;
}

/**
 * Which models Ace Data Cloud serves, as far as its answers tell: a model (or its whole service)
 * that answered "not served" stops for a cool-down, then is tried again. Unlike the account-wide
 * circuit breaker this stops one model only; the others keep working.
 */
export class ModelAvailability {
  private readonly serviceRefusals = new Map<ServiceId, Refusal>();
  private readonly modelRefusals = new Map<string, Refusal>();
  private readonly lastAnswered = new Map<string, Date>();

  constructor(
    private readonly clock: Clock,
    private readonly cooldownMs: number,
  ) {}

  /**
   * Records that a model (scope `model`) or its whole service (scope `service`) is not served.
   * Returns true when this is news (it was available until now), so callers tell people once.
   */
  markUnavailable(modelId: string, scope: 'service' | 'model', code: string): boolean {
    const wasAvailable = !this.isUnavailable(modelId);
    const now = this.clock.now();
    const refusal: Refusal = { code, since: now, retryAt: new Date(now.getTime() + this.cooldownMs) };
    const service = findModel(modelId)?.service;
    if (scope === 'service' && service) this.serviceRefusals.set(service, refusal);
    else this.modelRefusals.set(modelId, refusal);
    return wasAvailable;
  }

  /** A submit was accepted or a status answered: the model is served. */
  markAnswered(modelId: string): void {
    this.lastAnswered.set(modelId, this.clock.now());
    this.modelRefusals.delete(modelId);
    const service = findModel(modelId)?.service;
    if (service) this.serviceRefusals.delete(service);
  }

  /** Whether the model is within the cool-down of a "not served" answer. */
  isUnavailable(modelId: string): boolean {
    return this.refusalOf(modelId) !== undefined;
  }

  /** The models among `modelIds` that are unavailable now. */
  unavailableAmong(modelIds: readonly string[]): Set<string> {
    // Asked by every command: with no refusal on record (the usual case) there is nothing to look up.
    if (this.modelRefusals.size === 0 && this.serviceRefusals.size === 0) return new Set();
    return new Set(modelIds.filter((id) => this.isUnavailable(id)));
  }

  /** What the bot knows of a model's health. */
  health(modelId: string): ModelHealth {
    const refusal = this.refusalOf(modelId);
    const lastAnsweredAt = this.lastAnswered.get(modelId);
    if (refusal) return { state: 'unavailable', ...refusal, ...(lastAnsweredAt ? { lastAnsweredAt } : {}) };
    return lastAnsweredAt ? { state: 'ok', lastAnsweredAt } : { state: 'unknown' };
  }

  private refusalOf(modelId: string): Refusal | undefined {
    const nowMs = this.clock.now().getTime();
    const service = findModel(modelId)?.service;
    const candidates = [this.modelRefusals.get(modelId), service ? this.serviceRefusals.get(service) : undefined];
    // A cool-down that ended lets the next submit try again (and find out).
    return candidates.find((refusal) => refusal !== undefined && refusal.retryAt.getTime() > nowMs);
  }
}
