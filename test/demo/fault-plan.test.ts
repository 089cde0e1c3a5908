import { describe, expect, it } from 'vitest';
import { FaultPlan, faultDraw } from '../../src/demo/fault-plan.js';

const none = {
  stuckRate: 0,
  failureRate: 0,
  rateLimitRate: 0,
  truncateRate: 0,
  stallRate: 0,
  htmlExpiredRate: 0,
};

describe('FaultPlan', () => {
  it('draws a repeatable number in [0, 1) per (seed, kind, item, attempt)', () => {
    const u = faultDraw(1, 'sticker', 'S00001', 0);
    expect(u).toBeGreaterThanOrEqual(0);
    expect(u).toBeLessThan(1);
    expect(faultDraw(1, 'sticker', 'S00001', 0)).toBe(u);
    expect(faultDraw(1, 'sticker', 'S00001', 1)).not.toBe(u);
    expect(faultDraw(2, 'sticker', 'S00001', 0)).not.toBe(u);
    expect(faultDraw(1, 'detail', 'S00001', 0)).not.toBe(u);
  });

  it('checks the bands in order: stuck, error, rate-limit, truncate, stall, html-expired', () => {
    const rates = {
      stuckRate: 0.1,
      failureRate: 0.2,
      rateLimitRate: 0.2,
      truncateRate: 0.2,
      stallRate: 0.1,
      htmlExpiredRate: 0.1,
    };
    const plan = new FaultPlan(9, rates);
    const seen = new Set<string | undefined>();
    for (let attempt = 0; attempt < 300; attempt++) {
      const u = faultDraw(9, 'sticker', 'S00002', attempt);
      const expected =
        u < 0.1
          ? 'stuck'
          : u < 0.3
            ? 'error'
            : u < 0.5
              ? 'rate-limit'
              : u < 0.7
                ? 'truncate'
                : u < 0.8
                  ? 'stall'
                  : u < 0.9
                    ? 'html-expired'
                    : undefined;
      seen.add(expected);
      expect(plan.next('sticker', 'S00002')).toBe(expected);
    }
    expect(seen.size).toBe(7);
  });

  it('keeps the draws of seeds made before the stall and html-expired bands', () => {
    const old = new FaultPlan(4, { ...none, failureRate: 0.3, truncateRate: 0.3 });
    const added = new FaultPlan(4, { ...none, failureRate: 0.3, truncateRate: 0.3, stallRate: 0.2 });
    for (let i = 0; i < 100; i++) {
      const before = old.next('sticker', 'S00007');
      const after = added.next('sticker', 'S00007');
      if (before !== undefined) expect(after).toBe(before);
    }
  });

  it('never gives a page a file-only fault, and counts attempts per kind and item separately', () => {
    for (const rate of ['truncateRate', 'stallRate', 'htmlExpiredRate'] as const) {
      const plan = new FaultPlan(1, { ...none, [rate]: 1 });
      expect(plan.next('detail', 'S00001')).toBeUndefined();
      expect(plan.next('card', 'C0001')).toBeUndefined();
      expect(plan.next('card-png', 'C0001')).toBeDefined();
      expect(plan.next('sticker', 'S00001')).toBeDefined();
    }
    const plan = new FaultPlan(1, { ...none, truncateRate: 1 });
    expect(plan.next('card-png', 'C0001')).toBe('truncate');
    const a = new FaultPlan(5, { ...none, failureRate: 0.5 });
    const b = new FaultPlan(5, { ...none, failureRate: 0.5 });
    a.next('detail', 'S00009'); // another kind's attempt must not shift the sticker's sequence
    const seqA = Array.from({ length: 20 }, () => a.next('sticker', 'S00009'));
    const seqB = Array.from({ length: 20 }, () => b.next('sticker', 'S00009'));
    expect(seqA).toEqual(seqB);
    expect(new Set(seqA).size).toBe(2);
  });

  it('fails about failureRate of the attempts', () => {
    const plan = new FaultPlan(3, { ...none, failureRate: 0.3 });
    let errors = 0;
    for (let i = 0; i < 2000; i++) if (plan.next('detail', `S${i}`) === 'error') errors++;
    expect(errors).toBeGreaterThan(450);
    expect(errors).toBeLessThan(750);
  });
});
