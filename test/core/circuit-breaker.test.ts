import { describe, it, expect } from 'vitest';
import { CircuitBreaker } from '../../src/core/circuit-breaker.js';
import type { Clock } from '../../src/core/ports.js';

function manualClock(startMs = Date.parse('2025-03-01T12:00:00Z')) {
  let nowMs = startMs;
  const clock: Clock = { now: () => new Date(nowMs) };
  return { clock, advance: (ms: number) => (nowMs += ms) };
}

describe('CircuitBreaker', () => {
  it('starts closed', () => {
    const { clock } = manualClock();
    const breaker = new CircuitBreaker(clock, 60_000);
    expect(breaker.isOpen()).toBe(false);
    expect(breaker.current()).toBeUndefined();
    expect(breaker.msUntilClose()).toBe(0);
  });

  it('opens once: firstTime only for the call that opened it', () => {
    const { clock, advance } = manualClock();
    const breaker = new CircuitBreaker(clock, 60_000);
    expect(breaker.open('used_up', 'credits used up')).toBe(true);
    advance(1_000);
    expect(breaker.open('used_up', 'credits used up')).toBe(false);
    expect(breaker.open('invalid_token', 'bad token')).toBe(false);
    expect(breaker.isOpen()).toBe(true);
    expect(breaker.current()).toMatchObject({ code: 'invalid_token', message: 'bad token' });
  });

  it('stays open for the cool-down, then closes', () => {
    const { clock, advance } = manualClock();
    const breaker = new CircuitBreaker(clock, 60_000);
    breaker.open('used_up', 'credits used up');
    expect(breaker.msUntilClose()).toBe(60_000);
    advance(59_999);
    expect(breaker.isOpen()).toBe(true);
    expect(breaker.msUntilClose()).toBe(1);
    advance(1);
    expect(breaker.isOpen()).toBe(false);
    expect(breaker.current()).toBeUndefined();
    expect(breaker.msUntilClose()).toBe(0);
  });

  it('a new trip after the cool-down is a first time again', () => {
    const { clock, advance } = manualClock();
    const breaker = new CircuitBreaker(clock, 10_000);
    expect(breaker.open('used_up', 'x')).toBe(true);
    advance(10_000);
    expect(breaker.open('used_up', 'x')).toBe(true);
    expect(breaker.current()?.reopensAt.getTime()).toBe(clock.now().getTime() + 10_000);
  });
});
