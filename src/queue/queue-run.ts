// One run of the task queue: the slots, the prefetch buffer, the retry queue, the watchdog and the stop paths.
import { type Decision, describe, ShutdownError, TaskTimeoutError } from '../errors.js';
import { AdaptiveLimit } from './adaptive-limit.js';
import { backoffDelay } from './backoff-delay.js';
import type { QueueEvents } from './events.js';
import type { ResolvedQueueOptions, TaskOutcome } from './queue-options.js';
import { StartRate } from './start-rate.js';

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

/** 429s and session expiries cost a task one retry the first time; past this many more, each one costs again. */
const MAX_FREE_RETRIES = 10;

interface Entry<T> {
  key: string;
  item: T;
  /** Attempts started so far. */
  attempts: number;
  /** Retries charged against `retries`. */
  charged: number;
  freeRetries: number;
  chargedBackoff: boolean;
  chargedRelogin: boolean;
  /** When a waiting retry may start; Infinity while it waits for the shared re-login. */
  readyAt: number;
}

interface Attempt<T> {
  entry: Entry<T>;
  number: number;
  /** Start sequence number within the run (the adaptive limit's notion of "after the last cut"). */
  seq: number;
  startedAt: number;
  /** Re-logins completed before this attempt started. */
  loginEpoch: number;
  signal: AbortController;
  abandoned: AbortController;
  deadline: NodeJS.Timeout;
  watchdog: NodeJS.Timeout;
  timedOut: boolean;
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
  readonly #buffer: Entry<T>[] = [];
  readonly #waiting: Entry<T>[] = [];
  readonly #active = new Map<string, Attempt<T>>();
  readonly #seen = new Set<string>();
  readonly #interrupted: string[] = [];
  readonly #stopTimers: NodeJS.Timeout[] = [];
  #sourceDone = false;
  #pulling = false;
  #stop: 'interrupted' | 'fatal' | null = null;
  #error: unknown;
  #finished = false;
  #heldUntil = 0;
  #relogin: Promise<void> | null = null;
  #loginEpoch = 0;
  #wake: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #starts = 0;
  readonly #adaptive: AdaptiveLimit | null;
  readonly #rate: StartRate | null;
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
    this.#adaptive = options.adaptive ? new AdaptiveLimit(options.concurrency) : null;
    this.#rate = options.rate > 0 ? new StartRate(options.rate) : null;
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
    this.#tick();
  }

  metrics(): QueueMetrics {
    const now = this.#o.now();
    let oldest = now;
    for (const attempt of this.#active.values()) oldest = Math.min(oldest, attempt.startedAt);
    const inFlight = this.#active.size;
    return {
      queued: this.#buffer.length,
      retryQueued: this.#waiting.length,
      inFlight,
      oldestInFlightMs: now - oldest,
      utilisation: inFlight / this.#o.concurrency,
      limit: this.#limit(),
      heldUntil: this.#heldUntil > now ? this.#heldUntil : null,
    };
  }

  // ---- scheduling ----

  /** Called after every change: start what may start, pull what may be pulled, end the run if nothing is left. */
  #tick(): void {
    if (this.#finished) return;
    if (this.#stop === null) {
      this.#startReady();
      void this.#pump();
    }
    this.#checkEnd();
  }

  #limit(): number {
    return this.#adaptive?.limit ?? this.#o.concurrency;
  }

  #startReady(): void {
    const now = this.#o.now();
    while (this.#stop === null && this.#active.size < this.#limit()) {
      // Tasks started during a re-login would meet the same expired session.
      if (this.#relogin) return;
      if (now < this.#heldUntil) {
        this.#wakeUpAt(this.#heldUntil);
        return;
      }
      if (this.#rate && this.#hasReady(now)) {
        const wait = this.#rate.waitMs(now);
        if (wait > 0) {
          this.#wakeUpAt(now + wait);
          return;
        }
        this.#rate.take(now);
      }
      const retry = this.#dueRetry(now);
      const entry = retry ?? this.#buffer.shift();
      if (!entry) break;
      this.#run(entry);
    }
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#waiting) next = Math.min(next, entry.readyAt);
    if (next !== Number.POSITIVE_INFINITY) this.#wakeUpAt(Math.max(next, this.#heldUntil));
  }

  /** Something could start now: a prefetched item or a retry whose time has come. */
  #hasReady(now: number): boolean {
    return this.#buffer.length > 0 || this.#waiting.some((e) => e.readyAt <= now);
  }

  /** Feeds the adaptive limit and says so when it moves. */
  #adapt(attempt: Attempt<T>, ms: number | null): void {
    if (!this.#adaptive) return;
    const change = this.#adaptive.record(
      ms === null ? { kind: 'trouble', seq: attempt.seq } : { kind: 'success', ms, seq: attempt.seq },
      this.#starts,
    );
    if (change) this.#emit('concurrency', { limit: this.#adaptive.limit, reason: change });
  }

  /** The waiting retry whose time came first, taken off the retry queue. */
  #dueRetry(now: number): Entry<T> | undefined {
    let best = -1;
    for (let i = 0; i < this.#waiting.length; i++) {
      const readyAt = this.#waiting[i]!.readyAt;
      if (readyAt <= now && (best < 0 || readyAt < this.#waiting[best]!.readyAt)) best = i;
    }
    return best < 0 ? undefined : this.#waiting.splice(best, 1)[0];
  }

  #wakeUpAt(at: number): void {
    if (this.#wake !== undefined && this.#wakeAt <= at) return;
    clearTimeout(this.#wake);
    this.#wakeAt = at;
    this.#wake = setTimeout(
      () => {
        this.#wake = undefined;
        this.#wakeAt = Number.POSITIVE_INFINITY;
        this.#tick();
      },
      Math.max(0, at - this.#o.now()),
    );
  }

  /** The only loop that calls the source's next(): one pull at a time, never more than prefetch + free slots ahead. */
  async #pump(): Promise<void> {
    if (this.#pulling) return;
    this.#pulling = true;
    try {
      while (
        !this.#sourceDone &&
        this.#stop === null &&
        this.#buffer.length < this.#o.prefetch + (this.#o.concurrency - this.#active.size)
      ) {
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
        this.#buffer.push({
          key,
          item: result.value,
          attempts: 0,
          charged: 0,
          freeRetries: 0,
          chargedBackoff: false,
          chargedRelogin: false,
          readyAt: 0,
        });
        this.#startReady();
      }
    } finally {
      this.#pulling = false;
      // A run that ended while next() was pending still owes the source its return().
      if (this.#finished) this.#closeSource();
    }
    this.#checkEnd();
  }

  // ---- one attempt ----

  #run(entry: Entry<T>): void {
    entry.attempts += 1;
    const signal = new AbortController();
    const abandoned = new AbortController();
    const { taskTimeoutMs, graceMs } = this.#o;
    const attempt: Attempt<T> = {
      entry,
      number: entry.attempts,
      seq: ++this.#starts,
      startedAt: this.#o.now(),
      loginEpoch: this.#loginEpoch,
      signal,
      abandoned,
      deadline: setTimeout(() => {
        attempt.timedOut = true;
        signal.abort(new TaskTimeoutError(`task ${entry.key} timed out after ${taskTimeoutMs} ms`));
      }, taskTimeoutMs),
      watchdog: setTimeout(() => void this.#abandon(attempt), taskTimeoutMs + graceMs),
      timedOut: false,
      state: 'running',
    };
    this.#active.set(entry.key, attempt);
    this.#emit('task:start', { key: entry.key, attempt: attempt.number });
    const ctx: TaskContext = {
      key: entry.key,
      attempt: attempt.number,
      signal: signal.signal,
      abandoned: abandoned.signal,
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
    clearTimeout(attempt.deadline);
    clearTimeout(attempt.watchdog);
    const { key, item } = attempt.entry;
    const ms = this.#o.now() - attempt.startedAt;
    if (this.#stop === 'fatal') return this.#interrupt(attempt);
    if (settlement.ok) {
      const outcome: TaskOutcome<T, R> = {
        status: 'done',
        key,
        item,
        attempt: attempt.number,
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
    if (this.#stop === 'interrupted') return this.#interrupt(attempt);
    let error = settlement.error;
    // An abort error thrown because the deadline fired says nothing useful; a PermanentError or a 429 still does.
    if (attempt.timedOut && this.#decide(error) === 'retry' && !(error instanceof TaskTimeoutError)) {
      error = new TaskTimeoutError(`task ${key} timed out after ${this.#o.taskTimeoutMs} ms`, {
        cause: error,
      });
    }
    await this.#fail(attempt, error, ms);
  }

  /** Past deadline + grace and still running: free the slot, poison its resources, and retry or fail the task. */
  async #abandon(attempt: Attempt<T>): Promise<void> {
    if (attempt.state !== 'running' || this.#finished) return;
    attempt.state = 'abandoned';
    clearTimeout(attempt.deadline);
    const { key } = attempt.entry;
    const limit = this.#o.taskTimeoutMs + this.#o.graceMs;
    const error = new TaskTimeoutError(`task ${key} abandoned: still running ${limit} ms after it started`);
    attempt.signal.abort(error);
    attempt.abandoned.abort(error);
    this.#counts.abandoned += 1;
    this.#emit('task:abandoned', { key, attempt: attempt.number });
    if (this.#stop !== null) return this.#interrupt(attempt);
    await this.#fail(attempt, error, this.#o.now() - attempt.startedAt);
  }

  async #fail(attempt: Attempt<T>, error: unknown, ms: number): Promise<void> {
    const entry = attempt.entry;
    let decision = this.#decide(error);
    if (decision === 'relogin' && !this.#o.relogin) decision = 'retry';
    switch (decision) {
      case 'fatal':
        // The item stays pending: a full disk or refused login says nothing about it.
        this.#fatal(error);
        return this.#interrupt(attempt);
      case 'permanent':
        return this.#failed(attempt, error, ms, true);
      case 'retry': {
        this.#adapt(attempt, null);
        if (!this.#charge(entry)) return this.#failed(attempt, error, ms, false);
        return this.#retry(attempt, error, backoffDelay(entry.charged, this.#o.backoff));
      }
      case 'backoff': {
        this.#adapt(attempt, null);
        const now = this.#o.now();
        const wait = retryAfterOf(error) ?? backoffDelay(Math.max(1, entry.charged), this.#o.backoff);
        if (now + wait > this.#heldUntil) {
          this.#heldUntil = now + wait;
          this.#emit('backoff', { untilMs: this.#heldUntil, reason: describe(error) });
        }
        if (!this.#chargeOnce(entry, 'chargedBackoff')) return this.#failed(attempt, error, ms, false);
        return this.#retry(attempt, error, this.#heldUntil - now);
      }
      case 'relogin': {
        if (!this.#chargeOnce(entry, 'chargedRelogin')) return this.#failed(attempt, error, ms, false);
        // A re-login that finished after this attempt started already fixed its session.
        const fixed = this.#relogin === null && this.#loginEpoch > attempt.loginEpoch;
        // Started before the retry frees the slot, so nothing new starts against the expired session.
        if (!fixed && this.#relogin === null) this.#startRelogin();
        return this.#retry(attempt, error, fixed ? 0 : Number.POSITIVE_INFINITY);
      }
    }
  }

  /** Charges one retry; false when the task is out of retries. */
  #charge(entry: Entry<T>): boolean {
    entry.charged += 1;
    return entry.charged <= this.#o.retries;
  }

  /** A 429 or an expired session is not the item's fault: it costs one retry the first time only. */
  #chargeOnce(entry: Entry<T>, flag: 'chargedBackoff' | 'chargedRelogin'): boolean {
    if (!entry[flag]) {
      entry[flag] = true;
      return this.#charge(entry);
    }
    entry.freeRetries += 1;
    return entry.freeRetries <= MAX_FREE_RETRIES || this.#charge(entry);
  }

  /** Puts the task in the retry queue (no slot held); `delayMs` Infinity waits for the shared re-login. */
  #retry(attempt: Attempt<T>, error: unknown, delayMs: number): void {
    const entry = attempt.entry;
    entry.readyAt = this.#o.now() + delayMs;
    this.#waiting.push(entry);
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

  #release(attempt: Attempt<T>): void {
    attempt.state = 'gone';
    if (this.#active.get(attempt.entry.key) === attempt) this.#active.delete(attempt.entry.key);
    this.#tick();
  }

  #interrupt(attempt: Attempt<T>): void {
    if (this.#finished) return;
    this.#counts.interrupted += 1;
    this.#interrupted.push(attempt.entry.key);
    this.#emit('task:interrupted', { key: attempt.entry.key, attempt: attempt.number });
    this.#release(attempt);
  }

  #decide(error: unknown): Decision {
    try {
      return this.#o.classify(error);
    } catch {
      return 'retry';
    }
  }

  // ---- shared re-login ----

  #startRelogin(): void {
    const relogin = this.#o.relogin!;
    this.#counts.relogins += 1;
    this.#emit('relogin', { done: false });
    const flight = (async () => relogin())().then(
      () => {
        this.#loginEpoch += 1;
        this.#reloginEnded(0);
      },
      (err: unknown) => {
        if (this.#decide(err) === 'fatal') {
          this.#reloginEnded(0);
          this.#fatal(err);
          return;
        }
        // A re-login that failed for a passing reason: the waiters retry later and trigger another one.
        this.#reloginEnded(backoffDelay(1, this.#o.backoff));
      },
    );
    this.#relogin = flight;
  }

  #reloginEnded(delayMs: number): void {
    this.#relogin = null;
    if (this.#finished) return;
    const readyAt = this.#o.now() + delayMs;
    for (const entry of this.#waiting)
      if (entry.readyAt === Number.POSITIVE_INFINITY) entry.readyAt = readyAt;
    this.#emit('relogin', { done: true });
    this.#tick();
  }

  // ---- stopping ----

  /** The run's signal aborted: stop pulling and starting; in-flight tasks get shutdownGraceMs, then their signals abort. */
  #shutdown(): void {
    if (this.#stop !== null || this.#finished) return;
    this.#stop = 'interrupted';
    this.#stopping(this.#o.shutdownGraceMs, new ShutdownError());
  }

  #fatal(error: unknown): void {
    if (this.#stop === 'fatal' || this.#finished) return;
    const wasStopping = this.#stop !== null;
    this.#stop = 'fatal';
    this.#error = error;
    if (wasStopping) this.#clearStopTimers();
    this.#stopping(0, new ShutdownError(`run stopped: ${describe(error)}`, { cause: error }));
  }

  #stopping(graceMs: number, reason: Error): void {
    clearTimeout(this.#wake);
    this.#wake = undefined;
    const abortAll = () => {
      for (const attempt of this.#active.values())
        if (attempt.state === 'running') attempt.signal.abort(reason);
      // Tasks that ignore their signal get the watchdog's grace, then are cut loose.
      this.#stopTimers.push(setTimeout(() => this.#forceEnd(), this.#o.graceMs));
    };
    if (graceMs === 0) abortAll();
    else this.#stopTimers.push(setTimeout(abortAll, graceMs));
    // checkEnd runs after the caller's own bookkeeping (an interrupt of the failing task).
    queueMicrotask(() => this.#checkEnd());
  }

  #forceEnd(): void {
    if (this.#finished) return;
    for (const attempt of [...this.#active.values()]) {
      if (attempt.state === 'running') {
        attempt.state = 'abandoned';
        attempt.abandoned.abort(new ShutdownError('abandoned at shutdown'));
      }
      this.#counts.interrupted += 1;
      this.#interrupted.push(attempt.entry.key);
      this.#emit('task:interrupted', { key: attempt.entry.key, attempt: attempt.number });
      this.#active.delete(attempt.entry.key);
    }
    this.#checkEnd();
  }

  #clearStopTimers(): void {
    for (const timer of this.#stopTimers) clearTimeout(timer);
    this.#stopTimers.length = 0;
  }

  #checkEnd(): void {
    if (this.#finished) return;
    if (this.#stop !== null) {
      if (this.#active.size === 0) this.#finish(this.#stop);
      return;
    }
    const empty = this.#buffer.length === 0 && this.#waiting.length === 0 && this.#active.size === 0;
    if (this.#sourceDone && !this.#pulling && empty && this.#relogin === null) this.#finish('done');
  }

  #finish(reason: QueueSummary['reason']): void {
    this.#finished = true;
    clearTimeout(this.#wake);
    this.#clearStopTimers();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    for (const attempt of this.#active.values()) {
      clearTimeout(attempt.deadline);
      clearTimeout(attempt.watchdog);
    }
    if (!this.#pulling) this.#closeSource();
    const pending = new Set([
      ...this.#interrupted,
      ...this.#waiting.map((e) => e.key),
      ...this.#buffer.map((e) => e.key),
    ]);
    if (reason === 'done') this.#emitRaw('idle');
    const summary: QueueSummary = { ...this.#counts, pending: [...pending], reason };
    if (reason === 'fatal') summary.error = this.#error;
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

function retryAfterOf(error: unknown): number | undefined {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
