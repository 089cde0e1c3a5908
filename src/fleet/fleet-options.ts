// How pagepool's settings map onto BullMQ: the fleet's types, queue name and prefix, job ids, locks, limiter.
import type { EventEmitter } from 'node:events';
import os from 'node:os';
import type { Job, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RecordedFile } from '../checkpoint/recorded-file.js';
import { ConfigError } from '../errors.js';
import { type Charges, MAX_FREE_RETRIES } from '../queue/attempt-policy.js';
import type { BackoffOptions } from '../queue/backoff-delay.js';
import type { RunEvents } from '../run-events.js';

/** Every key of a fleet lives under `pagepool:<site>:`; one Redis can hold several sites' queues. */
export const FLEET_PREFIX = 'pagepool';

/**
 * What one job carries: the checkpoint key and the adapter's ref; the attempts that counted and what they were
 * charged, stored by the worker before the job moves (never inferred from BullMQ's counters, which a give-back,
 * a stall or a lost lock also moves); `failure` on a final failure; `previous`, when `enqueue --refresh-after`
 * queued a completed job again, the files it completed with (its validators, its objects), which the refresh
 * compares each file with.
 */
export interface FleetJobData<Ref = unknown> {
  key: string;
  ref: Ref;
  attempts?: number;
  charges?: Charges;
  failure?: FleetFailure;
  previous?: FleetResult['files'];
}

/** A final failure, as the checkpoint file records it. */
export interface FleetFailure {
  reason: string;
  code?: string;
  permanent: boolean;
  machine: string;
  attempt: number;
}

/** A completed job's return value: the checkpoint's "done" record. */
export interface FleetResult {
  /**
   * Each file with its object (`s3://BUCKET/KEY`) and ETag when the machine uploads, where it was fetched from with
   * the server's validators (`http`), and in a refresh how it compared (`change`).
   */
  files: RecordedFile[];
  machine: string;
  attempt: number;
  ms: number;
}

export type FleetJob<Ref = unknown> = Job<FleetJobData<Ref>, FleetResult>;

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
  /** Retries of a transient failure, as in-process: charged on the job, whoever enqueued it. */
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

/** `hostname:pid`: which machine (and process) did an item; also the BullMQ worker name (`processedBy`). */
export function machineId(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** The queue of a site: one queue per adapter name, shared by every machine that runs that adapter. */
export function queueNameFor(siteName: string): string {
  if (siteName === '' || siteName.includes(':')) {
    throw new ConfigError(`Expected the site name to be non-empty and without \`:\`, got \`${siteName}\``);
  }
  return siteName;
}

/**
 * The BullMQ job id of a key. BullMQ refuses ids that are integers or contain `:`; such keys (and keys that
 * look escaped) are stored as `k=` + encodeURIComponent(key), so every key has exactly one job id.
 */
export function jobIdFor(key: string): string {
  const needsEscape = `${Number.parseInt(key, 10)}` === key || key.includes(':') || key.startsWith('k=');
  return needsEscape ? `k=${encodeURIComponent(key)}` : key;
}

export function keyOfJobId(id: string): string {
  return id.startsWith('k=') ? decodeURIComponent(id.slice(2)) : id;
}

/**
 * Lock and stall timing from the task timeout. A live worker renews its locks every lockDuration/2 whatever the
 * item takes (the item's own deadline is `--timeout`), so the lock only has to outlast a dead machine's
 * detection: a quarter of the timeout, between 5 and 30 s.
 *
 * The stall check runs every half lock. BullMQ moves a dead machine's job back on the second check after the
 * lock's last renewal (the first only marks it), and the checks are throttled fleet-wide by one `stalled-check`
 * key that lives a stall interval: when the dead machine ran the last check, the survivors' next one is skipped,
 * so the first check that counts can come almost 2 intervals after the death, and the one that moves the job an
 * interval later, or an interval after the lock ran out. The bound is max(3 x stalledInterval, lockDuration +
 * stalledInterval): 3 x lockDuration with the interval equal to the lock, 1.5 x lockDuration with half of it,
 * inside the README's "two lock periods". A check is one LRANGE of the active jobs and one SADD per machine.
 */
export function lockTiming(taskTimeoutMs: number): { lockDuration: number; stalledInterval: number } {
  const lockDuration = Math.min(30_000, Math.max(5_000, Math.round(taskTimeoutMs / 4)));
  return { lockDuration, stalledInterval: Math.round(lockDuration / 2) };
}

/** No `--rate`: a limiter that never binds, so that a 429 can still pause the fleet (BullMQ only honours `queue.rateLimit()` with a limiter). */
const UNLIMITED = { max: 1_000_000_000, duration: 1000 };

/**
 * `--rate N` (item starts per second, fleet-wide) as BullMQ's global limiter. BullMQ counts in fixed windows, so
 * a 1 s window of N would allow 2N starts around a window edge; windows of about 100 ms (at least one job each)
 * keep any sliding second within N + max(1, N/10).
 */
export function limiterFor(rate: number): { max: number; duration: number } {
  if (!(rate > 0)) return UNLIMITED;
  const max = Math.max(1, Math.ceil(rate / 10));
  return { max, duration: Math.max(1, Math.round((1000 * max) / rate)) };
}

/**
 * BullMQ job options of a pagepool job: outcomes kept. No BullMQ attempts or backoff: the worker's attempt runner
 * decides every retry (`work --retries`) and moves the job itself; one failed BullMQ attempt is a final failure.
 */
export function jobOptions(key: string) {
  return {
    jobId: jobIdFor(key),
    // Completed and failed jobs are the checkpoint in fleet mode: they are what makes a second enqueue a no-op.
    removeOnComplete: false,
    removeOnFail: false,
    // One stack per failure is enough to debug; more would grow every failed job's hash.
    stackTraceLimit: 1,
  } as const;
}

export interface WorkerTiming {
  taskTimeoutMs: number;
  retries: number;
  concurrency: number;
  rate: number;
}

/** The BullMQ Worker options of one machine. */
export function workerOptions(t: WorkerTiming, machine: string): Omit<WorkerOptions, 'connection'> {
  return {
    prefix: FLEET_PREFIX,
    name: machine,
    concurrency: t.concurrency,
    autorun: false,
    limiter: limiterFor(t.rate),
    ...lockTiming(t.taskTimeoutMs),
    // A machine that dies mid-item costs the item nothing; one that keeps dying on it is a poison item.
    maxStalledCount: t.retries + 1 + MAX_FREE_RETRIES,
    // A 429's Retry-After can be long; BullMQ caps a rate-limit wait at this.
    maximumRateLimitDelay: 60_000,
    // How long an idle worker blocks on Redis for a job; short, so `work` notices a drained queue quickly.
    drainDelay: 1,
  };
}
