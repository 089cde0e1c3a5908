// Benchmark of fleet mode on one machine: wall time of 1, 2 and 4 `pagepool work` processes over the same items,
// then Redis memory and job throughput for 100,000 jobs. `npx tsx scripts/bench-fleet.ts [items] [jobs]`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { makeVehicles } from '../src/demo/inventory.js';
import { startPortal } from '../src/demo/portal.js';
import {
  FLEET_PREFIX,
  type FleetJobData,
  type FleetResult,
  jobOptions,
  workerOptions,
} from '../src/fleet/fleet-options.js';
import { buildIfStale } from '../test/helpers/build-dist.js';
import { BIN } from '../test/helpers/cli.js';
import { startRedisServer } from '../test/helpers/redis-server.js';

const ITEMS = Number(process.argv[2] ?? 200);
const JOBS = Number(process.argv[3] ?? 100_000);
const CONCURRENCY = 2;
buildIfStale();
const ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  PAGEPOOL_USERNAME: 'demo',
  PAGEPOOL_PASSWORD: 'demo-pass',
};

function cli(args: string[], timeoutMs = 600_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) process.stderr.write(`pagepool ${args[0]} exited ${code}: ${stderr}\n`);
      resolve(code ?? 1);
    });
  });
}

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

const redis = await startRedisServer();
const portal = await startPortal({ vehicles: ITEMS });
const dir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-bench-fleet-'));
const rows: string[] = [];
try {
  const refs = path.join(dir, 'refs.jsonl');
  await writeFile(
    refs,
    makeVehicles(ITEMS, 1)
      .map((v) => JSON.stringify({ stock: v.stock, url: `${portal.url}/vehicle/${v.stock}` }))
      .join('\n'),
  );

  // ---- wall time per worker count ----
  let db = 0;
  for (const workers of [1, 2, 4]) {
    db += 1;
    const queue = `redis://127.0.0.1:${redis.port}/${db}`;
    const common = ['--queue', queue, '--base-url', portal.url, '--quiet'];
    if ((await cli(['enqueue', ...common, '--refs', refs, '--out', dir])) !== 0)
      throw new Error('enqueue failed');
    const started = performance.now();
    const codes = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        cli([
          'work',
          ...common,
          '--out',
          path.join(dir, `w${workers}-m${i}`),
          '--concurrency',
          String(CONCURRENCY),
        ]),
      ),
    );
    const wall = (performance.now() - started) / 1000;
    // Processing time: first item start to last item end, without the process and browser start-up.
    const client = new Redis({ port: redis.port, db });
    const ids = await client.zrange(`${FLEET_PREFIX}:demo:completed`, 0, -1);
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for (const id of ids) {
      const [processedOn, finishedOn] = await client.hmget(
        `${FLEET_PREFIX}:demo:${id}`,
        'processedOn',
        'finishedOn',
      );
      first = Math.min(first, Number(processedOn));
      last = Math.max(last, Number(finishedOn));
    }
    client.disconnect();
    const busy = (last - first) / 1000;
    rows.push(
      `${workers} worker(s) x ${CONCURRENCY} pages: ${ids.length}/${ITEMS} done, exit ${codes.join(',')}, ` +
        `wall ${wall.toFixed(1)} s, first start..last finish ${busy.toFixed(1)} s, ${(ids.length / busy).toFixed(1)} items/s`,
    );
    process.stderr.write(`${rows.at(-1)}\n`);
  }

  // ---- Redis memory and throughput for JOBS jobs ----
  db += 1;
  const client = new Redis({ port: redis.port, db, maxRetriesPerRequest: null });
  const queue = new Queue<FleetJobData, FleetResult>('demo', { connection: client, prefix: FLEET_PREFIX });
  const before = await usedMemory(client);
  let started = performance.now();
  for (let i = 0; i < JOBS; i += 1000) {
    const batch = [];
    for (let k = i; k < Math.min(JOBS, i + 1000); k++) {
      const stock = `S${String(k + 1).padStart(6, '0')}`;
      const ref = { stock, url: `https://portal.example.com/vehicle/${stock}` };
      batch.push({ name: 'demo', data: { key: stock, ref }, opts: jobOptions(stock) });
    }
    await queue.addBulk(batch);
  }
  const enqueueSeconds = (performance.now() - started) / 1000;
  const waiting = await usedMemory(client);
  rows.push(
    `enqueue ${JOBS} jobs: ${enqueueSeconds.toFixed(1)} s (${Math.round(JOBS / enqueueSeconds)} jobs/s); ` +
      `used_memory ${(before / 1e6).toFixed(1)} MB -> ${(waiting / 1e6).toFixed(1)} MB, ` +
      `${Math.round((waiting - before) / JOBS)} B per waiting job`,
  );
  process.stderr.write(`${rows.at(-1)}\n`);

  // A no-op worker completes every job with a typical outcome: Redis's cost of the whole job life cycle.
  started = performance.now();
  const worker = new Worker<FleetJobData, FleetResult>(
    'demo',
    async (job) => ({
      files: [{ path: `demo/${job.data.key}-window-sticker.pdf`, bytes: 2_212, sha256: 'f'.repeat(64) }],
      machine: `${os.hostname()}:${process.pid}`,
      attempt: 1,
      ms: 1234,
    }),
    {
      ...workerOptions({ taskTimeoutMs: 180_000, retries: 2, concurrency: 64, rate: 0 }, 'bench:1'),
      concurrency: 64,
      autorun: true,
      connection: client,
    },
  );
  const deadline = Date.now() + 600_000;
  while ((await queue.getCompletedCount()) < JOBS && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const processSeconds = (performance.now() - started) / 1000;
  await worker.close();
  const completed = await usedMemory(client);
  const done = await queue.getCompletedCount();
  rows.push(
    `complete ${done} jobs with one no-op worker (concurrency 64): ${processSeconds.toFixed(1)} s ` +
      `(${Math.round(done / processSeconds)} jobs/s); used_memory -> ${(completed / 1e6).toFixed(1)} MB, ` +
      `${Math.round((completed - before) / done)} B per completed job`,
  );
  process.stderr.write(`${rows.at(-1)}\n`);
  await queue.close();
  client.disconnect();
} finally {
  await portal.close();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(
  `\nbench-fleet on ${os.cpus().length} cores (load ${os.loadavg()[0]!.toFixed(1)}):\n${rows.join('\n')}\n`,
);
