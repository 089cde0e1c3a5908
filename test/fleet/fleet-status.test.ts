// `status --queue`'s queue-wide counts, read from a real redis-server: jobs waiting, taken by a worker (active),
// held back (delayed), and how long the oldest active job has run.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_PREFIX, type FleetJobData, type FleetResult } from '../../src/fleet/fleet-options.js';
import { formatQueueCounts, readQueueCounts } from '../../src/fleet/fleet-status.js';
import { runCli } from '../helpers/cli.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

let server: RedisServer;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await server?.stop();
});

/** The demo site's queue in database `db`, with `waiting` jobs ready, `delayed` held for an hour, `active` taken. */
async function fill(db: number, counts: { waiting: number; delayed: number; active: number }) {
  const connection = { host: '127.0.0.1', port: server.port, db, maxRetriesPerRequest: null };
  const redis = new Redis(connection);
  const queue = new Queue<FleetJobData, FleetResult>('demo', { connection: redis, prefix: FLEET_PREFIX });
  // A worker without a processor: jobs it takes with getNextJob stay active until it says otherwise.
  const worker = new Worker<FleetJobData, FleetResult>('demo', null, {
    connection,
    prefix: FLEET_PREFIX,
    autorun: false,
    // Long enough that no active job is moved back as stalled while the test reads it.
    lockDuration: 600_000,
  });
  closers.push(
    async () => redis.disconnect(),
    () => queue.close(),
    () => worker.close(true),
  );
  const data = (i: number) => ({ ref: { stock: `S${i}` } }) as unknown as FleetJobData;
  let n = 0;
  for (let i = 0; i < counts.active + counts.waiting; i++) await queue.add('item', data(n++));
  for (let i = 0; i < counts.delayed; i++) await queue.add('item', data(n++), { delay: 3_600_000 });
  const takenFrom = Date.now();
  for (let i = 0; i < counts.active; i++) {
    const job = await worker.getNextJob(`token-${i}`, { block: false });
    expect(job).toBeDefined();
  }
  return { redis, queue, takenFrom };
}

describe('readQueueCounts', () => {
  it('counts waiting, active and delayed jobs and ages the oldest active one', async () => {
    const { redis, queue, takenFrom } = await fill(1, { waiting: 3, delayed: 2, active: 2 });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const counts = await readQueueCounts(queue, redis);
    expect(counts).toMatchObject({ waiting: 3, active: 2, delayed: 2 });
    // Taken at least 1.2 s ago, and not before this test took it.
    expect(counts.oldestActiveSeconds).toBeGreaterThanOrEqual(1.2);
    expect(counts.oldestActiveSeconds).toBeLessThanOrEqual((Date.now() - takenFrom) / 1000);
    expect(formatQueueCounts(counts)).toMatch(
      /^ {2}queue now: 3 waiting, 2 active, 2 delayed; oldest active job \d+s$/,
    );
  });

  it('an empty queue: all zero, and no oldest job', async () => {
    const { redis, queue } = await fill(2, { waiting: 0, delayed: 0, active: 0 });
    const counts = await readQueueCounts(queue, redis);
    expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, oldestActiveSeconds: 0 });
    expect(formatQueueCounts(counts)).toBe('  queue now: 0 waiting, 0 active, 0 delayed');
  });

  it('`status --queue` prints them, in text and in JSON', async () => {
    const { takenFrom } = await fill(3, { waiting: 4, delayed: 1, active: 1 });
    // The active job is a second old at least when status reads it (the CLI alone takes longer than that to start).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const url = `redis://127.0.0.1:${server.port}/3`;
    const json = await runCli(['status', '--queue', url, '--json']);
    const readBy = Date.now();
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as { pending: number; queue: Record<string, number> };
    expect(status.queue).toMatchObject({ waiting: 4, active: 1, delayed: 1 });
    expect(status.queue.oldestActiveSeconds).toBeGreaterThanOrEqual(1);
    expect(status.queue.oldestActiveSeconds).toBeLessThanOrEqual((readBy - takenFrom) / 1000);
    expect(status.pending).toBe(6);
    const text = await runCli(['status', '--queue', url]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/\n {2}queue now: 4 waiting, 1 active, 1 delayed; oldest active job \d+s\n$/);
    expect(text.stderr).toBe('');
  });
});
