import type { Clock } from './ports.js';

/** Why submits are stopped, as the core reports it. */
export interface BreakerTrip {
  code: string;
  message: string;
  openedAt: Date;
  reopensAt: Date;
}

/**
 * Stops every submit after the account failed (invalid_token, used_up, …): each further submit would
 * fail the same way. Submits resume after the cool-down (or a restart, since this is in memory).
 */
export class CircuitBreaker {
  private trip: BreakerTrip | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly cooldownMs: number,
  ) {}

  /** Opens the breaker; returns true only when it was closed before (so the caller logs once). */
  open(code: string, message: string): boolean {
    const wasOpen = this.isOpen();
    const openedAt = this.clock.now();
    this.trip = { code, message, openedAt, reopensAt: new Date(openedAt.getTime() + this.cooldownMs) };
    return !wasOpen;
  }

  /** Whether submits are stopped right now. */
  isOpen(): boolean {
    if (!this.trip) return false;
    if (this.clock.now().getTime() >= this.trip.reopensAt.getTime()) {
      this.trip = undefined;
      return false;
    }
    return true;
  }

  /** The current trip, if open. */
  current(): BreakerTrip | undefined {
    return this.isOpen() ? this.trip : undefined;
  }

  /** Milliseconds until submits may resume (0 when closed). */
  msUntilClose(): number {
    const trip = this.current();
    return trip ? trip.reopensAt.getTime() - this.clock.now().getTime() : 0;
  }
}
