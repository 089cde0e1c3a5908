// `enqueue --refresh-after` in fleet mode (real redis-server, real `pagepool` processes with Chromium, the demo
// portal): the completed jobs older than the duration are queued again carrying the files they completed with, and
// a worker refreshes them with conditional requests: 304s, no file body, the changed stickers replaced.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { runCli } from '../helpers/cli.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const N = 20;
const vehicles = makeVehicles(N, 1);
let redis: RedisServer;
let client: Redis;
let portal: Portal;
let out: string;

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis({ host: '127.0.0.1', port: redis.port, db: 3, maxRetriesPerRequest: 3 });
  portal = await startPortal({ vehicles: N, seed: 1 });
  out = await tempDir();
});
afterAll(async () => {
  client?.disconnect();
  await portal?.close();
  await redis?.stop();
  await removeTempDirs();
});

const queue = () => `redis://127.0.0.1:${redis.port}/3`;
const ENV = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };
const enqueue = (args: string[] = []) =>
  runCli(['enqueue', '--site', 'demo', '--base-url', portal.url, '--queue', queue(), ...args], {
    env: ENV,
    timeoutMs: 120_000,
  });
// `work` at 4 pages prints a MaxListenersExceededWarning on main already (12 jobs in flight each add an abort
// listener to the worker's release signal, src/fleet/fleet-worker.ts): its stderr is not this test's to judge.
const work = () =>
  runCli(
    [
      'work',
      '--site',
      'demo',
      '--base-url',
      portal.url,
      '--queue',
      queue(),
      '--out',
      out,
      '--concurrency',
      '4',
      '--quiet',
    ],
    { env: ENV, timeoutMs: 150_000 },
  );

describe('enqueue --refresh-after', () => {
  it('queues the stale completed jobs again with their files; the workers refresh them: 304s, then the changes', async () => {
    expect((await enqueue()).code).toBe(0);
    expect((await work()).code).toBe(0);

    // Completed a moment ago: not stale for 1h, stale for 0.
    const hour = await enqueue(['--refresh-after', '1h']);
    expect(hour.stdout).toContain(`Queued 0 new items on ${queue()} (queue demo): ${N} already done,`);
    const zero = await enqueue(['--refresh-after', '0']);
    expect(zero.code).toBe(0);
    expect(zero.stdout).toContain(`0 already done, ${N} done ones queued again for a refresh`);
    const job = JSON.parse((await client.hget('pagepool:demo:S00001', 'data'))!);
    expect(job.previous).toEqual([
      expect.objectContaining({
        path: 'demo/S00001-window-sticker.pdf',
        http: expect.objectContaining({
          url: `${portal.url}/vehicle/S00001/sticker.pdf`,
          etag: expect.any(String),
        }),
      }),
    ]);

    const before = portal.stats();
    expect((await work()).code).toBe(0);
    expect(portal.stats().notModified - before.notModified).toBe(N);
    expect(portal.stats().fileBodyBytes).toBe(before.fileBodyBytes);
    const result = JSON.parse((await client.hget('pagepool:demo:S00001', 'returnvalue'))!);
    expect(result.files[0].change).toBe('unchanged');

    portal.setRevision(2);
    expect((await enqueue(['--refresh-after', '0'])).code).toBe(0);
    expect((await work()).code).toBe(0);
    for (const stock of ['S00010', 'S00020']) {
      const vehicle = vehicles.find((v) => v.stock === stock)!;
      const bytes = await readFile(path.join(out, 'demo', `${stock}-window-sticker.pdf`));
      expect(bytes.equals(stickerPdf(vehicle, 0, 2)), stock).toBe(true);
      const record = JSON.parse((await client.hget(`pagepool:demo:${stock}`, 'returnvalue'))!);
      expect(record.files[0].change).toBe('updated');
    }
  }, 300_000);
});
