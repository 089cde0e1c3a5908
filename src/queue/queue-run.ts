// One run of the in-process queue: pulls the source into the scheduler, starts what the scheduler and the attempt
// runner's start gate allow, and maps each attempt's outcome onto the scheduler (the retry queue) and the commit.

import type { Attempt, Outcome, TaskContext } from './attempt.js';
import type { Charges } from './attempt-policy.js';
import { AttemptRunner, type Emit } from './attempt-runner.js';
import type { ResolvedQueueOptions, TaskOutcome } from './queue-options.js';
import { RateHold } from './rate-hold.js';
import { type Entry, Scheduler } from './scheduler.js';

export type { TaskContext } from './attempt.js';

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
export type { Emit };

export class QueueRun<T, R> {
  readonly summary: Promise<QueueSummary>;
  readonly #o: ResolvedQueueOptions<T, R>;
  readonly #emitRaw: Emit<R>;
  readonly #source: AsyncIterator<T>;
  readonly #work: Work<T, R>;
  readonly #signal: AbortSignal | undefined;
  readonly #hold: RateHold;
  readonly #scheduler: Scheduler<T>;
  readonly #runner: AttemptRunner<R>;
  readonly #seen = new Set<string>();
  readonly #interrupted: string[] = [];
  #offGate: (() => void) | undefined;
  #sourceDone = false;
  #pulling = false;
  #finished = false;
  #duplicates = 0;
  #resolve!: (summary: QueueSummary) => void;
  readonly #onAbort = () => this.#runner.shutdown();

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
    this.#hold = options.hold ?? new RateHold();
    this.#scheduler = new Scheduler<T>({ ...options, onWake: () => this.#tick() });
    this.#runner = new AttemptRunner<R>({
      ...options,
      hold: this.#hold,
      capacity: options.gate,
      emit: (name, ...args) => {
        if (!this.#finished) this.#emitRaw(name, ...args);
      },
    });
    this.#runner.onStop(() => {
      this.#scheduler.stop();
      // checkEnd runs after the caller's own bookkeeping (an interrupt of the failing task).
      queueMicrotask(() => this.#checkEnd());
    });
    this.summary = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  start(): void {
    if (this.#signal?.aborted) {
      this.#runner.shutdown();
      return;
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#offGate = this.#runner.gate.onChange(() => this.#tick());
    this.#tick();
  }

  metrics(): QueueMetrics {
    const now = this.#o.now();
    const inFlight = this.#runner.inFlight;
    return {
      queued: this.#scheduler.prefetched,
      retryQueued: this.#scheduler.retrying,
      inFlight,
      oldestInFlightMs: now - this.#runner.oldestStart(now),
      utilisation: inFlight / this.#o.concurrency,
      limit: this.#scheduler.limit,
      heldUntil: this.#hold.heldUntil(now),
    };
  }

  // ---- scheduling ----

  /** Called after every change: start what may start, pull what may be pulled, end the run if nothing is left. */
  #tick(): void {
    if (this.#finished) return;
    if (this.#runner.stopReason === null) {
      this.#scheduler.startReady(this.#runner.gate, (entry, seq) => this.#run(entry, seq));
      void this.#pump();
    }
    this.#checkEnd();
  }

  /** Feeds the adaptive limit and says so when it moves. */
  #adapt(seq: number, ms: number | null): void {
    const change = this.#scheduler.adapt(seq, ms);
    if (change) this.#emit('concurrency', { limit: this.#scheduler.limit, reason: change });
  }

  /** The only loop that calls the source's next(): one pull at a time, never more than prefetch + free slots ahead. */
  async #pump(): Promise<void> {
    if (this.#pulling) return;
    this.#pulling = true;
    try {
      while (!this.#sourceDone && this.#runner.stopReason === null && this.#scheduler.wantsMore()) {
        let result: IteratorResult<T>;
        try {
          result = await this.#source.next();
        } catch (err) {
          this.#sourceDone = true;
          this.#runner.fatal(err);
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
          this.#runner.fatal(err);
          return;
        }
        if (this.#seen.has(key)) {
          this.#duplicates += 1;
          this.#emit('task:duplicate', { key });
          continue;
        }
        this.#seen.add(key);
        this.#scheduler.add({ key, item: result.value, attempts: 0, charges: NOTHING, readyAt: 0 });
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
    const attempt = this.#runner.start(entry, (ctx) => this.#work(entry.item, ctx));
    entry.attempts = attempt.number;
    void attempt.outcome.then((outcome) => this.#ended(entry, attempt, seq, outcome));
  }

  /** Maps an attempt's outcome onto the scheduler and the commit, then reports it and frees its slot. */
  async #ended(entry: Entry<T>, attempt: Attempt<R>, seq: number, outcome: Outcome<R>): Promise<void> {
    const { key, item } = entry;
    switch (outcome.kind) {
      case 'done': {
        const { value: result, ms } = outcome;
        const { charged, free } = entry.charges;
        const done = {
          status: 'done',
          key,
          item,
          attempt: attempt.number,
          charged,
          free,
          result,
          ms,
        } as const;
        if (!(await this.#commit(attempt, done))) return;
        this.#adapt(seq, ms);
        break;
      }
      case 'retry':
        entry.charges = outcome.charges;
        if (outcome.cause !== 'relogin') this.#adapt(seq, null);
        this.#scheduler.retry(entry, outcome.delayMs);
        break;
      case 'failed': {
        entry.charges = outcome.charges;
        if (!outcome.permanent) this.#adapt(seq, null);
        const { error, reason, code, permanent, ms } = outcome;
        const { charged, free } = outcome.charges;
        const n = attempt.number;
        const failed = {
          status: 'failed',
          key,
          item,
          attempt: n,
          charged,
          free,
          error,
          reason,
          code,
          permanent,
          ms,
        } as const;
        if (!(await this.#commit(attempt, failed))) return;
        break;
      }
      case 'interrupted':
        this.#interrupted.push(key);
        break;
    }
    this.#release(attempt, outcome);
  }

  /** Awaits the checkpoint; false (the run goes fatal, the task stays pending) when it throws. */
  async #commit(attempt: Attempt<R>, outcome: TaskOutcome<T, R>): Promise<boolean> {
    if (!this.#o.commit) return true;
    try {
      await this.#o.commit(outcome);
      return true;
    } catch (err) {
      // A checkpoint that cannot write means every later result would be lost too.
      this.#runner.fatal(err);
      this.#interrupted.push(attempt.key);
      this.#release(attempt, { kind: 'interrupted', lost: false });
      return false;
    }
  }

  /** The outcome's event goes out and the attempt gives its slot back (once). */
  #release(attempt: Attempt<R>, outcome: Outcome<R>): void {
    this.#runner.report(attempt.ref, outcome);
    this.#runner.release(attempt);
    this.#scheduler.release();
    this.#tick();
  }

  // ---- stopping ----

  #checkEnd(): void {
    if (this.#finished) return;
    const reason = this.#runner.stopReason;
    if (reason !== null) {
      if (this.#runner.inFlight === 0) this.#finish(reason);
      return;
    }
    const idle = this.#scheduler.empty && this.#runner.inFlight === 0 && !this.#o.login?.inFlight;
    if (this.#sourceDone && !this.#pulling && idle) this.#finish('done');
  }

  #finish(done: QueueSummary['reason']): void {
    // A listener that throws on 'idle' makes the run fatal; it must never keep the summary from coming.
    if (done === 'done') this.#emit('idle');
    const reason = this.#runner.stopReason ?? done;
    this.#finished = true;
    this.#scheduler.stop();
    const { counts } = this.#runner;
    const error = this.#runner.stopError;
    this.#runner.close();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#offGate?.();
    if (!this.#pulling) this.#closeSource();
    const pending = new Set([...this.#interrupted, ...this.#scheduler.pendingKeys()]);
    const summary: QueueSummary = { ...counts, duplicates: this.#duplicates, pending: [...pending], reason };
    if (reason === 'fatal') summary.error = error;
    this.#resolve(summary);
  }

  /** The queue's own events; a throwing listener ends the run instead of corrupting its state. */
  #emit: Emit<R> = (name, ...args) => {
    if (this.#finished) return;
    try {
      this.#emitRaw(name, ...args);
    } catch (err) {
      this.#runner.fatal(err);
    }
  };

  #closeSource(): void {
    if (this.#sourceDone) return;
    this.#sourceDone = true;
    // The source may hold a page or a file handle; its own errors on close are not the run's.
    Promise.resolve()
      .then(() => this.#source.return?.())
      .catch(() => {});
  }
}

const NOTHING: Charges = Object.freeze({ charged: 0, free: 0 });

function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const iterator = source[Symbol.iterator]();
  return {
    next: async () => iterator.next(),
    return: async () => iterator.return?.() ?? { done: true, value: undefined },
  };
}
