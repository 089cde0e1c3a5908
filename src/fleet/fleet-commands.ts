// Fleet mode (--queue redis://...): enqueue, work, run and status on a shared BullMQ queue.
import { EventEmitter } from 'node:events';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { formatStatus } from '../checkpoint/checkpoint.js';
import { type Config, workerOptionsFrom } from '../config.js';
import { limitSource, listWithRelogin, parseRefs, type SourceEntry } from '../engine/item-source.js';
import type { UploadStep } from '../engine/upload-step.js';
import { ConfigError, EXIT_CODES as EXIT } from '../errors.js';
import { listRefs } from '../run.js';
import type { RunEvents } from '../run-events.js';
import type { SessionSettings } from '../sessions/session-settings.js';
import { loadSite } from '../sites/load-site.js';
import { readRefs } from '../sites/read-refs.js';
import type { Credentials, Site } from '../sites/site.js';
import { type EnqueueCounts, enqueueRefs } from './fleet-enqueue.js';
import { openFleetWorker } from './fleet-machine.js';
import {
  FLEET_PREFIX,
  type FleetJobData,
  type FleetResult,
  machineId,
  queueNameFor,
} from './fleet-options.js';
import { formatQueueCounts, readFleetStatus, readQueueCounts } from './fleet-status.js';
import { openJobs } from './fleet-worker.js';
import { ListerLock } from './lister-lock.js';
import { connectRedis, redactUrl } from './redis-connection.js';

export interface FleetContext {
  config: Readonly<Config>;
  site: Site<unknown>;
  baseUrl: string;
  credentials: Credentials;
  /** `--session FILE` (every machine starts from the same saved session) and `--proxy`. */
  sessions?: SessionSettings;
  /** Aborted on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  events: EventEmitter<RunEvents>;
  /** `--upload`: every machine's files go to the bucket (preflighted by the caller, who closes it). */
  upload?: UploadStep | null;
}

/** `pagepool enqueue|work|run --queue URL`: resolves with the exit code. */
export async function fleetCommand(ctx: FleetContext): Promise<number> {
  const { config } = ctx;
  if (!config.queue) throw new ConfigError('Fleet mode needs `--queue redis://HOST:PORT`');
  if (!['enqueue', 'work', 'run'].includes(config.command)) {
    throw new ConfigError(`\`${config.command}\` does not take \`--queue\``);
  }
  const queueName = queueNameFor(ctx.site.name);
  const redis = await connectRedis(config.queue);
  const queue = new Queue<FleetJobData, FleetResult>(queueName, { connection: redis, prefix: FLEET_PREFIX });
  queue.on('error', () => {});
  const lock = new ListerLock(redis, `${FLEET_PREFIX}:${queueName}:lister`, machineId());
  try {
    if (config.command === 'enqueue') return await enqueue(ctx, queue, redis, lock);
    return await work(ctx, queue, redis, lock);
  } finally {
    await lock.release();
    await queue.close().catch(() => {});
    redis.disconnect();
  }
}

/** `pagepool status --queue URL`: resolves with the exit code. */
export async function fleetStatus(config: Readonly<Config>): Promise<number> {
  if (!config.queue) throw new ConfigError('Fleet mode needs `--queue redis://HOST:PORT`');
  const site = await loadSite(config.site);
  const queueName = queueNameFor(site.name);
  const redis = await connectRedis(config.queue);
  const queue = new Queue<FleetJobData, FleetResult>(queueName, { connection: redis, prefix: FLEET_PREFIX });
  queue.on('error', () => {});
  try {
    const summary = await readFleetStatus(queue, redis);
    const counts = await readQueueCounts(queue, redis);
    const where = `${redactUrl(config.queue)} (queue ${queueName})`;
    process.stdout.write(
      config.json
        ? `${JSON.stringify({ ...summary, queue: counts }, null, 2)}\n`
        : `${formatStatus(summary, where)}\n${formatQueueCounts(counts)}\n`,
    );
    return EXIT.ok;
  } finally {
    await queue.close().catch(() => {});
    redis.disconnect();
  }
}

/** Lists the site (or reads `--refs`) into the queue, holding the lister lock so no worker drains early. */
async function enqueue(
  ctx: FleetContext,
  queue: Queue<FleetJobData, FleetResult>,
  redis: Redis,
  lock: ListerLock,
): Promise<number> {
  const { config, site, signal } = ctx;
  // Another enqueue or `run` is listing: wait for it, then add what it did not (a second listing is cheap).
  while (!(await lock.acquire())) {
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const source = config.refs
    ? parseRefs(site, readRefs(config.refs))
    : listRefs({
        site,
        baseUrl: ctx.baseUrl,
        credentials: ctx.credentials,
        chromiumPath: config.chromiumPath,
        headed: config.headed,
        slowMoMs: config.slowMoMs,
        signal,
        ...ctx.sessions,
      });
  let badRefs = 0;
  // Shown by the command's display, as a local pull shows them.
  const counts = await enqueueAll(ctx, queue, redis, source, (bad) => {
    badRefs += 1;
    ctx.events.emit('ref:bad', bad);
  });
  await lock.release();
  if (!config.quiet) process.stdout.write(`${describeCounts(counts, config.queue!, queue.name)}\n`);
  return badRefs > 0 ? EXIT.failed : EXIT.ok;
}

/** `work`: this machine's page pool on the queue until it is drained. `run`: the same, and one process lists. */
async function work(
  ctx: FleetContext,
  queue: Queue<FleetJobData, FleetResult>,
  redis: Redis,
  lock: ListerLock,
): Promise<number> {
  const { config, site, signal, events } = ctx;
  const lockKey = `${FLEET_PREFIX}:${queue.name}:lister`;
  // Taken before the login, so the other machines see a listing under way and do not drain early.
  const lists = config.command === 'run' && (await lock.acquire());
  // Nothing to do and nobody listing: say so without launching a browser.
  if (!lists && (await openJobs(queue)) === 0 && !(await ListerLock.held(redis, lockKey))) {
    if (!config.quiet)
      process.stderr.write(`Nothing queued on ${redactUrl(config.queue!)} (queue ${queue.name})\n`);
    return (await queue.getFailedCount()) > 0 ? EXIT.failed : EXIT.ok;
  }
  const fleet = await openFleetWorker({
    ...workerOptionsFrom(config),
    redis,
    queueName: queue.name,
    site,
    baseUrl: ctx.baseUrl,
    credentials: ctx.credentials,
    ...ctx.sessions,
    events,
    machine: machineId(),
    upload: ctx.upload ?? null,
  });
  let badRefs = 0;
  try {
    let listing: Promise<EnqueueCounts | undefined> = Promise.resolve(undefined);
    if (lists) {
      const source = config.refs
        ? parseRefs(site, readRefs(config.refs))
        : listWithRelogin(site, fleet.pool, ctx.baseUrl, signal, events, fleet.login);
      listing = enqueueAll(ctx, queue, redis, source, (bad) => {
        badRefs += 1;
        events.emit('ref:bad', bad);
      }).then(
        async (counts) => {
          await lock.release();
          return counts;
        },
        async (err: unknown) => {
          await lock.release();
          // An interrupted listing is an interrupted run; anything else stops this machine.
          if (!signal.aborted) await fleet.stop('fatal', err);
          return undefined;
        },
      );
    }
    const summary = await fleet.run({ signal, listing: () => ListerLock.held(redis, lockKey) });
    const counts = await listing;
    if (counts && !config.quiet) {
      process.stderr.write(`${describeCounts(counts, config.queue!, queue.name)}\n`);
    }
    if (summary.reason === 'fatal') throw summary.error;
    if (summary.reason === 'interrupted') return EXIT.interrupted;
    return summary.queueFailed > 0 || badRefs > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    await fleet.close();
  }
}

/**
 * The first `--max` refs of `source` into the queue (`--retry-failed` re-queues permanent failures too). The
 * listing's running total is the fleet's, not this machine's: it stays off the progress display; its bad refs (no
 * usable key) go to `onBadRef`.
 */
function enqueueAll(
  ctx: FleetContext,
  queue: Queue<FleetJobData, FleetResult>,
  redis: Redis,
  source: AsyncIterable<SourceEntry<unknown>>,
  onBadRef: (bad: RunEvents['ref:bad'][0]) => void,
): Promise<EnqueueCounts> {
  const { config, site, signal } = ctx;
  const events = new EventEmitter<RunEvents>();
  events.on('ref:bad', onBadRef);
  return enqueueRefs({
    queue,
    redis,
    site,
    source: limitSource(source, { skip: () => false, max: config.max, events }),
    retryFailed: config.retryFailed,
    refreshAfterMs: config.refreshAfter,
    signal,
  });
}

function describeCounts(c: EnqueueCounts, url: string, name: string): string {
  return (
    `Queued ${c.added} new items on ${redactUrl(url)} (queue ${name}): ` +
    `${c.done} already done, ${c.refreshed > 0 ? `${c.refreshed} done ones queued again for a refresh, ` : ''}` +
    `${c.queued} already queued, ${c.requeued} failed ones queued again, ` +
    `${c.failed} failed permanently (kept; --retry-failed queues them)`
  );
}
