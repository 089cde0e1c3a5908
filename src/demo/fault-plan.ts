// Which fault (if any) an item request gets: a pure function of (seed, route kind, item, attempt), so runs repeat.
import { createHash } from 'node:crypto';

/** The item routes faults apply to. */
export type ItemRouteKind = 'detail' | 'sticker' | 'card' | 'card-png';

export type Fault = 'stuck' | 'error' | 'rate-limit' | 'truncate';

export interface FaultRates {
  stuckRate: number;
  failureRate: number;
  rateLimitRate: number;
  truncateRate: number;
}

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

  constructor(seed: number, rates: FaultRates) {
    this.#seed = seed;
    this.#rates = rates;
  }

  /** Records one more request of `kind` for `item` and says which fault it gets (undefined: answer normally). */
  next(kind: ItemRouteKind, item: string): Fault | undefined {
    const key = `${kind}:${item}`;
    const attempt = this.#attempts.get(key) ?? 0;
    this.#attempts.set(key, attempt + 1);
    const { stuckRate, failureRate, rateLimitRate, truncateRate } = this.#rates;
    if (stuckRate + failureRate + rateLimitRate + truncateRate === 0) return undefined;
    const u = faultDraw(this.#seed, kind, item, attempt);
    let band = stuckRate;
    if (u < band) return 'stuck';
    band += failureRate;
    if (u < band) return 'error';
    band += rateLimitRate;
    if (u < band) return 'rate-limit';
    band += truncateRate;
    // Only a file can be cut short; a page keeps its draw but answers normally.
    if (u < band && (kind === 'sticker' || kind === 'card-png')) return 'truncate';
    return undefined;
  }
}
