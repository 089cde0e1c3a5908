// When an attempt may start, the same on every backend: no 429 hold, within the start rate, no re-login in flight
// (nor the pause after a failed one), a free page, and no stop under way.
import type { RateHold } from './rate-hold.js';
import type { SingleFlightLogin } from './single-flight-login.js';
import { StartRate } from './start-rate.js';

/** A bound on starts besides the backend's own slots: the browser stage (a task starts only with a page free). */
export interface Capacity {
  open(): boolean;
  /** Registers a listener told when `open()` may have become true; returns its removal. */
  onOpen(listener: () => void): () => void;
}

export interface StartGateOptions {
  hold: RateHold;
  /** Starts per second; 0 is no limit. */
  rate: number;
  login: SingleFlightLogin | undefined;
  capacity: Capacity | undefined;
  now: () => number;
}

export class StartGate {
  readonly #o: StartGateOptions;
  readonly #rate: StartRate | null;
  readonly #listeners = new Set<() => void>();
  readonly #offCapacity: (() => void) | undefined;
  #loginRetryAt = 0;
  #stopped = false;

  constructor(options: StartGateOptions) {
    this.#o = options;
    this.#rate = options.rate > 0 ? new StartRate(options.rate) : null;
    this.#offCapacity = options.capacity?.onOpen(() => this.#changed());
  }

  /**
   * When something may start (epoch ms): `now` or earlier is now; Infinity is not before a change is told
   * (`onChange`): a re-login ends, a page frees up. Ask only with a task ready to start.
   */
  openAt(now: number): number {
    const { login, capacity, hold } = this.#o;
    // Tasks started during a re-login would meet the same expired session.
    if (this.#stopped || login?.inFlight || (capacity && !capacity.open())) return Number.POSITIVE_INFINITY;
    const at = Math.max(hold.heldUntil(now) ?? now, this.#loginRetryAt);
    return this.#rate ? Math.max(at, now + this.#rate.waitMs(now)) : at;
  }

  /** Counts a start at `now` (call only when `openAt(now) <= now`, in the same synchronous run). */
  take(now: number): void {
    this.#rate?.take(now);
  }

  /** A re-login ended: nothing starts before `retryAtMs` (after a failed one), then the waiting tasks may go. */
  loginEnded(retryAtMs: number): void {
    this.#loginRetryAt = retryAtMs;
    this.#changed();
  }

  /** Nothing starts any more (the run is stopping); waiters are told. */
  stop(): void {
    this.#stopped = true;
    this.#offCapacity?.();
    this.#changed();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Waits until an attempt may start, then counts it and calls `start` in the same synchronous run as the check,
   * so that two waiters woken together cannot both take the last page; null once the gate is stopped. `before`
   * runs ahead of each check (the fleet reads the fleet-wide hold).
   */
  async whenOpen<T>(start: () => T, before?: () => Promise<void>): Promise<T | null> {
    for (;;) {
      if (this.#stopped) return null;
      await before?.();
      if (this.#stopped) return null;
      const now = this.#o.now();
      const at = this.openAt(now);
      if (at <= now) {
        this.take(now);
        return start();
      }
      await this.#changeOr(at - now);
    }
  }

  /** Resolves on the next change, or after `ms` (never, for Infinity). */
  #changeOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const off = this.onChange(done);
      // setTimeout fires at once past 2^31 - 1 ms; a longer wait just checks again then.
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(ms, 2_147_483_647)) : undefined;
    });
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
