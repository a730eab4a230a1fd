import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/backoff';

describe('Backoff', () => {
  it('doubles the ceiling per attempt up to the maximum, with full jitter below it', () => {
    const top = new Backoff({ minDelayMs: 100, maxDelayMs: 1_000 }, () => 0.9999);
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
    const bottom = new Backoff({ minDelayMs: 100, maxDelayMs: 1_000 }, () => 0);
    expect([bottom.next(), bottom.next()]).toEqual([0, 0]);
  });

  it('starts over after reset and never overflows', () => {
    const backoff = new Backoff({ minDelayMs: 100, maxDelayMs: 1_000 }, () => 0.5);
    for (let i = 0; i < 2_000; i++) expect(backoff.next()).toBeLessThanOrEqual(500);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(50);
  });

  it('spreads delays over the whole range with Math.random', () => {
    const backoff = new Backoff({ minDelayMs: 1_000, maxDelayMs: 1_000 });
    const delays = Array.from({ length: 200 }, () => backoff.next());
    expect(Math.min(...delays)).toBeLessThan(250);
    expect(Math.max(...delays)).toBeGreaterThan(750);
  });

  it('rejects a maximum below the minimum', () => {
    expect(() => new Backoff({ minDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
  });
});
