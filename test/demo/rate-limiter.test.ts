import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from '../../src/demo/rate-limiter.js';

describe('SlidingWindowLimiter', () => {
  it('lets N requests through in any one-second window', () => {
    let now = 10_000;
    const limiter = new SlidingWindowLimiter(3, () => now);
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now += 999;
    expect(limiter.tryTake()).toBe(false);
    now += 1; // the first three leave the window together
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('slides instead of resetting on a fixed boundary', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(2, () => now);
    expect(limiter.tryTake()).toBe(true); // t=0
    now = 600;
    expect(limiter.tryTake()).toBe(true); // t=600
    now = 1001;
    expect(limiter.tryTake()).toBe(true); // t=0 has left, t=600 has not
    expect(limiter.tryTake()).toBe(false);
  });

  it('is off at 0 and stays bounded over many requests', () => {
    const off = new SlidingWindowLimiter(0, () => 0);
    for (let i = 0; i < 100; i++) expect(off.tryTake()).toBe(true);
    let now = 0;
    const limiter = new SlidingWindowLimiter(5, () => now);
    let allowed = 0;
    for (let i = 0; i < 10_000; i++) {
      now += 10;
      if (limiter.tryTake()) allowed++;
    }
    // 100 seconds at 5 per second.
    expect(allowed).toBeGreaterThanOrEqual(495);
    expect(allowed).toBeLessThanOrEqual(505);
  });
});
