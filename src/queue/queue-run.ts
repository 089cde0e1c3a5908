// One run of the task queue: composes the scheduler, one timer per attempt, the attempt policy, the shared login
// and the stop controller, and maps the policy's verdicts onto the scheduler.
import { describe, ShutdownError } from '../errors.js';
import { afterLoginFailure, charge, codeOf, decide, timeoutOf } from './attempt-policy.js';
import { AttemptTimer } from './attempt-timer.js';
import type { QueueEvents } from './events.js';
import type { ResolvedQueueOptions, TaskOutcome } from './queue-options.js';
import { type Entry, Scheduler } from './scheduler.js';
import type { LoginEvents } from './single-flight-login.js';
import { StopController } from './stop-controller.js';

export interface TaskContext {
  key: string;
  /** 1 for the first try. */
  attempt: number;
  /** Aborts at the task's deadline, or when the run stops. */
  signal: AbortSignal;
  /** Aborted when the watchdog abandons this attempt: whoever holds a resource for it must treat that resource as poisoned. */
  abandoned: AbortSignal;
}

export interface QueueSummary {
  /** Tasks done (and committed). */
  done: number;
  /** Tasks failed for good (and committed), permanent ones included. */
  failed: number;
  /** Of `failed`, those that failed with a permanent error. */
  permanent: number;
  /** Retries scheduled ('task:retry' events). */
  retries: number;
  /** Attempts abandoned by the watchdog. */
  abandoned: number;
  /** Source items skipped because their key was already seen this run. */
  duplicates: number;
  /** Shared re-logins started. */
  relogins: number;
  /** Tasks stopped by shutdown or a fatal error before they finished. */
  interrupted: number;
  /** Keys not finished when the run stopped: interrupted, waiting to retry, or prefetched. */
  pending: string[];
  reason: 'done' | 'interrupted' | 'fatal';
  error?: unknown;
}

export interface QueueMetrics {
  /** Items pulled from the source, not started yet. */
  queued: number;
  /** Tasks waiting in the retry queue (no slot held). */
  retryQueued: number;
  inFlight: number;
  oldestInFlightMs: number;
  /** inFlight / concurrency. */
  utilisation: number;
  /** Tasks allowed in flight now: `concurrency`, or less while the adaptive limit is down. */
  limit: number;
  /** New starts are held until this epoch ms (a 429), or null. */
  heldUntil: number | null;
}

export type Work<T, R> = (item: T, ctx: TaskContext) => Promise<R>;
export type Emit<R> = <K extends keyof QueueEvents<R>>(name: K, ...args: QueueEvents<R>[K]) => void;

interface Attempt<T> {
  entry: Entry<T>;
  number: number;
  /** Start sequence number within the run (the adaptive limit's notion of "after the last cut"). */
  seq: number;
  startedAt: number;
  /** Logins completed before this attempt started. */
  loginEpoch: number;
  timer: AttemptTimer;
  /** running -> settling (commit, events) -> gone; 'abandoned' and 'gone' discard a late result. */
  state: 'running' | 'settling' | 'abandoned' | 'gone';
}

type Settlement<R> = { ok: true; value: R } | { ok: false; error: unknown };

export class QueueRun<T, R> {
  readonly summary: Promise<QueueSummary>;
  readonly #o: ResolvedQueueOptions<T, R>;
  readonly #emitRaw: Emit<R>;
  readonly #source: AsyncIterator<T>;
  readonly #work: Work<T, R>;
  readonly #signal: AbortSignal | undefined;
  readonly #scheduler: Scheduler<T>;
  readonly #stop: StopController;
  readonly #active = new Map<string, Attempt<T>>();
  readonly #seen = new Set<string>();
  readonly #interrupted: string[] = [];
  #offGate: (() => void) | undefined;
  #sourceDone = false;
  #pulling = false;
  #finished = false;
  #counts = {
    done: 0,
    failed: 0,
    permanent: 0,
    retries: 0,
    abandoned: 0,
    duplicates: 0,
    relogins: 0,
    interrupted: 0,
  };
  #resolve!: (summary: QueueSummary) => void;
  readonly #onAbort = () => this.#shutdown();
  readonly #onLoginStart = () => {
    this.#counts.relogins += 1;
    this.#emit('relogin', { done: false });
  };
  readonly #onLoginEnd = ({ error }: LoginEvents['end'][0]) => this.#loginEnded(error);

  constructor(
    options: ResolvedQueueOptions<T, R>,
    emit: Emit<R>,
    source: AsyncIterable<T> | Iterable<T>,
    work: Work<T, R>,
    signal: AbortSignal | undefined,
  ) {
    this.#o = options;
    this.#emitRaw = emit;
    this.#source = iteratorOf(source);
    this.#work = work;
    this.#signal = signal;
    this.#scheduler = new Scheduler<T>({ ...options, onWake: () => this.#tick() });
    this.#stop = new StopController({
      shutdownGraceMs: options.shutdownGraceMs,
      graceMs: options.graceMs,
      abortAll: (reason) => {
        for (const attempt of this.#active.values())
          if (attempt.state === 'running') attempt.timer.controller.abort(reason);
      },
      forceEnd: () => this.#forceEnd(),
    });
    this.summary = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  start(): void {
    if (this.#signal?.aborted) {
      this.#shutdown();
      return;
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#o.login?.on('start', this.#onLoginStart);
    this.#o.login?.on('end', this.#onLoginEnd);
    this.#offGate = this.#o.gate?.onOpen(() => this.#tick());
    this.#tick();
  }

  metrics(): QueueMetrics {
    const now = this.#o.now();
    let oldest = now;
    for (const attempt of this.#active.values()) oldest = Math.min(oldest, attempt.startedAt);
    const inFlight = this.#active.size;
    return {
      queued: this.#scheduler.prefetched,
      retryQueued: this.#scheduler.retrying,
      inFlight,
      oldestInFlightMs: now - oldest,
      utilisation: inFlight / this.#o.concurrency,
      limit: this.#scheduler.limit,
      heldUntil: this.#scheduler.heldUntil(now),
    };
  }

  // ---- scheduling ----

  /** Called after every change: start what may start, pull what may be pulled, end the run if nothing is left. */
  #tick(): void {
    if (this.#finished) return;
    if (this.#stop.reason === null) {
      // Tasks started during a re-login would meet the same expired session.
      this.#scheduler.startReady(
        () => this.#stop.reason === null && !this.#o.login?.inFlight && (this.#o.gate?.open() ?? true),
        (entry, seq) => this.#run(entry, seq),
      );
      void this.#pump();
    }
    this.#checkEnd();
  }

  /** Feeds the adaptive limit and says so when it moves. */
  #adapt(attempt: Attempt<T>, ms: number | null): void {
    const change = this.#scheduler.adapt(attempt.seq, ms);
    if (change) this.#emit('concurrency', { limit: this.#scheduler.limit, reason: change });
  }

  /** The only loop that calls the source's next(): one pull at a time, never more than prefetch + free slots ahead. */
  async #pump(): Promise<void> {
    if (this.#pulling) return;
    this.#pulling = true;
    try {
      while (!this.#sourceDone && this.#stop.reason === null && this.#scheduler.wantsMore()) {
        let result: IteratorResult<T>;
        try {
          result = await this.#source.next();
        } catch (err) {
          this.#sourceDone = true;
          this.#fatal(err);
          return;
        }
        if (result.done) {
          this.#sourceDone = true;
          break;
        }
        if (this.#finished) return;
        let key: string;
        try {
          key = this.#o.key(result.value);
        } catch (err) {
          this.#fatal(err);
          return;
        }
        if (this.#seen.has(key)) {
          this.#counts.duplicates += 1;
          this.#emit('task:duplicate', { key });
          continue;
        }
        this.#seen.add(key);
        this.#scheduler.add({
          key,
          item: result.value,
          attempts: 0,
          charges: { charged: 0, free: 0 },
          readyAt: 0,
        });
        this.#tick();
      }
    } finally {
      this.#pulling = false;
      // A run that ended while next() was pending still owes the source its return().
      if (this.#finished) this.#closeSource();
    }
    this.#checkEnd();
  }

  // ---- one attempt ----

  #run(entry: Entry<T>, seq: number): void {
    entry.attempts += 1;
    const { taskTimeoutMs, graceMs } = this.#o;
    const attempt: Attempt<T> = {
      entry,
      number: entry.attempts,
      seq,
      startedAt: this.#o.now(),
      loginEpoch: this.#o.login?.epoch ?? 0,
      timer: new AttemptTimer({
        key: entry.key,
        taskTimeoutMs,
        graceMs,
        onWatchdog: (reason) => void this.#abandon(attempt, reason),
      }),
      state: 'running',
    };
    this.#active.set(entry.key, attempt);
    this.#emit('task:start', { key: entry.key, attempt: attempt.number });
    const ctx: TaskContext = {
      key: entry.key,
      attempt: attempt.number,
      signal: attempt.timer.controller.signal,
      abandoned: attempt.timer.abandonController.signal,
    };
    let promise: Promise<R>;
    try {
      promise = Promise.resolve(this.#work(entry.item, ctx));
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (value) => this.#settled(attempt, { ok: true, value }),
      (error: unknown) => this.#settled(attempt, { ok: false, error }),
    );
  }

  async #settled(attempt: Attempt<T>, settlement: Settlement<R>): Promise<void> {
    // Abandoned or force-interrupted: this attempt no longer owns the task; its result is discarded.
    if (attempt.state !== 'running') return;
    attempt.state = 'settling';
    attempt.timer.clear();
    const { key, item } = attempt.entry;
    const ms = this.#o.now() - attempt.startedAt;
    if (this.#stop.reason === 'fatal') return this.#interrupt(attempt);
    if (settlement.ok) {
      const outcome: TaskOutcome<T, R> = {
        status: 'done',
        key,
        item,
        attempt: attempt.number,
        charged: attempt.entry.charges.charged,
        result: settlement.value,
        ms,
      };
      if (!(await this.#commit(attempt, outcome))) return;
      this.#adapt(attempt, ms);
      this.#counts.done += 1;
      this.#emit('task:done', { key, attempt: attempt.number, result: settlement.value, ms });
      return this.#release(attempt);
    }
    // Whatever did not finish during a shutdown stays pending for the next run: never recorded as failed.
    if (this.#stop.reason === 'interrupted') return this.#interrupt(attempt);
    const error = attempt.timer.timedOut
      ? timeoutOf(settlement.error, key, this.#o.taskTimeoutMs, this.#o.classify)
      : settlement.error;
    await this.#fail(attempt, error, ms);
  }

  /** Past deadline + grace and still running: free the slot, poison its resources, and retry or fail the task. */
  async #abandon(attempt: Attempt<T>, error: unknown): Promise<void> {
    if (attempt.state !== 'running' || this.#finished) return;
    attempt.state = 'abandoned';
    attempt.timer.abandon(error);
    this.#counts.abandoned += 1;
    this.#emit('task:abandoned', { key: attempt.entry.key, attempt: attempt.number });
    if (this.#stop.reason !== null) return this.#interrupt(attempt);
    await this.#fail(attempt, error, this.#o.now() - attempt.startedAt);
  }

  /** Maps the policy's verdict onto the scheduler. */
  async #fail(attempt: Attempt<T>, error: unknown, ms: number): Promise<void> {
    const entry = attempt.entry;
    const now = this.#o.now();
    const verdict = decide(error, entry.charges, this.#policy(), now);
    entry.charges = charge(entry.charges, verdict);
    switch (verdict.kind) {
      case 'fatal':
        this.#fatal(error);
        return this.#interrupt(attempt);
      case 'fail':
        if (!verdict.permanent) this.#adapt(attempt, null);
        return this.#failed(attempt, error, ms, verdict.permanent);
      case 'retry':
        this.#adapt(attempt, null);
        return this.#retry(attempt, error, verdict.delayMs);
      case 'hold':
        this.#adapt(attempt, null);
        if (this.#scheduler.hold(verdict.untilMs))
          this.#emit('backoff', { untilMs: verdict.untilMs, reason: describe(error) });
        return this.#retry(attempt, error, (this.#scheduler.heldUntil(now) ?? now) - now);
      case 'relogin': {
        const login = this.#o.login!;
        // A re-login that finished after this attempt started already fixed its session.
        const fixed = login.inFlight === null && login.epoch > attempt.loginEpoch;
        // Started before the retry frees the slot, so nothing new starts against the expired session.
        if (!fixed) login.relogin(attempt.loginEpoch).catch(() => {});
        return this.#retry(attempt, error, fixed ? 0 : Number.POSITIVE_INFINITY);
      }
    }
  }

  #policy() {
    const { retries, backoff, classify, login } = this.#o;
    return { retries, backoff, classify, canRelogin: login !== undefined };
  }

  /** Puts the task in the retry queue (no slot held); `delayMs` Infinity waits for the shared re-login. */
  #retry(attempt: Attempt<T>, error: unknown, delayMs: number): void {
    const entry = attempt.entry;
    this.#scheduler.retry(entry, delayMs);
    this.#counts.retries += 1;
    this.#emit('task:retry', {
      key: entry.key,
      attempt: attempt.number,
      error,
      reason: describe(error),
      delayMs: Number.isFinite(delayMs) ? delayMs : 0,
    });
    this.#release(attempt);
  }

  async #failed(attempt: Attempt<T>, error: unknown, ms: number, permanent: boolean): Promise<void> {
    const { key, item } = attempt.entry;
    const reason = describe(error);
    const outcome: TaskOutcome<T, R> = {
      status: 'failed',
      key,
      item,
      attempt: attempt.number,
      charged: attempt.entry.charges.charged,
      error,
      reason,
      code: codeOf(error),
      permanent,
      ms,
    };
    if (!(await this.#commit(attempt, outcome))) return;
    this.#counts.failed += 1;
    if (permanent) this.#counts.permanent += 1;
    this.#emit('task:failed', { key, attempt: attempt.number, error, reason, permanent, ms });
    this.#release(attempt);
  }

  /** Awaits the checkpoint; false (and the run goes fatal) when it throws or the run was forced to end meanwhile. */
  async #commit(attempt: Attempt<T>, outcome: TaskOutcome<T, R>): Promise<boolean> {
    if (this.#o.commit) {
      try {
        await this.#o.commit(outcome);
      } catch (err) {
        // A checkpoint that cannot write means every later result would be lost too.
        this.#fatal(err);
        this.#interrupt(attempt);
        return false;
      }
    }
    return !this.#finished;
  }

  /** The attempt gives its slot back (once). */
  #release(attempt: Attempt<T>): void {
    attempt.state = 'gone';
    if (this.#active.get(attempt.entry.key) === attempt) {
      this.#active.delete(attempt.entry.key);
      this.#scheduler.release();
    }
    this.#tick();
  }

  #interrupt(attempt: Attempt<T>): void {
    if (this.#finished) return;
    this.#counts.interrupted += 1;
    this.#interrupted.push(attempt.entry.key);
    this.#emit('task:interrupted', { key: attempt.entry.key, attempt: attempt.number });
    this.#release(attempt);
  }

  // ---- shared re-login ----

  /** A login ended (this run's or the listing's): the tasks waiting for it may go, or the run stops. */
  #loginEnded(error: unknown): void {
    if (this.#finished) return;
    let delayMs = 0;
    if (error !== undefined) {
      const next = afterLoginFailure(error, this.#o);
      if (next.kind === 'fatal') this.#fatal(error);
      // A re-login that failed for a passing reason: the waiters retry later and trigger another one.
      else delayMs = next.delayMs;
    }
    this.#scheduler.loginEnded(delayMs);
    this.#emit('relogin', { done: true });
    this.#tick();
  }

  // ---- stopping ----

  /** The run's signal aborted: stop pulling and starting; in-flight tasks get shutdownGraceMs, then their signals abort. */
  #shutdown(): void {
    if (this.#finished || !this.#stop.shutdown()) return;
    this.#stopping();
  }

  #fatal(error: unknown): void {
    if (this.#finished || !this.#stop.fatal(error)) return;
    this.#stopping();
  }

  #stopping(): void {
    this.#scheduler.stop();
    // checkEnd runs after the caller's own bookkeeping (an interrupt of the failing task).
    queueMicrotask(() => this.#checkEnd());
  }

  /** Attempts that ignored their aborted signal for the grace are cut loose: interrupted, their slots freed. */
  #forceEnd(): void {
    if (this.#finished) return;
    for (const attempt of [...this.#active.values()]) {
      if (attempt.state === 'running') {
        attempt.state = 'abandoned';
        attempt.timer.abandon(new ShutdownError('abandoned at shutdown'));
      }
      this.#counts.interrupted += 1;
      this.#interrupted.push(attempt.entry.key);
      this.#emit('task:interrupted', { key: attempt.entry.key, attempt: attempt.number });
      this.#active.delete(attempt.entry.key);
      this.#scheduler.release();
    }
    this.#checkEnd();
  }

  #checkEnd(): void {
    if (this.#finished) return;
    const reason = this.#stop.reason;
    if (reason !== null) {
      if (this.#active.size === 0) this.#finish(reason);
      return;
    }
    const idle = this.#scheduler.empty && this.#active.size === 0 && !this.#o.login?.inFlight;
    if (this.#sourceDone && !this.#pulling && idle) this.#finish('done');
  }

  #finish(reason: QueueSummary['reason']): void {
    this.#finished = true;
    this.#scheduler.stop();
    this.#stop.clear();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#o.login?.off('start', this.#onLoginStart);
    this.#o.login?.off('end', this.#onLoginEnd);
    this.#offGate?.();
    for (const attempt of this.#active.values()) attempt.timer.clear();
    if (!this.#pulling) this.#closeSource();
    const pending = new Set([...this.#interrupted, ...this.#scheduler.pendingKeys()]);
    if (reason === 'done') this.#emitRaw('idle');
    const summary: QueueSummary = { ...this.#counts, pending: [...pending], reason };
    if (reason === 'fatal') summary.error = this.#stop.error;
    this.#resolve(summary);
  }

  #closeSource(): void {
    if (this.#sourceDone) return;
    this.#sourceDone = true;
    // The source may hold a page or a file handle; its own errors on close are not the run's.
    Promise.resolve()
      .then(() => this.#source.return?.())
      .catch(() => {});
  }

  /** A throwing listener must not corrupt the queue's state: it ends the run instead. */
  #emit: Emit<R> = (name, ...args) => {
    // After the summary is out nothing more is reported: a late result belongs to no run.
    if (this.#finished) return;
    try {
      this.#emitRaw(name, ...args);
    } catch (err) {
      this.#fatal(err);
    }
  };
}

function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const iterator = source[Symbol.iterator]();
  return {
    next: async () => iterator.next(),
    return: async () => iterator.return?.() ?? { done: true, value: undefined },
  };
}
