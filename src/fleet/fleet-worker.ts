// One fleet machine on the BullMQ queue: takes jobs, runs each attempt under the shared attempt policy and timer,
// and maps each verdict onto BullMQ (retry with backoff, rate-limit the queue, give the job back, fail it).

import type { EventEmitter } from 'node:events';
import { DelayedError, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PagePool } from '../browser/page-pool.js';
import type { RecordedFile } from '../checkpoint/recorded-file.js';
import { type AttemptContext, type ItemWorkerOptions, openItemWorker } from '../engine/item-worker.js';
import type { PageGate } from '../engine/stage.js';
import type { UploadStep } from '../engine/upload-step.js';
import { ConfigError, classify, describe, ShutdownError } from '../errors.js';
import {
  afterLoginFailure,
  type Charges,
  codeOf,
  decide,
  type PolicyOptions,
  timeoutOf,
} from '../queue/attempt-policy.js';
import { AttemptTimer } from '../queue/attempt-timer.js';
import type { BackoffOptions } from '../queue/backoff-delay.js';
import { QUEUE_DEFAULTS } from '../queue/queue-options.js';
import type { SingleFlightLogin } from '../queue/single-flight-login.js';
import type { RunEvents } from '../run-events.js';
import {
  FLEET_PREFIX,
  type FleetJob,
  type FleetJobData,
  type FleetResult,
  workerOptions,
} from './fleet-options.js';

/** The fleet's own settings of one machine. */
export interface FleetQueueOptions {
  /** A connected client (maxRetriesPerRequest null); BullMQ duplicates it for its blocking reads. */
  redis: Redis;
  queueName: string;
  /** Pages: items in the browser stage on this machine. */
  concurrency: number;
  /**
   * Items in the download stage on this machine (the item worker's, after `releasePage()`): BullMQ runs
   * `concurrency + downloads` jobs at once, the page pool and the stage bound each part. @default 0 (plain work)
   */
  downloads?: number;
  events: EventEmitter<RunEvents>;
  taskTimeoutMs: number;
  retries: number;
  /** Item starts per second for the whole fleet (0 = no limit). */
  rate: number;
  /** `hostname:pid`. */
  machine: string;
  /** An attempt still running this long after its deadline (or its release) is abandoned. @default 5_000 */
  graceMs?: number;
  /** After the first stop signal, in-flight items get this long before they are released. @default 10_000 */
  shutdownGraceMs?: number;
  /** How often `run` checks whether the queue is drained. @default 1000 */
  pollMs?: number;
  /** Delay between retries of one item. @default QUEUE_DEFAULTS.backoff */
  backoff?: BackoffOptions;
}

/** The item worker's options (site, credentials, out, pool, files, browser...) plus the fleet's. */
export interface FleetWorkerOptions<Ref> extends ItemWorkerOptions<Ref>, FleetQueueOptions {
  /** Upload each item's files before its job completes; the job's outcome names the objects. */
  upload?: UploadStep | null;
}

/** What the fleet runs: one attempt at one item, the machine's one login, and how to close it. */
export interface FleetWork<Ref> {
  work(ref: Ref, ctx: AttemptContext): Promise<RecordedFile[]>;
  login: SingleFlightLogin;
  /**
   * The browser stage as the start gate: an attempt starts (and its deadline runs) only when a page is free for
   * it, as in the in-process queue. Without it (plain work) every job BullMQ hands over starts at once.
   */
  pages?: PageGate;
  close(): Promise<void>;
  /** After the job completed: e.g. the upload step deletes local copies (`--no-keep-local`). */
  completed?(files: readonly RecordedFile[]): Promise<void>;
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
  readonly #o: FleetQueueOptions;
  readonly #work: FleetWork<Ref>;
  readonly #pool: PagePool | undefined;
  readonly #queue: Queue<FleetJobData<Ref>, FleetResult>;
  readonly #worker: Worker<FleetJobData<Ref>, FleetResult>;
  /** Aborted when in-flight items must be released (shutdown grace over, or a fatal error). */
  readonly #releaseController = new AbortController();
  /** Aborted when a shutdown or a fatal error begins: jobs waiting to start stop waiting and go back. */
  readonly #stopController = new AbortController();
  #inFlight = 0;
  #done = 0;
  #failed = 0;
  #fatal: unknown;
  /** Set once a shutdown or a fatal error began: an attempt that fails from then on is given back, not charged. */
  #stopReason: 'shutdown' | 'fatal' | 'drained' | undefined;
  #stopping: Promise<void> | undefined;
  /** Until when this machine holds its own starts after a 429 it got: set at once, before the fleet-wide hold is. */
  #heldUntil = 0;
  #wake: (() => void) | undefined;
  readonly #onLoginStart = () => this.#o.events.emit('relogin', { done: false });
  readonly #onLoginEnd = () => this.#o.events.emit('relogin', { done: true });

  /** A machine that runs `work` on the queue's jobs (tests give it plain async work; `open` gives it a browser). */
  constructor(options: FleetQueueOptions, work: FleetWork<Ref>, pool?: PagePool) {
    this.#o = options;
    this.#work = work;
    this.#pool = pool;
    const connection = options.redis;
    this.#queue = new Queue(options.queueName, { connection, prefix: FLEET_PREFIX });
    this.#worker = new Worker<FleetJobData<Ref>, FleetResult>(
      options.queueName,
      (job, token, signal) => this.#process(job, token, signal),
      {
        ...workerOptions(
          { ...options, concurrency: options.concurrency + (options.downloads ?? 0) },
          options.machine,
        ),
        connection,
      },
    );
    this.#worker.on('completed', (job, result) => {
      this.#done += 1;
      work
        .completed?.(result.files)
        .catch((err: unknown) => this.#warn(`${job.data.key}: local copy not deleted: ${describe(err)}`));
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
    work.login.on('start', this.#onLoginStart);
    work.login.on('end', this.#onLoginEnd);
  }

  /** Launches (or borrows) the browser and logs in once; the BullMQ worker starts with `run()`. */
  static async open<Ref>(options: FleetWorkerOptions<Ref>): Promise<FleetWorker<Ref>> {
    const item = await openItemWorker(options);
    const { upload } = options;
    const withDownloads = { ...options, downloads: item.downloads.limit };
    if (!upload) return new FleetWorker(withDownloads, item, item.pool);
    // No checkpoint here: a job taken again after a crash is pulled again, and the sink skips objects already
    // in the bucket with the same sha256.
    const work: FleetWork<Ref> = {
      login: item.login,
      pages: item.pages,
      close: () => item.close(),
      work: (ref, ctx) =>
        upload.attempt({ key: ctx.key, signal: ctx.signal, pull: () => item.work(ref, ctx) }),
      completed: (files) => upload.recorded(files),
    };
    return new FleetWorker(withDownloads, work, item.pool);
  }

  get pool(): PagePool {
    if (!this.#pool) throw new ConfigError('This fleet worker runs plain work: it has no page pool');
    return this.#pool;
  }

  /** The machine's one login: the listing of `run` shares it with the workers. */
  get login(): SingleFlightLogin {
    return this.#work.login;
  }

  /**
   * Takes jobs until the queue is drained (nothing waiting, delayed or active anywhere, and `listing()` false),
   * `signal` aborts (graceful: in-flight items finish within the grace, the rest go back to the queue), or a
   * fatal error (login refused, disk full) stops this machine.
   */
  async run(opts: { signal: AbortSignal; listing: () => Promise<boolean> }): Promise<FleetWorkSummary> {
    const { signal } = opts;
    const { events, queueName, concurrency, downloads } = this.#o;
    events.emit('run:start', {
      site: queueName,
      concurrency,
      ...(downloads ? { downloads } : {}),
      total: null,
      skipped: 0,
    });
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
    if (why === 'fatal') {
      this.#stopReason = 'fatal';
      this.#stopController.abort();
      this.#releaseController.abort(new ShutdownError(`run stopped: ${describe(error)}`, { cause: error }));
    }
    if (this.#stopping) return this.#stopping;
    this.#stopReason ??= why;
    if (this.#stoppingNow()) this.#stopController.abort();
    let grace: NodeJS.Timeout | undefined;
    if (why === 'shutdown') {
      grace = setTimeout(
        () => this.#releaseController.abort(new ShutdownError()),
        this.#o.shutdownGraceMs ?? QUEUE_DEFAULTS.shutdownGraceMs,
      );
    }
    this.#stopping = this.#worker.close().finally(() => clearTimeout(grace));
    this.#wake?.();
    return this.#stopping;
  }

  async close(): Promise<void> {
    await this.stop('drained');
    this.#work.login.off('start', this.#onLoginStart);
    this.#work.login.off('end', this.#onLoginEnd);
    await this.#queue.close().catch(() => {});
    await this.#work.close();
  }

  // ---- one job ----

  async #process(
    job: FleetJob<Ref>,
    token: string | undefined,
    lost: AbortSignal | undefined,
  ): Promise<FleetResult> {
    const { key, ref } = job.data;
    const { events, taskTimeoutMs, machine } = this.#o;
    const login = this.#work.login;
    // Every start counts, as in the in-process queue (free retries included); BullMQ counts this one already.
    const attempt = Math.max(1, job.attemptsStarted);
    this.#inFlight += 1;
    try {
      // Checked again right after each wait, in the same synchronous run as the attempt's start below: two jobs
      // woken together cannot both take the last page.
      do await this.#startGate();
      while (!this.#stoppingNow() && !this.#startable());
      // A job BullMQ handed over while this machine was already stopping goes straight back, unstarted.
      if (this.#stoppingNow()) throw await this.#requeue(job, token);
      const epoch = login.epoch;
      let cutLoose = false;
      let abandon!: (reason: unknown) => void;
      const abandoned = new Promise<never>((_, reject) => {
        abandon = reject;
      });
      const timer = new AttemptTimer({
        key,
        taskTimeoutMs,
        graceMs: this.#o.graceMs ?? QUEUE_DEFAULTS.graceMs,
        onWatchdog: (reason) => {
          timer.abandon(reason);
          // Cut loose at a stop, the item is only given back (as the in-process queue interrupts it).
          if (!cutLoose) events.emit('task:abandoned', { key, attempt });
          abandon(reason);
        },
      });
      const onRelease = (signal: AbortSignal) => () => {
        cutLoose = true;
        timer.cutLoose(signal.reason);
      };
      const releases = [this.#releaseController.signal, ...(lost ? [lost] : [])].map((signal) => {
        const listener = onRelease(signal);
        if (signal.aborted) listener();
        else signal.addEventListener('abort', listener, { once: true });
        return () => signal.removeEventListener('abort', listener);
      });
      const started = Date.now();
      events.emit('task:start', { key, attempt });
      try {
        const ctx = {
          key,
          attempt,
          signal: timer.controller.signal,
          abandoned: timer.abandonController.signal,
          // Queued again by `enqueue --refresh-after`: a refresh against the files it completed with.
          previous: job.data.previous ?? null,
        };
        abandoned.catch(() => {});
        const files = await Promise.race([this.#work.work(ref, ctx), abandoned]);
        return { files: files.map(toRecord), machine, attempt, ms: Date.now() - started };
      } catch (err) {
        // Whatever did not finish once a stop began stays queued: never charged, never recorded as failed.
        const release: Release | null = this.#stoppingNow() ? 'shutdown' : lost?.aborted ? 'lost' : null;
        if (release) throw await this.#giveBack(job, token, attempt, release);
        const error = timer.timedOut ? timeoutOf(err, key, taskTimeoutMs, classify) : err;
        throw await this.#failure(job, token, attempt, error, epoch, Date.now() - started);
      } finally {
        timer.clear();
        for (const remove of releases) remove();
      }
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#wake?.();
    }
  }

  /**
   * Waits until an attempt may start, as the in-process queue's scheduler does: no fleet-wide hold (a 429's
   * Retry-After, set by any machine with `queue.rateLimit`), no re-login in flight here, and a free page. BullMQ
   * hands this machine `concurrency + downloads` jobs; those past the pages wait here, their deadline not yet
   * running. Resolves at once when a stop begins (the caller gives the job back); the caller checks
   * `#startable()` again before it starts.
   */
  async #startGate(): Promise<void> {
    const { pages } = this.#work;
    const login = this.#work.login;
    while (!this.#stoppingNow()) {
      const fleetHoldMs = await this.#queue.getRateLimitTtl(HOLD_MARK).catch(() => 0);
      const holdMs = Math.max(fleetHoldMs, this.#heldUntil - Date.now());
      if (holdMs > 0) {
        await this.#pause(holdMs);
        continue;
      }
      if (this.#stoppingNow()) return;
      if (login.inFlight) {
        await login.inFlight.catch(() => {});
        continue;
      }
      if (pages && !pages.open()) {
        await this.#pageFree(pages);
        continue;
      }
      return;
    }
  }

  /** No re-login in flight, a page free, no hold of this machine's own: what an attempt needs to start. */
  #startable(): boolean {
    const { pages, login } = this.#work;
    return !login.inFlight && (!pages || pages.open()) && Date.now() >= this.#heldUntil;
  }

  /** Resolves when `pages` has room again, or a stop begins. */
  #pageFree(pages: PageGate): Promise<void> {
    return new Promise((resolve) => {
      const stop = this.#stopController.signal;
      const done = () => {
        off();
        stop.removeEventListener('abort', done);
        resolve();
      };
      const off = pages.onOpen(done);
      if (stop.aborted) done();
      else stop.addEventListener('abort', done, { once: true });
    });
  }

  /** Sleeps `ms`, or less when a stop begins. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const stop = this.#stopController.signal;
      const done = () => {
        clearTimeout(timer);
        stop.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (stop.aborted) done();
      else stop.addEventListener('abort', done, { once: true });
    });
  }

  /** Maps the policy's verdict onto BullMQ; resolves with the error to throw. */
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
    const policy = this.#policy(job);
    // BullMQ counts what was charged (attemptsMade); every other start of the job was a free retry (or a release).
    const charges: Charges = {
      charged: job.attemptsMade,
      free: Math.max(0, job.attemptsStarted - job.attemptsMade - 1),
    };
    const now = Date.now();
    const verdict = decide(error, charges, policy, now);
    switch (verdict.kind) {
      case 'fatal':
        // A full disk or a refused login says nothing about the item: it goes back, this machine stops.
        void this.stop('fatal', error);
        return this.#giveBack(job, token, attempt, 'shutdown');
      case 'fail':
        await this.#record(job, attempt, error, verdict.permanent);
        this.#failed += 1;
        events.emit('task:failed', { key, attempt, error, reason, permanent: verdict.permanent, ms });
        return new UnrecoverableError(reason);
      case 'retry':
        events.emit('task:retry', { key, attempt, error, reason, delayMs: verdict.delayMs });
        return charged(reason, verdict.delayMs);
      case 'hold': {
        const waitMs = Math.max(0, verdict.untilMs - now);
        // Before the await below: a job waiting for the page this attempt just freed must not start meanwhile.
        this.#heldUntil = Math.max(this.#heldUntil, verdict.untilMs);
        // The limiter key is shared: every machine holds its new starts until Retry-After.
        await this.#queue.rateLimit(Math.max(1, waitMs));
        events.emit('backoff', { untilMs: verdict.untilMs, reason });
        events.emit('task:retry', { key, attempt, error, reason, delayMs: waitMs });
        return verdict.charge === 'free' ? Worker.RateLimitError() : charged(reason, waitMs);
      }
      case 'relogin': {
        let delayMs = 0;
        try {
          // Joins the login in flight; none when one completed since this attempt started.
          await this.#work.login.relogin(epoch);
        } catch (err) {
          const next = afterLoginFailure(err, policy);
          if (next.kind === 'fatal') {
            void this.stop('fatal', err);
            return this.#giveBack(job, token, attempt, 'shutdown');
          }
          delayMs = next.delayMs;
        }
        events.emit('task:retry', { key, attempt, error, reason, delayMs });
        if (verdict.charge === 'charged') return charged(reason, delayMs);
        if (delayMs === 0) return this.#requeue(job, token);
        await job
          .moveToDelayed(Date.now() + delayMs, token)
          .catch((err: unknown) => this.#warn(`${key}: ${describe(err)}`));
        return new DelayedError();
      }
    }
  }

  /** The job's own retries (it carries them from `enqueue`) under the shared policy. */
  #policy(job: FleetJob<Ref>): PolicyOptions {
    const retries = Math.max(0, (job.opts.attempts ?? 1) - 1);
    return { retries, backoff: this.#o.backoff ?? QUEUE_DEFAULTS.backoff, classify, canRelogin: true };
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
    const code = codeOf(error);
    const failure = {
      reason: describe(error),
      ...(code ? { code } : {}),
      permanent,
      machine: this.#o.machine,
      attempt,
    };
    await job.updateData({ ...job.data, failure }).catch((err: unknown) => this.#warn(describe(err)));
  }

  /** A shutdown or a fatal error began (a drained stop has nothing in flight). */
  #stoppingNow(): boolean {
    return this.#stopReason === 'shutdown' || this.#stopReason === 'fatal';
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

/**
 * `queue.rateLimit(ms)` sets the limiter's counter to MAX_SAFE_INTEGER: asking for the TTL only when the counter
 * is that high tells a hold (a 429 somewhere) from an ordinary full `--rate` window, which BullMQ enforces itself.
 */
const HOLD_MARK = Number.MAX_SAFE_INTEGER;

/** A charged retry: BullMQ counts the attempt and its backoff strategy waits the delay announced here. */
function charged(reason: string, delayMs: number): Error {
  return Object.assign(new Error(reason), { retryDelayMs: delayMs });
}

/** Jobs not finished anywhere in the fleet: waiting, delayed, or in flight on some machine. */
export async function openJobs<Ref>(queue: Queue<FleetJobData<Ref>, FleetResult>): Promise<number> {
  const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function toRecord(file: RecordedFile): RecordedFile {
  const { path, bytes, sha256, object, etag, http, change } = file;
  const record: RecordedFile =
    object !== undefined && etag !== undefined
      ? { path, bytes, sha256, object, etag }
      : { path, bytes, sha256 };
  if (http !== undefined) record.http = http;
  if (change !== undefined) record.change = change;
  return record;
}
