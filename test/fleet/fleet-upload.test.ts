// A fleet that uploads: two `pagepool work --upload` processes on one redis-server and one s3rver bucket (SigV4
// checked), real Chromium and the demo portal, one worker SIGKILLed mid-run.
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { type PortalProxy, startPortalProxy } from '../helpers/portal-proxy.js';
import { activeJobs, type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const N = 16;
const BUCKET = 'fleet';
let redis: RedisServer;
let s3: S3Server;
let portal: Portal;
let proxy: PortalProxy;
// Every PDF waits here until `release()`.
let release!: () => void;
const held = new Promise<void>((resolve) => {
  release = resolve;
});
let db: Redis;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  redis = await startRedisServer();
  s3 = await startS3Server({ buckets: [BUCKET] });
  portal = await startPortal({ vehicles: N, fileLatencyMs: 300 });
  proxy = await startPortalProxy(portal.url, {
    hold: (req) => (req.path.endsWith('.pdf') ? held : undefined),
  });
  db = new Redis({ host: '127.0.0.1', port: redis.port, db: 0, maxRetriesPerRequest: 3 });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  db?.disconnect();
  release();
  await proxy?.close();
  await portal?.close();
  await s3?.close();
  await redis?.stop();
  await removeTempDirs();
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

it('two `work --upload` processes, one SIGKILLed: every object in the bucket once, byte for byte', async () => {
  const base = await tempDir();
  const queue = `redis://127.0.0.1:${redis.port}/0`;
  const env = {
    PAGEPOOL_USERNAME: 'demo',
    PAGEPOOL_PASSWORD: 'demo-pass',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
  };
  const start = (i: number) => {
    let child: ChildProcess | undefined;
    const done = runCli(
      [
        'run',
        '--queue',
        queue,
        '--base-url',
        proxy.url,
        '--out',
        path.join(base, `m${i}`),
        '--concurrency',
        '2',
      ].concat(['--timeout', '20', '--upload', `s3://${BUCKET}/out`]),
      {
        env,
        timeoutMs: 200_000,
        onSpawn: (c) => {
          child = c;
          children.add(c);
        },
      },
    );
    void done.finally(() => children.delete(child!));
    return { child: () => child!, done };
  };
  const workers = [start(1), start(2)];
  const machineOf = (w: (typeof workers)[number]) => `${os.hostname()}:${w.child().pid}`;
  let lister = '';
  await waitFor('a lister', async () => {
    lister = (await db.get('pagepool:demo:lister')) ?? '';
    return lister !== '';
  });
  // The one that does not list, so the listing completes; once it holds a job.
  const victim = workers.find((w) => machineOf(w) !== lister)!;
  const victimInFlight = async () => (await activeJobs(db)).some((job) => job.machine === machineOf(victim));
  // However late it starts, it gets work: no PDF is served until it holds a job.
  await waitFor('the victim with a job', victimInFlight);
  release();
  await waitFor('3 items done', async () => (await db.zcard('pagepool:demo:completed')) >= 3);
  await waitFor('the victim with a job in flight', victimInFlight);
  victim.child().kill('SIGKILL');
  const results: CliResult[] = await Promise.all(workers.map((w) => w.done));
  expect(results.filter((r) => r.signal === 'SIGKILL')).toHaveLength(1);
  for (const r of results.filter((r) => r.signal !== 'SIGKILL')) expect(r.code, r.stderr).toBe(0);
  expect(await db.zcard('pagepool:demo:completed')).toBe(N);

  const client = s3.client();
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const vehicles = makeVehicles(N, 1);
    const keys = vehicles.map((v) => `out/demo/${v.stock}-window-sticker.pdf`).sort();
    expect((listed.Contents ?? []).map((o) => o.Key!).sort()).toEqual(keys);
    for (const v of vehicles) {
      const key = `out/demo/${v.stock}-window-sticker.pdf`;
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      expect(bytes.equals(stickerPdf(v)), key).toBe(true);
      // The job's outcome names the object.
      const result = JSON.parse((await db.hget(`pagepool:demo:${v.stock}`, 'returnvalue'))!) as {
        files: Array<{ object?: string }>;
      };
      expect(result.files.map((f) => f.object)).toEqual([`s3://${BUCKET}/${key}`]);
    }
  } finally {
    client.destroy();
  }
  const status = await runCli(['status', '--queue', queue, '--json'], { env });
  expect(JSON.parse(status.stdout)).toMatchObject({ done: N, uploaded: N });
}, 280_000);
