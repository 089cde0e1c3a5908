// Adds a site's refs to the fleet queue: one job per key (jobId = key), finished keys never re-added.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Site } from '../sites/site.js';
import { type FleetJobData, type FleetResult, jobIdFor, jobOptions } from './fleet-options.js';

export interface EnqueueOptions<Ref> {
  queue: Queue<FleetJobData<Ref>, FleetResult>;
  /** A plain client on the same Redis, for the existence checks. */
  redis: Redis;
  site: Site<Ref>;
  source: AsyncIterable<Ref>;
  /** Also re-queue keys that failed permanently. @default false */
  retryFailed?: boolean;
  /**
   * `--refresh-after`: a key completed longer ago than this many ms (0: any completed key) is queued again, its
   * job carrying the files it completed with, which the refresh compares each file with. @default null (none)
   */
  refreshAfterMs?: number | null;
  signal: AbortSignal;
  /** Refs checked against Redis per round trip. @default 100 */
  batchSize?: number;
}

export interface EnqueueCounts {
  /** New jobs. */
  added: number;
  /** Keys already completed: left alone, never downloaded again. */
  done: number;
  /** Keys completed longer ago than `refreshAfterMs`: queued again for a refresh. */
  refreshed: number;
  /** Keys already waiting, delayed or in flight. */
  queued: number;
  /** Failed keys moved back to the queue (transient failures; permanent ones with `retryFailed`). */
  requeued: number;
  /** Keys that failed permanently and stay failed. */
  failed: number;
}

/**
 * Reads the source lazily and adds what is new in batches. A key that exists in any state is not added again
 * (BullMQ ignores an add with an existing jobId; the EXISTS check before it only makes the counts exact). As
 * with the checkpoint file, a failed key is queued again when its failure was transient or `retryFailed` is set.
 */
export async function enqueueRefs<Ref>(options: EnqueueOptions<Ref>): Promise<EnqueueCounts> {
  const { signal } = options;
  const batchSize = options.batchSize ?? 100;
  const counts: EnqueueCounts = { added: 0, done: 0, refreshed: 0, queued: 0, requeued: 0, failed: 0 };
  const refresh = options.refreshAfterMs ?? null;
  // Fixed once: a job that completes while the listing goes on is not refreshed again in the same enqueue.
  const staleBefore = refresh === null ? null : Date.now() - refresh;
  let batch: Ref[] = [];
  let batchStarted = 0;
  for await (const ref of options.source) {
    signal.throwIfAborted();
    if (batch.length === 0) batchStarted = Date.now();
    batch.push(ref);
    // A listing yields a page at a time: flush after a pause too, so workers start before the listing ends.
    if (batch.length >= batchSize || Date.now() - batchStarted > 250) {
      await addBatch(batch, options, counts, staleBefore);
      batch = [];
    }
  }
  if (batch.length > 0) await addBatch(batch, options, counts, staleBefore);
  return counts;
}

async function addBatch<Ref>(
  refs: Ref[],
  options: EnqueueOptions<Ref>,
  counts: EnqueueCounts,
  staleBefore: number | null,
): Promise<void> {
  const { queue, site, redis: client } = options;
  const unique = new Map<string, Ref>();
  for (const ref of refs) unique.set(site.key(ref), ref);
  const keys = [...unique.keys()];
  const pipeline = client.pipeline();
  for (const key of keys) {
    const id = jobIdFor(key);
    pipeline.exists(queue.toKey(id));
    pipeline.zscore(queue.keys.completed!, id);
    pipeline.zscore(queue.keys.failed!, id);
  }
  const replies = ((await pipeline.exec()) ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  const fresh: Array<{ key: string; ref: Ref }> = [];
  const failedIds: string[] = [];
  const staleIds: string[] = [];
  keys.forEach((key, i) => {
    const [exists, completed, failed] = replies.slice(i * 3, i * 3 + 3);
    if (exists === 0) fresh.push({ key, ref: unique.get(key)! });
    // The completed set's score is when the job finished (ms).
    else if (completed !== null && staleBefore !== null && Number(completed) < staleBefore)
      staleIds.push(jobIdFor(key));
    else if (completed !== null) counts.done += 1;
    else if (failed !== null) failedIds.push(jobIdFor(key));
    else counts.queued += 1;
  });
  for (const id of staleIds) await refreshJob(queue, id, counts);
  if (fresh.length > 0) {
    await queue.addBulk(
      fresh.map(({ key, ref }) => ({
        name: site.name,
        data: { key, ref },
        opts: jobOptions(key),
      })),
    );
    counts.added += fresh.length;
  }
  for (const id of failedIds) {
    const job = await queue.getJob(id);
    if (!job) continue;
    if (job.data.failure?.permanent && !options.retryFailed) {
      counts.failed += 1;
      continue;
    }
    try {
      // A retried job starts over with every attempt, as a new run does with a transient failure.
      // A refresh that failed stays a refresh: the files it compares with go along.
      const { previous } = job.data;
      await job.updateData({ key: job.data.key, ref: job.data.ref, ...(previous ? { previous } : {}) });
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      counts.requeued += 1;
    } catch {
      // Another enqueue moved it first: it is queued either way.
      counts.queued += 1;
    }
  }
}

/**
 * Queues a completed job again for a refresh. Its return value (the files it completed with) goes into its data
 * first: BullMQ drops the return value of a job it moves back to wait.
 */
async function refreshJob<Ref>(
  queue: EnqueueOptions<Ref>['queue'],
  id: string,
  counts: EnqueueCounts,
): Promise<void> {
  const job = await queue.getJob(id);
  if (!job) return;
  const previous = job.returnvalue?.files;
  try {
    // A refresh starts over, as a new job does: no attempts or charges carried, only what it compares with.
    await job.updateData({ key: job.data.key, ref: job.data.ref, ...(previous ? { previous } : {}) });
    await job.retry('completed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    counts.refreshed += 1;
  } catch {
    // Another enqueue moved it first: it is queued either way.
    counts.queued += 1;
  }
}
