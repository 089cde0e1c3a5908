// The attempt runner every backend shares: the start gate, each attempt's clock and watchdog, the policy's verdict
// on its failure (the 429 hold, the re-login), the stop, and the events and counts. A backend only maps outcomes:
// the in-process queue onto its scheduler and checkpoint, the fleet worker onto BullMQ.
import { describe, ShutdownError } from '../errors.js';
import { Attempt, type Outcome, type TaskContext, type TaskState } from './attempt.js';
import {
  afterLoginFailure,
  charge,
  codeOf,
  decide,
  type PolicyOptions,
  timeoutOf,
} from './attempt-policy.js';
import { AttemptTimer } from './attempt-timer.js';
import type { QueueEvents, TaskRef } from './events.js';
import type { ResolvedQueueOptions } from './queue-options.js';
import type { RateHold, RateHoldEvents } from './rate-hold.js';
import type { LoginEvents } from './single-flight-login.js';
import { type Capacity, StartGate } from './start-gate.js';
import { StopController, type StopReason } from './stop-controller.js';

export type Emit<R> = <K extends keyof QueueEvents<R>>(name: K, ...args: QueueEvents<R>[K]) => void;

export type RunnerOptions<R> = Pick<
  ResolvedQueueOptions<unknown, R>,
  | 'taskTimeoutMs'
  | 'graceMs'
  | 'shutdownGraceMs'
  | 'retries'
  | 'backoff'
  | 'classify'
  | 'now'
  | 'login'
  | 'rate'
> & {
  hold: RateHold;
  capacity: Capacity | undefined;
  emit: Emit<R>;
};

export interface RunnerCounts {
  done: number;
  failed: number;
  permanent: number;
  retries: number;
  abandoned: number;
  relogins: number;
  interrupted: number;
}

type Settlement<R> = { ok: true; value: R } | { ok: false; error: unknown };

export class AttemptRunner<R> {
  readonly gate: StartGate;
  readonly counts: RunnerCounts = {
    done: 0,
    failed: 0,
    permanent: 0,
    retries: 0,
    abandoned: 0,
    relogins: 0,
    interrupted: 0,
  };
  readonly #o: RunnerOptions<R>;
  readonly #policy: PolicyOptions;
  readonly #stop: StopController;
  readonly #active = new Set<Attempt<R>>();
  readonly #onStop = new Set<() => void>();
  #closed = false;
  readonly #onLoginStart = () => {
    this.counts.relogins += 1;
    this.#emit('relogin', { done: false });
  };
  readonly #onLoginEnd = ({ error }: LoginEvents['end'][0]) => this.#loginEnded(error);
  readonly #onHold = ({ untilMs, reason, began, from }: RateHoldEvents['moved'][0]) => {
    // One event per hold, whoever met the 429 (a page or a file); another machine's hold is that machine's.
    if (began && from === 'here') this.#emit('backoff', { untilMs, reason });
  };

  constructor(options: RunnerOptions<R>) {
    this.#o = options;
    const { retries, backoff, classify, login } = options;
    this.#policy = { retries, backoff, classify, canRelogin: login !== undefined };
    this.gate = new StartGate({ ...options, capacity: options.capacity });
    this.#stop = new StopController({
      shutdownGraceMs: options.shutdownGraceMs,
      graceMs: options.graceMs,
      abortAll: (reason) => {
        for (const attempt of this.#active)
          if (attempt.state === 'running') attempt.timer.controller.abort(reason);
      },
      forceEnd: () => this.#forceEnd(),
    });
    options.login?.on('start', this.#onLoginStart);
    options.login?.on('end', this.#onLoginEnd);
    options.hold.on('moved', this.#onHold);
  }

  /** Null while the run goes on. */
  get stopReason(): StopReason | null {
    return this.#stop.reason;
  }

  /** The error of a fatal stop. */
  get stopError(): unknown {
    return this.#stop.error;
  }

  /** Attempts started and not yet released by their backend. */
  get inFlight(): number {
    return this.#active.size;
  }

  /** When the oldest attempt in flight started (epoch ms), or `now`. */
  oldestStart(now: number): number {
    let oldest = now;
    for (const attempt of this.#active) oldest = Math.min(oldest, attempt.startedAt);
    return oldest;
  }

  /** Called when a stop begins (graceful or fatal; a fatal one overtaking a graceful one calls it again). */
  onStop(listener: () => void): void {
    this.#onStop.add(listener);
  }

  /** Starts one attempt at `task` now (the caller passed the gate). */
  start(task: TaskState, work: (ctx: TaskContext) => Promise<R>): Attempt<R> {
    const { taskTimeoutMs, graceMs, login } = this.#o;
    const key = task.key;
    const attempt: Attempt<R> = new Attempt<R>({
      key,
      number: task.attempts + 1,
      startedAt: this.#o.now(),
      charges: task.charges,
      loginEpoch: login?.epoch ?? 0,
      loginsStarted: login?.started ?? 0,
      timer: new AttemptTimer({
        key,
        taskTimeoutMs,
        graceMs,
        onWatchdog: (reason) => this.#abandon(attempt, reason),
      }),
    });
    this.#active.add(attempt);
    this.#emit('task:start', attempt.ref);
    const ctx: TaskContext = {
      key,
      attempt: attempt.number,
      signal: attempt.timer.controller.signal,
      abandoned: attempt.timer.abandonController.signal,
    };
    let promise: Promise<R>;
    try {
      promise = Promise.resolve(work(ctx));
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (value) => this.#settled(attempt, { ok: true, value }),
      (error: unknown) => this.#settled(attempt, { ok: false, error }),
    );
    return attempt;
  }

  /** The backend mapped the attempt's outcome (its slot is free again). */
  release(attempt: Attempt<R>): void {
    this.#active.delete(attempt);
  }

  /** The backend recorded an outcome: its event goes out and it counts (the same on every backend). */
  report(ref: TaskRef, outcome: Outcome<R>): void {
    const c = this.counts;
    switch (outcome.kind) {
      case 'done':
        c.done += 1;
        this.#emit('task:done', { ...ref, result: outcome.value, ms: outcome.ms });
        break;
      case 'retry': {
        const { error, reason, delayMs } = outcome;
        c.retries += 1;
        this.#emit('task:retry', { ...ref, error, reason, delayMs });
        break;
      }
      case 'failed': {
        const { error, reason, permanent, ms } = outcome;
        c.failed += 1;
        if (permanent) c.permanent += 1;
        this.#emit('task:failed', { ...ref, error, reason, permanent, ms });
        break;
      }
      case 'interrupted':
        c.interrupted += 1;
        this.#emit('task:interrupted', ref);
        break;
    }
  }

  /** Graceful: nothing more starts; in-flight attempts get `shutdownGraceMs`, then their signals abort. */
  shutdown(): boolean {
    if (this.#closed || !this.#stop.shutdown()) return false;
    this.#stopped();
    return true;
  }

  /** Fatal: nothing more starts and every in-flight attempt's signal aborts now. */
  fatal(error: unknown): boolean {
    if (this.#closed || !this.#stop.fatal(error)) return false;
    this.#stopped();
    return true;
  }

  /** The run is over: no more events, timers or listeners. */
  close(): void {
    this.#closed = true;
    this.#stop.clear();
    this.gate.stop();
    for (const attempt of this.#active) attempt.timer.clear();
    this.#o.login?.off('start', this.#onLoginStart);
    this.#o.login?.off('end', this.#onLoginEnd);
    this.#o.hold.off('moved', this.#onHold);
  }

  #stopped(): void {
    this.gate.stop();
    for (const listener of this.#onStop) listener();
  }

  #settled(attempt: Attempt<R>, settlement: Settlement<R>): void {
    // Abandoned or cut loose: this attempt no longer owns the task; its result is discarded.
    if (attempt.state !== 'running') return;
    const ms = this.#o.now() - attempt.startedAt;
    if (settlement.ok) {
      // A result that is whole counts, even after a stop began.
      attempt.end({ kind: 'done', value: settlement.value, ms });
    } else if (attempt.lost || this.#stop.reason !== null) {
      // Whatever failed once a stop began (its signal aborted by it), or once another machine took the task, is
      // given back: never charged, never recorded as failed.
      attempt.end({ kind: 'interrupted', lost: attempt.lost });
    } else {
      const error = attempt.timer.timedOut
        ? timeoutOf(settlement.error, attempt.key, this.#o.taskTimeoutMs, this.#o.classify)
        : settlement.error;
      attempt.end(this.#verdict(attempt, error, ms));
    }
  }

  /** Past deadline + grace (or cut loose + grace) and still running: poison its resources, decide as a failure. */
  #abandon(attempt: Attempt<R>, error: unknown): void {
    if (attempt.state !== 'running' || this.#closed) return;
    attempt.timer.abandon(error);
    if (attempt.lost) {
      attempt.end({ kind: 'interrupted', lost: true });
      return;
    }
    this.counts.abandoned += 1;
    this.#emit('task:abandoned', attempt.ref);
    const ms = this.#o.now() - attempt.startedAt;
    attempt.end(
      this.#stop.reason !== null ? { kind: 'interrupted', lost: false } : this.#verdict(attempt, error, ms),
    );
  }

  /** The policy's verdict on a failed attempt, acted on where it concerns every backend (hold, re-login, stop). */
  #verdict(attempt: Attempt<R>, error: unknown, ms: number): Outcome<R> {
    const { hold, login } = this.#o;
    const now = this.#o.now();
    const reloginSince = (login?.started ?? 0) > attempt.loginsStarted;
    const shared = { heldUntil: hold.heldUntil(now) ?? 0, reloginSince };
    const verdict = decide(error, attempt.charges, this.#policy, now, shared);
    const charges = charge(attempt.charges, verdict);
    const reason = describe(error);
    switch (verdict.kind) {
      case 'fatal':
        // A full disk or a refused login says nothing about the task: it is given back, the run stops.
        this.fatal(error);
        return { kind: 'interrupted', lost: false };
      case 'fail':
        return {
          kind: 'failed',
          error,
          reason,
          code: codeOf(error),
          permanent: verdict.permanent,
          ms,
          charges,
        };
      case 'retry':
        return { kind: 'retry', error, reason, delayMs: verdict.delayMs, charges, cause: 'failure' };
      case 'hold': {
        hold.hold(verdict.untilMs, now, reason);
        const delayMs = (hold.heldUntil(now) ?? now) - now;
        return { kind: 'retry', error, reason, delayMs, charges, cause: 'hold' };
      }
      case 'relogin':
        // Started (or joined) before the backend frees the slot, so nothing new starts against the expired
        // session; none when one completed since this attempt started. Its failure is #loginEnded's.
        login!.relogin(attempt.loginEpoch).catch(() => {});
        return { kind: 'retry', error, reason, delayMs: 0, charges, cause: 'relogin' };
    }
  }

  /** A login ended (this run's or the listing's): the tasks waiting for it may go, later after a failure, or the run stops. */
  #loginEnded(error: unknown): void {
    if (this.#closed) return;
    let retryAt = 0;
    if (error !== undefined) {
      const next = afterLoginFailure(error, this.#o);
      if (next.kind === 'fatal') this.fatal(error);
      // A re-login that failed for a passing reason: the waiters go later and trigger another one.
      else retryAt = this.#o.now() + next.delayMs;
    }
    this.#emit('relogin', { done: true });
    this.gate.loginEnded(retryAt);
  }

  /** Attempts that ignored their aborted signal for the grace are cut loose: given back, their slots freed. */
  #forceEnd(): void {
    for (const attempt of this.#active) {
      if (attempt.state !== 'running') continue;
      attempt.timer.abandon(new ShutdownError('abandoned at shutdown'));
      attempt.end({ kind: 'interrupted', lost: attempt.lost });
    }
  }

  /** A throwing listener must not corrupt the backend's state: it stops the run instead. */
  #emit: Emit<R> = (name, ...args) => {
    // After the run is over nothing more is reported: a late result belongs to no run.
    if (this.#closed) return;
    try {
      this.#o.emit(name, ...args);
    } catch (err) {
      this.fatal(err);
    }
  };
}
