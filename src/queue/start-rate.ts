// The start rate: at most N task starts per second, spaced evenly (a token bucket holding one token).

/**
 * Spacing the starts evenly, rather than allowing a burst of N and then a pause, keeps any one-second window of
 * the portal's at or under N requests to start items, which is what a per-second limit on the portal counts.
 */
export class StartRate {
  readonly #intervalMs: number;
  #nextAt = Number.NEGATIVE_INFINITY;

  /** `perSecond` > 0; fractions allowed (0.5 is one start every 2 s). */
  constructor(perSecond: number) {
    this.#intervalMs = 1000 / perSecond;
  }

  /** Milliseconds until the next start may happen: 0 means now. */
  waitMs(now: number): number {
    return Math.max(0, Math.ceil(this.#nextAt - now));
  }

  /** Counts one start at `now` (call only when waitMs(now) is 0). */
  take(now: number): void {
    this.#nextAt = Math.max(now, this.#nextAt) + this.#intervalMs;
  }
}
