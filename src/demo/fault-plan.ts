// Which fault (if any) an item request gets: a pure function of (seed, route kind, item, attempt), so runs repeat.
import { createHash } from 'node:crypto';

/** The item routes faults apply to. */
export type ItemRouteKind = 'detail' | 'sticker' | 'card' | 'card-png';

export type Fault = 'stuck' | 'error' | 'rate-limit' | 'truncate' | 'stall' | 'html-expired';

export interface FaultRates {
  stuckRate: number;
  failureRate: number;
  rateLimitRate: number;
  truncateRate: number;
  stallRate: number;
  htmlExpiredRate: number;
}

/** The bands in the order they are checked; new bands go last so older seeds keep their draws. */
const BANDS: [keyof FaultRates, Fault][] = [
  ['stuckRate', 'stuck'],
  ['failureRate', 'error'],
  ['rateLimitRate', 'rate-limit'],
  ['truncateRate', 'truncate'],
  ['stallRate', 'stall'],
  ['htmlExpiredRate', 'html-expired'],
];
/** Faults only a file can have; a page drawing one keeps its draw but answers normally. */
const FILE_ONLY = new Set<Fault>(['truncate', 'stall', 'html-expired']);

/** A number in [0, 1) from the first 48 bits of sha1("seed:kind:item:attempt"). */
export function faultDraw(seed: number, kind: ItemRouteKind, item: string, attempt: number): number {
  const digest = createHash('sha1').update(`${seed}:${kind}:${item}:${attempt}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** Counts attempts per (kind, item) and turns each attempt's draw into a fault, checked in a fixed band order. */
export class FaultPlan {
  readonly #seed: number;
  readonly #rates: FaultRates;
  readonly #attempts = new Map<string, number>();
  readonly #faulty: boolean;

  constructor(seed: number, rates: FaultRates) {
    this.#seed = seed;
    this.#rates = rates;
    this.#faulty = BANDS.some(([rate]) => rates[rate] > 0);
  }

  /** Records one more request of `kind` for `item` and says which fault it gets (undefined: answer normally). */
  next(kind: ItemRouteKind, item: string): Fault | undefined {
    const key = `${kind}:${item}`;
    const attempt = this.#attempts.get(key) ?? 0;
    this.#attempts.set(key, attempt + 1);
    // A fault-free portal (the benchmarks) skips the hash.
    if (!this.#faulty) return undefined;
    const u = faultDraw(this.#seed, kind, item, attempt);
    let band = 0;
    for (const [rate, fault] of BANDS) {
      band += this.#rates[rate];
      if (u >= band) continue;
      if (FILE_ONLY.has(fault) && kind !== 'sticker' && kind !== 'card-png') return undefined;
      return fault;
    }
    return undefined;
  }
}
