// How a queue run stops: graceful (the run's signal: a grace, then abort), fatal (abort now), and forced (attempts
// that ignore their aborted signal are cut loose one grace later).
import { describe, ShutdownError } from '../errors.js';

export type StopReason = 'interrupted' | 'fatal';

export interface StopControllerOptions {
  /** After a graceful stop, in-flight attempts get this long before their signals abort. */
  shutdownGraceMs: number;
  /** After their signals abort, attempts get this long before they are cut loose. */
  graceMs: number;
  /** Abort every running attempt's signal with `reason`. */
  abortAll(reason: Error): void;
  /** Cut loose every attempt still in flight. */
  forceEnd(): void;
}

export class StopController {
  readonly #o: StopControllerOptions;
  readonly #timers: NodeJS.Timeout[] = [];
  #reason: StopReason | null = null;
  #error: unknown;

  constructor(options: StopControllerOptions) {
    this.#o = options;
  }

  /** Null while the run goes on. */
  get reason(): StopReason | null {
    return this.#reason;
  }

  /** The error of a fatal stop. */
  get error(): unknown {
    return this.#error;
  }

  /** Graceful: stop starting; in-flight attempts get `shutdownGraceMs`, then their signals abort. False if already stopping. */
  shutdown(): boolean {
    if (this.#reason !== null) return false;
    this.#reason = 'interrupted';
    this.#abortAfter(this.#o.shutdownGraceMs, new ShutdownError());
    return true;
  }

  /** Fatal: every in-flight attempt's signal aborts now (a graceful stop under way is overtaken). False if already fatal. */
  fatal(error: unknown): boolean {
    if (this.#reason === 'fatal') return false;
    this.#reason = 'fatal';
    this.#error = error;
    this.clear();
    this.#abortAfter(0, new ShutdownError(`run stopped: ${describe(error)}`, { cause: error }));
    return true;
  }

  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.length = 0;
  }

  #abortAfter(graceMs: number, reason: Error): void {
    const abortAll = () => {
      this.#o.abortAll(reason);
      // Tasks that ignore their signal get the watchdog's grace, then are cut loose.
      this.#timers.push(setTimeout(() => this.#o.forceEnd(), this.#o.graceMs));
    };
    if (graceMs === 0) abortAll();
    else this.#timers.push(setTimeout(abortAll, graceMs));
  }
}
