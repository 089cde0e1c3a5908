// One fleet machine in-process (real Redis, real Chromium, demo portal): retries, permanent failures, 429s, the
// outcomes `status` and `enqueue` read back, and a graceful stop that gives items in flight back to the queue.
import { EventEmitter } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { enqueueRefs } from '../../src/fleet/fleet-enqueue.js';
import { type FleetWorkerOptions, openFleetWorker } from '../../src/fleet/fleet-machine.js';
import { FLEET_PREFIX, type FleetJobData, type FleetResult } from '../../src/fleet/fleet-options.js';
import { readFleetStatus } from '../../src/fleet/fleet-status.js';
import type { RunEvents } from '../../src/run-events.js';
import demoVehicles, { type VehicleRef } from '../../src/sites/demo-vehicles.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

let browser: Browser;
let server: RedisServer;
const portals: Portal[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launchTestBrowser(), startRedisServer()]);
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await Promise.all(portals.map((p) => p.close()));
  await browser?.close();
  await server?.stop();
  await removeTempDirs();
});

async function setup(db: number, options: Partial<PortalOptions>) {
  const portal = await startPortal(options);
  portals.push(portal);
  const redis = new Redis({ host: '127.0.0.1', port: server.port, db, maxRetriesPerRequest: null });
  const queue = new Queue<FleetJobData<VehicleRef>, FleetResult>('demo', {
    connection: redis,
    prefix: FLEET_PREFIX,
  });
  closers.push(
    async () => redis.disconnect(),
    () => queue.close(),
  );
  const refs = (stocks: string[]) =>
    (async function* () {
      for (const stock of stocks) yield { stock, url: `${portal.url}/vehicle/${stock}` };
    })();
  const enqueue = (stocks: string[], retryFailed = false) =>
    enqueueRefs({
      queue,
      redis,
      site: demoVehicles,
      source: refs(stocks),
      retryFailed,
      signal: new AbortController().signal,
    });
  const events = new EventEmitter<RunEvents>();
  const worker = async (extra: Partial<FleetWorkerOptions<VehicleRef>> = {}) => {
    const fleet = await openFleetWorker<VehicleRef>({
      redis,
      queueName: 'demo',
      site: demoVehicles,
      baseUrl: portal.url,
      credentials: { username: 'demo', password: 'demo-pass' },
      out: await tempDir(),
      concurrency: 2,
      taskTimeoutMs: 20_000,
      retries: 2,
      rate: 0,
      events,
      machine: `test:${db}`,
      browser,
      pollMs: 200,
      ...extra,
    });
    closers.push(() => fleet.close());
    return fleet;
  };
  return { portal, redis, queue, enqueue, events, worker };
}

const stocks = (n: number) => Array.from({ length: n }, (_, i) => `S${String(i + 1).padStart(5, '0')}`);

describe('FleetWorker', () => {
  it('retries transient failures, records permanent ones once, and enqueue/status read the outcomes back', async () => {
    // 30% of item requests answer 500 (transient, retried); two stock numbers do not exist (404: permanent).
    const { portal, redis, queue, enqueue, events, worker } = await setup(1, {
      vehicles: 10,
      failureRate: 0.3,
    });
    const added = await enqueue([...stocks(10), 'S99998', 'S99999']);
    expect(added).toMatchObject({ added: 12, done: 0, queued: 0 });
    const retries: string[] = [];
    events.on('task:retry', ({ key }) => retries.push(key));
    const fleet = await worker({ retries: 5 });
    const summary = await fleet.run({ signal: new AbortController().signal, listing: async () => false });
    expect(summary).toMatchObject({ reason: 'done', done: 10, failed: 2, queueFailed: 2 });
    expect(retries.length).toBeGreaterThan(0);
    // A 404 is tried once: never retried.
    for (const stock of ['S99998', 'S99999']) {
      const job = await queue.getJob(stock);
      expect(job?.attemptsMade).toBe(1);
      expect(job?.data.failure).toMatchObject({ permanent: true, machine: 'test:1', attempt: 1 });
    }
    expect(Object.keys(portal.stats().filesServed)).toHaveLength(10);

    const status = await readFleetStatus(queue, redis);
    expect(status).toMatchObject({ done: 10, failed: 2, pending: 0 });
    expect(status.failuresByReason).toEqual([
      { reason: 'vehicle S99998 does not exist (404)', count: 1, permanent: true },
      { reason: 'vehicle S99999 does not exist (404)', count: 1, permanent: true },
    ]);

    // Enqueued again: done keys are left alone, permanent failures stay failed unless asked.
    expect(await enqueue([...stocks(10), 'S99998', 'S99999'])).toMatchObject({
      added: 0,
      done: 10,
      failed: 2,
    });
    expect(await enqueue(['S99998'], true)).toMatchObject({ requeued: 1 });
    expect(await queue.getWaitingCount()).toBe(1);
  }, 90_000);

  it('a 429 pauses the queue for Retry-After and costs the item no attempt', async () => {
    const { portal, queue, enqueue, events, worker } = await setup(2, { vehicles: 6, rateLimitRate: 0.3 });
    await enqueue(stocks(6));
    const backoffs: number[] = [];
    events.on('backoff', ({ untilMs }) => backoffs.push(untilMs));
    const fleet = await worker({ retries: 0 });
    const summary = await fleet.run({ signal: new AbortController().signal, listing: async () => false });
    // With no retries at all, every item still finished: a 429 is not the item's fault.
    expect(summary).toMatchObject({ reason: 'done', done: 6, failed: 0 });
    expect(portal.stats().sent429).toBeGreaterThan(0);
    // One 'backoff' per hold, however many 429s met it.
    expect(backoffs.length).toBeGreaterThan(0);
    expect(backoffs.length).toBeLessThanOrEqual(portal.stats().sent429);
    // Nothing charged against the retries (stored on each job); the items hit by a 429 were started more often.
    const completed = await queue.getCompleted();
    expect(completed.map((job) => job.data.charges?.charged ?? 0)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(completed.map((job) => job.attemptsMade)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(completed.filter((job) => job.attemptsStarted > 1).length).toBeGreaterThan(0);
  }, 90_000);

  it('an attempt starts only when a page is free for it: no deadline runs while a job waits for a page', async () => {
    // One page, two download slots: BullMQ hands this machine three jobs at once. Each detail page takes 400 ms.
    const { enqueue, events, worker } = await setup(4, { vehicles: 8, pageLatencyMs: 400 });
    await enqueue(stocks(8));
    // Attempts started and not yet past releasePage() (or ended without it): the browser stage.
    const onPage = new Set<string>();
    let peak = 0;
    events.on('task:start', ({ key }) => {
      onPage.add(key);
      peak = Math.max(peak, onPage.size);
    });
    const off = ({ key }: { key: string }) => onPage.delete(key);
    for (const name of [
      'page:released',
      'task:done',
      'task:retry',
      'task:failed',
      'task:interrupted',
    ] as const)
      events.on(name, off);
    const fleet = await worker({ concurrency: 1, downloads: 2 });
    const summary = await fleet.run({ signal: new AbortController().signal, listing: async () => false });
    expect(summary).toMatchObject({ reason: 'done', done: 8, failed: 0 });
    // Without the gate all three jobs start at once and two wait for the page with their deadline running.
    expect(peak).toBe(1);
  }, 90_000);

  it('a graceful stop gives the items in flight back to the queue, uncharged', async () => {
    // Every sticker takes 20 s: the items are in flight when the stop comes.
    const { queue, enqueue, events, worker } = await setup(3, { vehicles: 4, fileLatencyMs: 20_000 });
    await enqueue(stocks(4));
    const started: string[] = [];
    const interrupted: string[] = [];
    events.on('task:start', ({ key }) => started.push(key));
    events.on('task:interrupted', ({ key }) => interrupted.push(key));
    const fleet = await worker({ shutdownGraceMs: 300 });
    const stop = new AbortController();
    events.on('task:stage', ({ stage }) => {
      // Pages + downloads run at once now: every started item may be in flight when the first file starts.
      if (stage === 'download' && started.length >= 2) stop.abort();
    });
    const summary = await fleet.run({ signal: stop.signal, listing: async () => false });
    expect(summary).toMatchObject({ reason: 'interrupted', done: 0, failed: 0 });
    expect(interrupted.sort()).toEqual(started.sort());
    expect(await queue.getWaitingCount()).toBe(4);
    expect(await queue.getActiveCount()).toBe(0);
    for (const key of started) {
      const job = await queue.getJob(key);
      expect(job?.attemptsMade).toBe(0);
      // Nothing stored: the next machine takes it up as attempt 1, with every retry left.
      expect(job?.data.charges).toBeUndefined();
      expect(job?.data.attempts).toBeUndefined();
    }
  }, 90_000);
});
