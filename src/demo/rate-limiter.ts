// A real global limiter: at most N accepted requests in any sliding one-second window.

export class SlidingWindowLimiter {
  readonly #limit: number;
  readonly #now: () => number;
  // Times of the accepted requests still inside the window, oldest first; #head skips the expired ones.
  #times: number[] = [];
  #head = 0;

  /** `limitPerSec` 0 turns the limiter off. */
  constructor(limitPerSec: number, now: () => number = Date.now) {
    this.#limit = limitPerSec;
    this.#now = now;
  }

  /** True (and the request counts) when it fits in the window; false when it must be refused. */
  tryTake(): boolean {
    if (this.#limit === 0) return true;
    const now = this.#now();
    while (this.#head < this.#times.length && this.#times[this.#head]! <= now - 1000) this.#head++;
    // Compact now and then so the array does not grow without bound on a long benchmark.
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
    if (this.#times.length - this.#head >= this.#limit) return false;
    this.#times.push(now);
    return true;
  }
}
