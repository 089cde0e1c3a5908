import { Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type ItemWorker, type ItemWorkerOptions, openItemWorker } from '../engine/item-worker.js';
import { classify, describe, RateLimitedError, ShutdownError, TaskTimeoutError } from '../errors.js';
import type { SavedFile } from '../files/types.js';
import {
  ABANDON_GRACE_MS,
  FLEET_PREFIX,
  type FleetJob,
  type FleetJobData,
  type FleetResult,
  MAX_FREE_REQUEUES,
  retryDelay,
  SHUTDOWN_GRACE_MS,
  workerOptions,
} from './fleet-options.js';

/** The item worker's options (site, credentials, out, pool, files, browser...) plus the fleet's. */
export interface FleetWorkerOptions<Ref> extends ItemWorkerOptions<Ref> {
  /** A connected client (maxRetriesPerRequest null); BullMQ duplicates it for its blocking reads. */
  redis: Redis;
  queueName: string;
  taskTimeoutMs: number;
  retries: number;
  /** Item starts per second for the whole fleet (0 = no limit). */
  rate: number;
  /** `hostname:pid`. */
  machine: string;
  /** After the first stop signal, in-flight items get this long before they are released. @default 10_000 */
  shutdownGraceMs?: number;
  /** How often `run` checks whether the queue is drained. @default 1000 */
  pollMs?: number;
}

export interface FleetWorkSummary {
  reason: 'done' | 'interrupted' | 'fatal';
  error?: unknown;
  /** Items this machine completed. */
  done: number;
  /** Items this machine recorded as failed. */
  failed: number;
  /** Failed jobs in the whole queue when this machine stopped. */
  queueFailed: number;
}

/** Why an attempt must give its job back without an outcome. */
type Release = 'shutdown' | 'lost';

export class FleetWorker<Ref> {
  readonly #o: FleetWorkerOptions<Ref>;
  readonly #item: ItemWorker<Ref>;
  readonly #queue: Queue<FleetJobData<Ref>, FleetResult>;
  readonly #worker: Worker<FleetJobData<Ref>, FleetResult>;
  /** Aborted when in-flight items must be released (shutdown grace over, or a fatal error). */
  readonly #release = new AbortController();
  #relogin: Promise<void> | null = null;
  #loginEpoch = 0;
  #inFlight = 0;
  #done = 0;
  #failed = 0;
  #fatal: unknown;
  #stopping: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  private constructor(options: FleetWorkerOptions<Ref>, item: ItemWorker<Ref>) {
    this.#o = options;
    this.#item = item;
    const connection = options.redis;
    this.#queue = new Queue(options.queueName, { connection, prefix: FLEET_PREFIX });
    this.#worker = new Worker<FleetJobData<Ref>, FleetResult>(
      options.queueName,
      (job, token, signal) => this.#process(job, token, signal),
      { ...workerOptions(options, options.machine), connection },
    );
    this.#worker.on('completed', (job, result) => {
      this.#done += 1;
      this.#o.events.emit('task:done', {
        key: job.data.key,
        attempt: result.attempt,
        result: result.files,
        ms: result.ms,
      });
    });
    // Another machine took the job after our lock expired: stop working on it, its outcome is theirs.
    this.#worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) this.#worker.cancelJob(id, 'lock lost');
    });
    this.#worker.on('error', (err) => this.#warn(`queue: ${describe(err)}`));
    this.#queue.on('error', (err) => this.#warn(`queue: ${describe(err)}`));
  }

  /** Launches (or borrows) the browser and logs in once; the BullMQ worker starts with `run()`. */
  static async open<Ref>(options: FleetWorkerOptions<Ref>): Promise<FleetWorker<Ref>> {
    const item = await openItemWorker(options);
    return new FleetWorker(options, item);
  }

  get pool() {
    return this.#item.pool;
  }

  /**
   * Takes jobs until the queue is drained (nothing waiting, delayed or active anywhere, and `listing()` false),
   * `signal` aborts (graceful: in-flight items finish within the grace, the rest go back to the queue), or a
   * fatal error (login refused, disk full) stops this machine.
   */
  async run(opts: { signal: AbortSignal; listing: () => Promise<boolean> }): Promise<FleetWorkSummary> {
    const { signal } = opts;
    const { events, site, concurrency } = this.#o;
    events.emit('run:start', { site: site.name, concurrency, total: null, skipped: 0 });
    const running = this.#worker.run();
    const onAbort = () => void this.stop('shutdown');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!this.#stopping) {
        await this.#sleep(this.#o.pollMs ?? 1000);
        if (this.#stopping) break;
        if (this.#inFlight > 0) continue;
        if ((await openJobs(this.#queue)) === 0 && this.#inFlight === 0 && !(await opts.listing())) {
          events.emit('idle');
          await this.stop('drained');
        }
      }
      await this.#stopping;
      await running.catch((err: unknown) => this.#warn(`queue: ${describe(err)}`));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    const queueFailed = await this.#queue.getFailedCount().catch(() => 0);
    const reason = this.#fatal !== undefined ? 'fatal' : signal.aborted ? 'interrupted' : 'done';
    const summary: FleetWorkSummary = { reason, done: this.#done, failed: this.#failed, queueFailed };
    if (this.#fatal !== undefined) summary.error = this.#fatal;
    events.emit('run:end', reason === 'fatal' ? { reason, error: this.#fatal } : { reason });
    return summary;
  }

  /**
   * Stops taking jobs. 'shutdown' lets in-flight items finish for the grace period, then releases them to the
   * queue; 'fatal' releases them at once; 'drained' has nothing in flight.
   */
  stop(why: 'shutdown' | 'fatal' | 'drained', error?: unknown): Promise<void> {
    if (why === 'fatal' && this.#fatal === undefined) this.#fatal = error;
    if (why === 'fatal') this.#release.abort(error);
    if (this.#stopping) return this.#stopping;
    let grace: NodeJS.Timeout | undefined;
    if (why === 'shutdown') {
      grace = setTimeout(
        () => this.#release.abort(new ShutdownError('shutdown grace over')),
        this.#o.shutdownGraceMs ?? SHUTDOWN_GRACE_MS,
      );
    }
    this.#stopping = this.#worker.close().finally(() => clearTimeout(grace));
    this.#wake?.();
    return this.#stopping;
  }

  async close(): Promise<void> {
    await this.stop('drained');
    await this.#queue.close().catch(() => {});
    await this.#item.close();
  }

  // ---- one job ----

  async #process(
    job: FleetJob<Ref>,
    token: string | undefined,
    lost: AbortSignal | undefined,
  ): Promise<FleetResult> {
    const { key, ref } = job.data;
    const { events, taskTimeoutMs, machine } = this.#o;
    const attempt = job.attemptsMade + 1;
    this.#inFlight += 1;
    try {
      // Items started during a re-login would meet the same expired session.
      if (this.#relogin) await this.#relogin.catch(() => {});
      const epoch = this.#loginEpoch;
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(new TaskTimeoutError(`task ${key} timed out after ${taskTimeoutMs} ms`)),
        taskTimeoutMs,
      );
      const abandoned = new AbortController();
      const signals = [deadline.signal, this.#release.signal, ...(lost ? [lost] : [])];
      const signal = AbortSignal.any(signals);
      const started = Date.now();
      events.emit('task:start', { key, attempt });
      try {
        const files = await settleWithin(
          this.#item.work(ref, { key, attempt, signal, abandoned: abandoned.signal }),
          signal,
          ABANDON_GRACE_MS,
          (reason) => {
            abandoned.abort(reason);
            events.emit('task:abandoned', { key, attempt });
          },
        );
        return { files: files.map(toRecord), machine, attempt, ms: Date.now() - started };
      } catch (err) {
        const release: Release | null = this.#release.signal.aborted
          ? 'shutdown'
          : lost?.aborted
            ? 'lost'
            : null;
        if (release) throw await this.#giveBack(job, token, attempt, release);
        let error = err;
        if (deadline.signal.aborted && classify(error) === 'retry' && !(error instanceof TaskTimeoutError)) {
          error = new TaskTimeoutError(`task ${key} timed out after ${taskTimeoutMs} ms`, { cause: error });
        }
        throw await this.#failure(job, token, attempt, error, epoch, Date.now() - started);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#wake?.();
    }
  }

  /** Turns an attempt's error into what BullMQ must do with the job; resolves with the error to throw. */
  async #failure(
    job: FleetJob<Ref>,
    token: string | undefined,
    attempt: number,
    error: unknown,
    epoch: number,
    ms: number,
  ): Promise<Error> {
    const { events } = this.#o;
    const key = job.data.key;
    const reason = describe(error);
    // 429s, re-logins and releases are not the item's fault; past a bound they count like any failure.
    const freeLeft = job.attemptsStarted - job.attemptsMade - 1 < MAX_FREE_REQUEUES;
    let decision = classify(error);
    if ((decision === 'backoff' || decision === 'relogin') && !freeLeft) decision = 'retry';
    switch (decision) {
      case 'fatal':
        // A full disk or a refused login says nothing about the item: it goes back, this machine stops.
        void this.stop('fatal', error);
        return this.#giveBack(job, token, attempt, 'shutdown');
      case 'backoff': {
        const waitMs = error instanceof RateLimitedError ? error.retryAfterMs : retryDelay(1);
        // The limiter key is shared: every machine holds its new starts until Retry-After.
        await this.#queue.rateLimit(Math.max(1, waitMs));
        events.emit('backoff', { untilMs: Date.now() + waitMs, reason });
        events.emit('task:retry', { key, attempt, error, reason, delayMs: waitMs });
        return Worker.RateLimitError();
      }
      case 'relogin': {
        await this.#reloginOnce(epoch).catch((err: unknown) => void this.stop('fatal', err));
        events.emit('task:retry', { key, attempt, error, reason, delayMs: 0 });
        return this.#requeue(job, token);
      }
      case 'permanent':
        await this.#record(job, attempt, error, true);
        this.#failed += 1;
        events.emit('task:failed', { key, attempt, error, reason, permanent: true, ms });
        return new UnrecoverableError(reason);
      default: {
        const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (final) {
          await this.#record(job, attempt, error, false);
          this.#failed += 1;
          events.emit('task:failed', { key, attempt, error, reason, permanent: false, ms });
          return new Error(reason);
        }
        const delayMs = retryDelay(job.attemptsMade + 1);
        events.emit('task:retry', { key, attempt, error, reason, delayMs });
        // The worker's backoff strategy reads the delay announced here, so the event and BullMQ agree.
        return Object.assign(new Error(reason), { retryDelayMs: delayMs });
      }
    }
  }

  /** The job goes back to the queue without an outcome or a charged attempt. */
  async #giveBack(
    job: FleetJob<Ref>,
    token: string | undefined,
    attempt: number,
    why: Release,
  ): Promise<Error> {
    this.#o.events.emit('task:interrupted', { key: job.data.key, attempt });
    // A lost lock means another machine has the job now: it is not ours to move.
    if (why === 'lost') return new WaitingError();
    return this.#requeue(job, token);
  }

  async #requeue(job: FleetJob<Ref>, token: string | undefined): Promise<Error> {
    await job.moveToWait(token).catch((err: unknown) => this.#warn(`${job.data.key}: ${describe(err)}`));
    return new WaitingError();
  }

  /** A final failure's record on the job (the checkpoint's "failed" line), read by `status` and `enqueue`. */
  async #record(job: FleetJob<Ref>, attempt: number, error: unknown, permanent: boolean): Promise<void> {
    const code = (error as { code?: unknown })?.code;
    const failure = {
      reason: describe(error),
      ...(typeof code === 'string' ? { code } : {}),
      permanent,
      machine: this.#o.machine,
      attempt,
    };
    await job.updateData({ ...job.data, failure }).catch((err: unknown) => this.#warn(describe(err)));
  }

  /** One shared re-login on this machine; a re-login finished since the attempt started already fixed it. */
  async #reloginOnce(epoch: number): Promise<void> {
    if (this.#loginEpoch > epoch) return;
    this.#relogin ??= (async () => {
      this.#o.events.emit('relogin', { done: false });
      try {
        await this.#item.relogin();
        this.#loginEpoch += 1;
      } finally {
        this.#relogin = null;
        this.#o.events.emit('relogin', { done: true });
      }
    })();
    await this.#relogin;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #warn(message: string): void {
    this.#o.events.emit('warning', { message });
  }
}

/** Jobs not finished anywhere in the fleet: waiting, delayed, or in flight on some machine. */
export async function openJobs<Ref>(queue: Queue<FleetJobData<Ref>, FleetResult>): Promise<number> {
  const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function toRecord(file: SavedFile): { path: string; bytes: number; sha256: string } {
  return { path: file.path, bytes: file.bytes, sha256: file.sha256 };
}

/**
 * The work's result; or, when it ignores `signal` for `graceMs` after the abort, the abort reason (and
 * `onAbandon` poisons whatever the work holds). A timeout must cancel the work, not just stop waiting for it.
 */
function settleWithin<T>(
  work: Promise<T>,
  signal: AbortSignal,
  graceMs: number,
  onAbandon: (reason: unknown) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => {
        onAbandon(signal.reason);
        reject(signal.reason);
      }, graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}
