import { describe, expect, it } from 'vitest';
import { cardIds, makeVehicles, vinCheckDigit } from '../../src/demo/inventory.js';

describe('makeVehicles', () => {
  it('computes the check digit of a published example VIN', () => {
    // The worked example of 49 CFR 565: 1M8GDM9AXKP042788 has the check digit X.
    expect(vinCheckDigit('1M8GDM9AXKP042788')).toBe('X');
    expect(vinCheckDigit('11111111111111111')).toBe('1');
  });

  it('gives the same inventory for the same seed and another for another seed', () => {
    expect(makeVehicles(50, 3)).toEqual(makeVehicles(50, 3));
    expect(makeVehicles(50, 3).map((v) => v.vin)).not.toEqual(makeVehicles(50, 4).map((v) => v.vin));
  });

  it('numbers stock S00001.. and makes 5,000 unique, valid VINs', () => {
    const vehicles = makeVehicles(5000, 1);
    expect(vehicles[0]?.stock).toBe('S00001');
    expect(vehicles[4999]?.stock).toBe('S05000');
    expect(new Set(vehicles.map((v) => v.vin)).size).toBe(5000);
    const bad = vehicles.filter(
      (v) =>
        !/^[A-HJ-NPR-Z0-9]{17}$/.test(v.vin) ||
        v.vin[8] !== vinCheckDigit(v.vin) ||
        v.year < 2012 ||
        v.year > 2025 ||
        v.make === '' ||
        v.model === '',
    );
    expect(bad).toEqual([]);
  });

  it('rejects a bad count with its value in the message', () => {
    expect(() => makeVehicles(-1, 1)).toThrow(RangeError);
    expect(() => makeVehicles(1.5, 1)).toThrow(/`n`.*`1.5`/);
  });
});

describe('cardIds', () => {
  it('numbers cards C0001..', () => {
    expect(cardIds(3)).toEqual(['C0001', 'C0002', 'C0003']);
    expect(cardIds(0)).toEqual([]);
    expect(cardIds(10_000).at(-1)).toBe('C10000');
  });
});
