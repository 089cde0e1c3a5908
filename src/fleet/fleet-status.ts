// The checkpoint summary of a fleet queue, read from Redis: the same counts `pagepool status` prints for a file.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckpointSummary } from '../checkpoint/checkpoint-summary.js';
import type { FleetJobData, FleetResult } from './fleet-options.js';

/** Jobs read per round trip while scanning the finished sets. */
const PAGE = 1000;

/**
 * done = completed jobs; failed = permanent failures; pending = everything still queued or in flight plus
 * transient failures (the next `enqueue` queues those again). Bytes and failure reasons come from a scan of the
 * finished jobs, O(finished) reads in pages of 1000.
 */
export async function readFleetStatus<Ref>(
  queue: Queue<FleetJobData<Ref>, FleetResult>,
  client: Redis,
): Promise<CheckpointSummary> {
  const counts = await queue.getJobCounts(
    'completed',
    'failed',
    'wait',
    'active',
    'delayed',
    'prioritized',
    'waiting-children',
  );
  const inQueue =
    (counts.wait ?? 0) +
    (counts.active ?? 0) +
    (counts.delayed ?? 0) +
    (counts.prioritized ?? 0) +
    (counts['waiting-children'] ?? 0);
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  const widen = (processedOn: string | null, finishedOn: string | null) => {
    const start = Number(processedOn ?? finishedOn);
    const end = Number(finishedOn);
    if (Number.isFinite(start) && start > 0) first = Math.min(first, start);
    if (Number.isFinite(end) && end > 0) last = Math.max(last, end);
  };

  let bytes = 0;
  let uploaded = 0;
  await scan(queue, client, queue.keys.completed!, ['returnvalue', 'processedOn', 'finishedOn'], (fields) => {
    const [returnvalue, processedOn, finishedOn] = fields;
    widen(processedOn ?? null, finishedOn ?? null);
    const result = parse<FleetResult>(returnvalue);
    for (const file of result?.files ?? []) bytes += file.bytes;
    // As in the checkpoint: an item is uploaded when it has files and every one names its object.
    if (result && result.files.length > 0 && result.files.every((f) => f.object !== undefined)) uploaded += 1;
  });

  const groups = new Map<string, { reason: string; count: number; permanent: boolean }>();
  let permanent = 0;
  await scan(
    queue,
    client,
    queue.keys.failed!,
    ['data', 'failedReason', 'processedOn', 'finishedOn'],
    (fields) => {
      const [data, failedReason, processedOn, finishedOn] = fields;
      widen(processedOn ?? null, finishedOn ?? null);
      const failure = parse<FleetJobData>(data)?.failure;
      // A job BullMQ failed on its own (stalled too often) has no pagepool failure record: it is transient.
      const isPermanent = failure?.permanent ?? false;
      const reason = failure?.reason ?? failedReason ?? 'unknown';
      if (isPermanent) permanent += 1;
      const id = `${isPermanent ? 'p' : 't'}${reason}`;
      const group = groups.get(id);
      if (group) group.count += 1;
      else groups.set(id, { reason, count: 1, permanent: isPermanent });
    },
  );

  const failedTotal = counts.failed ?? 0;
  return {
    done: counts.completed ?? 0,
    failed: permanent,
    pending: inQueue + (failedTotal - permanent),
    uploaded,
    bytes,
    failuresByReason: [...groups.values()].sort(
      (a, b) => b.count - a.count || a.reason.localeCompare(b.reason),
    ),
    firstUpdate: Number.isFinite(first) ? new Date(first).toISOString() : null,
    lastUpdate: Number.isFinite(last) ? new Date(last).toISOString() : null,
  };
}

/** What the whole queue holds right now, across every worker: the backlog and the oldest job running. */
export interface QueueCounts {
  /** Jobs ready to be picked up (waiting or prioritized). */
  waiting: number;
  /** Jobs some worker is running now. */
  active: number;
  /** Jobs waiting out a retry backoff or a rate-limit hold. */
  delayed: number;
  /** How long the oldest active job has run (from its `processedOn`); 0 when none is active. */
  oldestActiveSeconds: number;
}

/** Active jobs read per round trip; the active list is O(workers x concurrency), so usually one round. */
const ACTIVE_PAGE = 1000;

/** The queue-wide counts from Redis, for `status --queue`. O(active jobs) reads. */
export async function readQueueCounts<Ref>(
  queue: Queue<FleetJobData<Ref>, FleetResult>,
  client: Redis,
  now: () => number = Date.now,
): Promise<QueueCounts> {
  const counts = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed');
  let oldest = Number.POSITIVE_INFINITY;
  for (let start = 0; ; start += ACTIVE_PAGE) {
    // BullMQ keeps the active jobs in a list (not a sorted set like the finished ones).
    const ids = await client.lrange(queue.keys.active!, start, start + ACTIVE_PAGE - 1);
    if (ids.length === 0) break;
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hget(queue.toKey(id), 'processedOn');
    for (const [err, value] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      const started = Number(value);
      if (Number.isFinite(started) && started > 0) oldest = Math.min(oldest, started);
    }
    if (ids.length < ACTIVE_PAGE) break;
  }
  return {
    waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    oldestActiveSeconds: Number.isFinite(oldest) ? Math.max(0, now() - oldest) / 1000 : 0,
  };
}

/** `  queue now: 3 waiting, 2 active, 1 delayed; oldest active job 12s`: the line `status --queue` adds. */
export function formatQueueCounts(counts: QueueCounts): string {
  const oldest = counts.active > 0 ? `; oldest active job ${Math.floor(counts.oldestActiveSeconds)}s` : '';
  return `  queue now: ${counts.waiting} waiting, ${counts.active} active, ${counts.delayed} delayed${oldest}`;
}

async function scan<Ref>(
  queue: Queue<FleetJobData<Ref>, FleetResult>,
  client: Redis,
  setKey: string,
  fields: string[],
  visit: (values: Array<string | null>) => void,
): Promise<void> {
  for (let start = 0; ; start += PAGE) {
    const ids = await client.zrange(setKey, start, start + PAGE - 1);
    if (ids.length === 0) return;
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hmget(queue.toKey(id), ...fields);
    for (const [err, values] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      visit(values as Array<string | null>);
    }
    if (ids.length < PAGE) return;
  }
}

function parse<T>(text: string | null | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
