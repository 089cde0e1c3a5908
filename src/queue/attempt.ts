// One attempt at one task and what a backend gets back from it: the context the work sees, the task's state
// between attempts, the outcome to map, and the attempt itself (its timer, its state, its outcome).
import type { Charges } from './attempt-policy.js';
import type { AttemptTimer } from './attempt-timer.js';
import type { TaskRef } from './events.js';

export interface TaskContext {
  key: string;
  /** 1 for the first try. */
  attempt: number;
  /** Aborts at the task's deadline, or when the run stops. */
  signal: AbortSignal;
  /** Aborted when the watchdog abandons this attempt: whoever holds a resource for it must treat that resource as poisoned. */
  abandoned: AbortSignal;
}

/** A task as its backend keeps it between attempts. */
export interface TaskState {
  key: string;
  /** Attempts whose outcome counted so far (given-back attempts do not count). */
  attempts: number;
  charges: Charges;
}

/** How an attempt ended, for its backend to map. */
export type Outcome<R> =
  | { kind: 'done'; value: R; ms: number }
  /**
   * Try again after `delayMs`, with no slot held meanwhile; `cause` 'hold' (a 429: the hold is already set) or
   * 'relogin' (the shared re-login is under way: the start gate waits for it).
   */
  | {
      kind: 'retry';
      error: unknown;
      reason: string;
      delayMs: number;
      charges: Charges;
      cause: 'failure' | 'hold' | 'relogin';
    }
  | {
      kind: 'failed';
      error: unknown;
      reason: string;
      code: string | undefined;
      permanent: boolean;
      ms: number;
      charges: Charges;
    }
  /**
   * Given back unfinished and uncharged: a stop began before it succeeded (a fatal one included), or another
   * machine owns the task now (`lost`: a fleet worker's lock).
   */
  | { kind: 'interrupted'; lost: boolean };

/** One attempt at one task, from its start until its backend releases it. */
export class Attempt<R> {
  readonly key: string;
  /** 1 for the first try. */
  readonly number: number;
  readonly startedAt: number;
  readonly charges: Charges;
  readonly outcome: Promise<Outcome<R>>;
  readonly timer: AttemptTimer;
  /** Logins completed, and started, before this attempt started. */
  readonly loginEpoch: number;
  readonly loginsStarted: number;
  /** 'running' until its outcome is known; a late result of an ended attempt is discarded. */
  state: 'running' | 'ended' = 'running';
  lost = false;
  #resolve!: (outcome: Outcome<R>) => void;

  constructor(
    fields: Pick<
      Attempt<R>,
      'key' | 'number' | 'startedAt' | 'charges' | 'timer' | 'loginEpoch' | 'loginsStarted'
    >,
  ) {
    this.key = fields.key;
    this.number = fields.number;
    this.startedAt = fields.startedAt;
    this.charges = fields.charges;
    this.timer = fields.timer;
    this.loginEpoch = fields.loginEpoch;
    this.loginsStarted = fields.loginsStarted;
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  get ref(): TaskRef {
    return { key: this.key, attempt: this.number };
  }

  /** Another machine owns the task now: its signal aborts; still running a grace later, it is cut loose. */
  cutLoose(reason: unknown): void {
    this.lost = true;
    this.timer.cutLoose(reason);
  }

  /** Delivers the outcome, once. */
  end(outcome: Outcome<R>): void {
    if (this.state !== 'running') return;
    this.state = 'ended';
    this.timer.clear();
    this.#resolve(outcome);
  }
}
