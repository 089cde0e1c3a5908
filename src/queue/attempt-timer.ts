// The clock of one attempt: its deadline, its watchdog, and cutting it loose; shared by every backend.
import { abandonAfterMs, abandonError, deadlineError } from './attempt-policy.js';

export interface AttemptTimerOptions {
  key: string;
  taskTimeoutMs: number;
  graceMs: number;
  /**
   * The attempt ignored its aborted signal for `graceMs` (past its deadline, or after `cutLoose`). The backend
   * decides whether it still owns the attempt, then calls `abandon(reason)`.
   */
  onWatchdog(reason: unknown): void;
}

/**
 * `controller` aborts at the deadline (with a TaskTimeoutError) or when the attempt is cut loose; the work sees its
 * signal. `abandonController` aborts when the attempt is given up on: whoever holds a resource for it (a page) must
 * treat that resource as poisoned.
 */
export class AttemptTimer {
  readonly controller = new AbortController();
  readonly abandonController = new AbortController();
  readonly #o: AttemptTimerOptions;
  readonly #deadline: NodeJS.Timeout;
  #watchdog: NodeJS.Timeout;
  #timedOut = false;

  constructor(options: AttemptTimerOptions) {
    this.#o = options;
    const { key, taskTimeoutMs, graceMs } = options;
    this.#deadline = setTimeout(() => {
      this.#timedOut = true;
      this.controller.abort(deadlineError(key, taskTimeoutMs));
    }, taskTimeoutMs);
    this.#watchdog = setTimeout(
      () => options.onWatchdog(abandonError(key, taskTimeoutMs, graceMs)),
      abandonAfterMs(taskTimeoutMs, graceMs),
    );
  }

  /** The deadline fired (the attempt's error may be a consequence of it). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Aborts the attempt's signal now (shutdown, fatal, a lost lock); still running `graceMs` later, it is abandoned. */
  cutLoose(reason: unknown): void {
    clearTimeout(this.#deadline);
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => this.#o.onWatchdog(reason), this.#o.graceMs);
  }

  /** Gives up on the attempt: both controllers abort with `reason`, the timers stop. */
  abandon(reason: unknown): void {
    this.clear();
    this.controller.abort(reason);
    this.abandonController.abort(reason);
  }

  clear(): void {
    clearTimeout(this.#deadline);
    clearTimeout(this.#watchdog);
  }
}
