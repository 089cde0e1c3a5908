// The one 429 hold of a machine: while it lasts nothing new starts, neither an item nor (in the file store) a file.
// The queue's attempts, the file store and, in a fleet, Redis all move this one hold.
import { EventEmitter } from 'node:events';

/** Where a hold came from: a 429 this machine met, or another machine's hold read from the fleet's queue. */
export type HoldOrigin = 'here' | 'fleet';

export interface RateHoldEvents {
  /** The hold moved later; `began` when none was in effect (once per hold), else it was extended. */
  moved: [{ untilMs: number; reason: string; began: boolean; from: HoldOrigin }];
}

/**
 * A 429 says the portal is refusing everyone, not one item: every page and every file waits for the same
 * Retry-After. One hold per machine, so that four 429s answered at once make one hold, not four.
 */
export class RateHold extends EventEmitter<RateHoldEvents> {
  #untilMs = 0;

  /** The hold in effect at `now` (epoch ms): when it ends, or null. */
  heldUntil(now: number): number | null {
    return this.#untilMs > now ? this.#untilMs : null;
  }

  /** Holds every start until `untilMs`; a hold never moves earlier. True when a new hold began. */
  hold(untilMs: number, now: number, reason: string, from: HoldOrigin = 'here'): boolean {
    if (untilMs <= now || untilMs <= this.#untilMs) return false;
    const began = this.#untilMs <= now;
    this.#untilMs = untilMs;
    this.emit('moved', { untilMs, reason, began, from });
    return began;
  }
}
