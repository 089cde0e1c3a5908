// One fleet machine on the BullMQ queue: the shared attempt runner runs each job's attempt (start gate, clock,
// policy, hold, re-login, stop); this file maps its outcomes onto BullMQ and keeps each job's charges on the job.
import { DelayedError, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { PagePool } from '../browser/page-pool.js';
import type { RecordedFile } from '../checkpoint/recorded-file.js';
import { ConfigError, classify, describe } from '../errors.js';
import type { Attempt, Outcome } from '../queue/attempt.js';
import { AttemptRunner } from '../queue/attempt-runner.js';
import { QUEUE_DEFAULTS } from '../queue/queue-options.js';
import { RateHold } from '../queue/rate-hold.js';
import type { SingleFlightLogin } from '../queue/single-flight-login.js';
import { FleetHold } from './fleet-hold.js';
import type { FleetWork } from './fleet-machine.js';
import {
  FLEET_PREFIX,
  type FleetJob,
  type FleetJobData,
  type FleetQueueOptions,
  type FleetResult,
  type FleetWorkSummary,
  workerOptions,
} from './fleet-options.js';

export class FleetWorker<Ref> {
  readonly #o: FleetQueueOptions;
  readonly #work: FleetWork<Ref>;
  readonly #pool: PagePool | undefined;
  readonly #queue: Queue<FleetJobData<Ref>, FleetResult>;
  readonly #worker: Worker<FleetJobData<Ref>, FleetResult>;
  readonly #runner: AttemptRunner<RecordedFile[]>;
  readonly #hold: FleetHold;
  /** Jobs BullMQ handed to this machine and not yet given back (waiting at the start gate or running). */
  #jobs = 0;
  #stopping: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  /** A machine that runs `work` on the queue's jobs (tests give it plain async work; `open` gives it a browser). */
  constructor(options: FleetQueueOptions, work: FleetWork<Ref>, pool?: PagePool) {
    this.#o = options;
    this.#work = work;
    this.#pool = pool;
    const { redis: connection, events } = options;
    this.#queue = new Queue(options.queueName, { connection, prefix: FLEET_PREFIX });
    const slots = options.concurrency + (options.downloads ?? 0);
    this.#worker = new Worker<FleetJobData<Ref>, FleetResult>(
      options.queueName,
      (job, token, lost) => this.#process(job, token, lost),
      { ...workerOptions({ ...options, concurrency: slots }, options.machine), connection },
    );
    const hold = work.hold ?? new RateHold();
    this.#hold = new FleetHold(this.#queue, connection, hold, (message) => this.#warn(message));
    const d = QUEUE_DEFAULTS;
    this.#runner = new AttemptRunner<RecordedFile[]>({
      taskTimeoutMs: options.taskTimeoutMs,
      graceMs: options.graceMs ?? d.graceMs,
      shutdownGraceMs: options.shutdownGraceMs ?? d.shutdownGraceMs,
      retries: options.retries,
      backoff: options.backoff ?? d.backoff,
      classify,
      now: Date.now,
      login: work.login,
      // `--rate` is fleet-wide: BullMQ's limiter spaces the jobs it hands out.
      rate: 0,
      hold,
      capacity: work.pages,
      emit: (name, ...args) => (events.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args),
    });
    this.#runner.onStop(() => void this.#close());
    // Reported once BullMQ has recorded the completion, as the in-process queue reports after its commit.
    this.#worker.on('completed', (job, result) => {
      work
        .completed?.(result.files)
        .catch((err: unknown) => this.#warn(`${job.data.key}: local copy not deleted: ${describe(err)}`));
      const { attempt, files, ms } = result;
      this.#runner.report({ key: job.data.key, attempt }, { kind: 'done', value: files, ms });
    });
    // Another machine took the job after our lock expired: stop working on it, its outcome is theirs.
    this.#worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) this.#worker.cancelJob(id, 'lock lost');
    });
    this.#worker.on('error', (err) => this.#warn(`queue: ${describe(err)}`));
    this.#queue.on('error', (err) => this.#warn(`queue: ${describe(err)}`));
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
        if (this.#stopping || this.#jobs > 0) continue;
        if ((await openJobs(this.#queue)) === 0 && this.#jobs === 0 && !(await opts.listing())) {
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
    const fatal = this.#runner.stopReason === 'fatal';
    const reason = fatal ? 'fatal' : signal.aborted ? 'interrupted' : 'done';
    const { done, failed } = this.#runner.counts;
    const summary: FleetWorkSummary = { reason, done, failed, queueFailed };
    if (fatal) summary.error = this.#runner.stopError;
    events.emit('run:end', fatal ? { reason, error: summary.error } : { reason });
    return summary;
  }

  /**
   * Stops taking jobs. 'shutdown' lets in-flight items finish for the grace period, then gives them back to the
   * queue; 'fatal' gives them back at once; 'drained' has nothing in flight.
   */
  stop(why: 'shutdown' | 'fatal' | 'drained', error?: unknown): Promise<void> {
    if (why === 'shutdown') this.#runner.shutdown();
    if (why === 'fatal') this.#runner.fatal(error);
    return this.#close();
  }

  async close(): Promise<void> {
    await this.stop('drained');
    this.#runner.close();
    this.#hold.close();
    await this.#queue.close().catch(() => {});
    await this.#work.close();
  }

  /** The BullMQ worker takes no more jobs and closes once the jobs it has are given back or done. */
  #close(): Promise<void> {
    this.#stopping ??= this.#worker.close();
    this.#wake?.();
    return this.#stopping;
  }

  // ---- one job ----

  async #process(job: FleetJob<Ref>, token: string | undefined, lost?: AbortSignal): Promise<FleetResult> {
    this.#jobs += 1;
    try {
      // BullMQ hands this machine `concurrency + downloads` jobs: those past the pages wait here, their deadline not
      // yet running, until the fleet's hold (another machine's 429), a re-login here and the pages allow.
      const { key, ref, attempts = 0, charges = NONE } = job.data;
      // Queued again by `enqueue --refresh-after`: a refresh against the files it completed with.
      const previous = job.data.previous ?? null;
      const start = () =>
        this.#runner.start({ key, attempts, charges }, (ctx) => this.#work.work(ref, { ...ctx, previous }));
      const attempt = await this.#runner.gate.whenOpen(
        () => (lost?.aborted ? null : start()),
        () => this.#hold.adopt(),
      );
      if (!attempt) {
        // Stopping: back to the queue unstarted. Lost while it waited: another machine has it.
        if (!lost?.aborted) await this.#move(job, () => job.moveToWait(token));
        throw new WaitingError();
      }
      const onLost = () => attempt.cutLoose(lost?.reason);
      lost?.addEventListener('abort', onLost, { once: true });
      try {
        return await this.#map(job, token, attempt, await attempt.outcome);
      } finally {
        lost?.removeEventListener('abort', onLost);
        this.#runner.release(attempt);
      }
    } finally {
      this.#jobs -= 1;
      if (this.#jobs === 0) this.#wake?.();
    }
  }

  /**
   * Maps an outcome onto BullMQ: a result to complete the job with, or the error that tells BullMQ the job moved.
   * The job's attempts and charges are stored on it before it moves, so whoever takes it next goes on from there:
   * a give-back, a stall or a lost lock stores nothing and so costs nothing.
   */
  async #map(
    job: FleetJob<Ref>,
    token: string | undefined,
    attempt: Attempt<RecordedFile[]>,
    outcome: Outcome<RecordedFile[]>,
  ): Promise<FleetResult> {
    const { machine } = this.#o;
    const tries = { attempts: attempt.number };
    switch (outcome.kind) {
      case 'done':
        return { files: outcome.value.map(toRecord), machine, attempt: attempt.number, ms: outcome.ms };
      case 'retry': {
        const { delayMs } = outcome;
        await this.#save(job, { ...tries, charges: outcome.charges });
        // A re-login's retry waits in the queue, not in this machine's slot: any machine may take it meanwhile.
        if (delayMs > 0) await this.#move(job, () => job.moveToDelayed(Date.now() + delayMs, token));
        else await this.#move(job, () => job.moveToWait(token));
        this.#runner.report(attempt.ref, outcome);
        throw delayMs > 0 ? new DelayedError() : new WaitingError();
      }
      case 'failed': {
        const { reason, code, permanent } = outcome;
        const failure = { reason, ...(code ? { code } : {}), permanent, machine, attempt: attempt.number };
        await this.#save(job, { ...tries, charges: outcome.charges, failure });
        this.#runner.report(attempt.ref, outcome);
        throw new UnrecoverableError(reason);
      }
      case 'interrupted':
        this.#runner.report(attempt.ref, outcome);
        // A lost lock means another machine has the job now: it is not ours to move.
        if (!outcome.lost) await this.#move(job, () => job.moveToWait(token));
        throw new WaitingError();
    }
  }

  /** The job's attempts, charges and (on a final failure) its record, read by the next attempt, `status` and `enqueue`. */
  async #save(job: FleetJob<Ref>, fields: Partial<FleetJobData<Ref>>): Promise<void> {
    await job.updateData({ ...job.data, ...fields }).catch((err: unknown) => this.#warn(describe(err)));
  }

  async #move(job: FleetJob<Ref>, move: () => Promise<unknown>): Promise<void> {
    await move().catch((err: unknown) => this.#warn(`${job.data.key}: ${describe(err)}`));
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

const NONE = Object.freeze({ charged: 0, free: 0 });

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
