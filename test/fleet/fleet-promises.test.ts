// README, "A fleet": "a second `enqueue` adds only new keys and re-queues transient failures (permanent ones with
// `--retry-failed`)", "`work` exits 0 when the queue is drained, 1 if any item failed", "A machine that dies loses
// nothing: its jobs come back to the queue within two lock periods (2 x clamp(`--timeout`/4, 5 s, 30 s)). Ctrl+C
// lets items in flight finish for 10 s, then returns them", and "130: interrupted". Checked through the built
// command as a user runs it: real redis-server, real `pagepool` processes with real Chromium, the demo portal
// behind a logging proxy on 127.0.0.1.
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { activeJobs, type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { startTapProxy, type TapOptions, type TapProxy } from '../helpers/tap-proxy.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const SLOW = { timeout: 240_000 };
let redis: RedisServer;
const portals: Portal[] = [];
const proxies: TapProxy[] = [];
const clients: Redis[] = [];
const children = new Set<ChildProcess>();

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const client of clients) client.disconnect();
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(portals.map((p) => p.close()));
  await redis?.stop();
  await removeTempDirs();
});

async function portalBehindProxy(
  options: Partial<PortalOptions>,
  tap: TapOptions = {},
): Promise<{ portal: Portal; proxy: TapProxy }> {
  const portal = await startPortal(options);
  portals.push(portal);
  const proxy = await startTapProxy(portal.url, tap);
  proxies.push(proxy);
  return { portal, proxy };
}

/** A Redis database of its own per test, so the queues (all named `demo`) never meet. */
function database(db: number): { url: string; client: Redis } {
  const client = new Redis({ host: '127.0.0.1', port: redis.port, db, maxRetriesPerRequest: 3 });
  clients.push(client);
  return { url: `redis://127.0.0.1:${redis.port}/${db}`, client };
}

const ENV = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };

interface Running {
  child: ChildProcess;
  done: Promise<CliResult>;
}

function start(args: string[]): Running {
  let child: ChildProcess | undefined;
  const done = runCli(args, {
    env: ENV,
    timeoutMs: 150_000,
    onSpawn: (c) => {
      child = c;
      children.add(c);
    },
  });
  void done.finally(() => children.delete(child!));
  return { child: child!, done };
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A refs file of the first `count` vehicles, plus `extra` stock numbers the portal does not have. */
async function writeRefs(count: number, extra: string[] = []): Promise<string> {
  const file = path.join(await tempDir(), 'refs.jsonl');
  const stocks = [...makeVehicles(count, 1).map((v) => v.stock), ...extra];
  await writeFile(
    file,
    `${stocks.map((stock) => JSON.stringify({ stock, url: `vehicle/${stock}` })).join('\n')}\n`,
  );
  return file;
}

const STICKERS = new Map(makeVehicles(100, 1).map((v) => [`${v.stock}-window-sticker.pdf`, stickerPdf(v)]));

/** Stock numbers of the stickers in `out`; each must be the portal's file byte for byte, and no `.part` left. */
async function stickersIn(out: string): Promise<string[]> {
  const dir = path.join(out, 'demo');
  const files = await readdir(dir).catch(() => [] as string[]);
  expect(files.filter((f) => !f.endsWith('.pdf'))).toEqual([]);
  for (const file of files) {
    expect((await readFile(path.join(dir, file))).equals(STICKERS.get(file) ?? Buffer.alloc(0)), file).toBe(
      true,
    );
  }
  return files.map((f) => f.split('-')[0]!).sort();
}

const detailRequests = (proxy: TapProxy, from: number) =>
  proxy.requests
    .slice(from)
    .map((r) => r.path)
    .filter((p) => /^\/vehicle\/[^/]+$/.test(p))
    .sort();

async function fleetStatus(url: string): Promise<{ done: number; failed: number; pending: number }> {
  const status = await runCli(['status', '--queue', url, '--json'], { env: ENV });
  expect(status.code, status.stderr).toBe(0);
  return JSON.parse(status.stdout) as { done: number; failed: number; pending: number };
}

describe('enqueue again', () => {
  it(
    're-queues the transient failure, keeps the permanent one until --retry-failed; work exits 1 while one is failed',
    SLOW,
    async () => {
      const N = 6;
      let failing = true;
      const { proxy } = await portalBehindProxy(
        { vehicles: N },
        {
          respond: (req) =>
            failing && req.path === '/vehicle/S00003'
              ? { status: 500, headers: { 'content-type': 'text/html' }, body: '<h1>Server error</h1>' }
              : undefined,
        },
      );
      const db = database(1);
      const out = await tempDir();
      const refs = await writeRefs(N, ['S99999']);
      const common = ['--site', 'demo', '--queue', db.url, '--base-url', proxy.url];
      const enqueue = (more: string[] = []) =>
        runCli(['enqueue', ...common, '--refs', refs, ...more], { env: ENV });
      // --retries 0: one attempt per job, so the 500 fails S00003 at once.
      const work = () =>
        start(['work', ...common, '--out', out, '--concurrency', '2', '--retries', '0']).done;

      expect((await enqueue()).code).toBe(0);
      const first = await work();
      expect(first.code, first.stderr).toBe(1);
      expect(await fleetStatus(db.url)).toMatchObject({ done: N - 1, failed: 1, pending: 1 });

      // The portal is well again. A second enqueue queues the transient failure again, not the permanent one.
      failing = false;
      const again = await enqueue();
      expect(again.code, again.stderr).toBe(0);
      let mark = proxy.requests.length;
      const second = await work();
      expect(detailRequests(proxy, mark)).toEqual(['/vehicle/S00003']);
      // Drained, but S99999 is still failed: 1.
      expect(second.code, second.stderr).toBe(1);
      expect(await fleetStatus(db.url)).toMatchObject({ done: N, failed: 1, pending: 0 });

      // --retry-failed queues the permanent failure too; it is tried (and fails: the portal has no S99999).
      const retried = await enqueue(['--retry-failed']);
      expect(retried.code, retried.stderr).toBe(0);
      mark = proxy.requests.length;
      const third = await work();
      expect(detailRequests(proxy, mark)).toEqual(['/vehicle/S99999']);
      expect(third.code, third.stderr).toBe(1);
      expect(await stickersIn(out)).toEqual(makeVehicles(N, 1).map((v) => v.stock));
    },
  );
});

describe('work and Ctrl+C', () => {
  it(
    'items in flight finish within the grace; exit 130; the rest stay queued and the next work pulls them',
    SLOW,
    async () => {
      const N = 8;
      // Files take 2.5 s: SIGINT lands while both pages' items are downloading, well inside the 10 s grace.
      const { portal, proxy } = await portalBehindProxy({ vehicles: N, fileLatencyMs: 2500 });
      const db = database(2);
      const out = await tempDir();
      const common = ['--site', 'demo', '--queue', db.url, '--base-url', proxy.url];
      expect((await runCli(['enqueue', ...common, '--refs', await writeRefs(N)], { env: ENV })).code).toBe(0);
      // --retries 0: an item charged for the stop would fail for good.
      const work = ['work', ...common, '--out', out, '--concurrency', '2', '--retries', '0'];
      const worker = start(work);
      const stickers = () => proxy.requests.filter((r) => r.path.endsWith('/sticker.pdf'));
      await waitFor('two downloads in flight', () => stickers().filter((r) => r.status === 0).length >= 2);
      const inFlight = stickers()
        .filter((r) => r.status === 0)
        .map((r) => r.path.split('/')[2]!);
      worker.child.kill('SIGINT');
      const stopped = await worker.done;
      expect(stopped.code, stopped.stderr).toBe(130);
      // The items in flight finished: whole on disk, completed in the queue; nothing failed, the rest still queued.
      const finished = await stickersIn(out);
      for (const key of inFlight) expect(finished).toContain(key);
      expect(await fleetStatus(db.url)).toEqual(
        expect.objectContaining({ done: finished.length, failed: 0, pending: N - finished.length }),
      );
      expect(finished.length).toBeLessThan(N);

      const rest = await start(work).done;
      expect(rest.code, rest.stderr).toBe(0);
      expect(await stickersIn(out)).toEqual(makeVehicles(N, 1).map((v) => v.stock));
      // Nothing pulled twice: each file was served once.
      expect(Object.values(portal.stats().filesServed)).toEqual(Array(N).fill(1));
    },
  );

  it('items that cannot finish in 10 s are returned to the queue, uncharged; exit 130', SLOW, async () => {
    const N = 4;
    let hanging = true;
    const { proxy } = await portalBehindProxy(
      { vehicles: N },
      { hang: (req) => hanging && req.path.endsWith('/sticker.pdf') },
    );
    const db = database(3);
    const out = await tempDir();
    const common = ['--site', 'demo', '--queue', db.url, '--base-url', proxy.url];
    expect((await runCli(['enqueue', ...common, '--refs', await writeRefs(N)], { env: ENV })).code).toBe(0);
    // --retries 0: an attempt charged for the give-back would fail the job for good.
    const work = ['work', ...common, '--out', out, '--concurrency', '2', '--retries', '0'];
    const worker = start(work);
    await waitFor(
      'two downloads hanging',
      () => proxy.requests.filter((r) => r.path.endsWith('/sticker.pdf')).length >= 2,
    );
    const signalled = Date.now();
    worker.child.kill('SIGINT');
    const stopped = await worker.done;
    const waited = Date.now() - signalled;
    expect(stopped.code, stopped.stderr).toBe(130);
    // The grace is 10 s: not cut short, and not waited out much beyond.
    expect(waited).toBeGreaterThanOrEqual(9_500);
    expect(waited).toBeLessThan(25_000);
    expect(await fleetStatus(db.url)).toMatchObject({ done: 0, failed: 0, pending: N });

    hanging = false;
    const rest = await start(work).done;
    expect(rest.code, rest.stderr).toBe(0);
    expect(await stickersIn(out)).toEqual(makeVehicles(N, 1).map((v) => v.stock));
  });
});

describe('a machine that dies', () => {
  const LOCK_MS = 5_000; // --timeout 20: clamp(20 s / 4, 5 s, 30 s)
  const STALL_MS = 2_500; // the README: a stall check every half lock period
  const STALL_CHECK = 'pagepool:demo:stalled-check';

  /**
   * Two `work` machines on N slow vehicles; once the victim holds jobs, `kill` SIGKILLs it. Resolves with the
   * jobs it held, how long until none of them was active under its name, and the survivor's outcome.
   */
  async function killOne(db: { url: string; client: Redis }, kill: (victim: ChildProcess) => Promise<void>) {
    const N = 30;
    // Slow files keep items in flight on both machines when one dies, for as long as the kill may wait (~8 s).
    const { proxy } = await portalBehindProxy({ vehicles: N, fileLatencyMs: 3000 });
    const base = await tempDir();
    const common = ['--site', 'demo', '--queue', db.url, '--base-url', proxy.url];
    expect((await runCli(['enqueue', ...common, '--refs', await writeRefs(N)], { env: ENV })).code).toBe(0);
    const out = (i: number) => path.join(base, `m${i}`);
    const [victim, survivor] = [1, 2].map((i) =>
      start(['work', ...common, '--out', out(i), '--concurrency', '2', '--timeout', '20']),
    ) as [Running, Running];
    const name = `${os.hostname()}:${victim.child.pid}`;
    const heldByVictim = async () =>
      (await activeJobs(db.client)).filter((j) => j.machine === name).map((j) => j.id);
    await waitFor('the victim holding two jobs', async () => (await heldByVictim()).length >= 2);
    await kill(victim.child);
    const killedAt = Date.now();
    await victim.done;
    // Read once it is dead: its locks outlive it, so its jobs are still active under its name.
    const held = await heldByVictim();
    expect(held.length).toBeGreaterThan(0);
    let backAt = Number.POSITIVE_INFINITY;
    // Bounded by three stall checks and a lock, with room: BullMQ's own worst case.
    await waitFor(
      'its jobs back in the queue',
      async () => {
        if ((await heldByVictim()).length > 0) return false;
        backAt = Date.now();
        return true;
      },
      6 * LOCK_MS,
    );
    const result = await survivor.done;
    return { N, held, backMs: backAt - killedAt, result, survivorOut: out(2) };
  }

  it('loses nothing: its jobs come back and finish on the other machine', SLOW, async () => {
    const db = database(4);
    const { N, held, result, survivorOut } = await killOne(db, async (victim) => {
      victim.kill('SIGKILL');
    });
    expect(result.code, result.stderr).toBe(0);
    expect(await fleetStatus(db.url)).toMatchObject({ done: N, failed: 0, pending: 0 });
    const onSurvivor = await stickersIn(survivorOut);
    for (const key of held) expect(onSurvivor).toContain(key);
  });

  // Was `it.fails` (the README's "within two lock periods" was false): BullMQ moves a job back on the second stall
  // check after its lock's last renewal (the first only marks it), and the check is throttled fleet-wide by one
  // `stalled-check` key that lives a stall interval: when the dead machine ran the fleet's last check, the
  // survivor's next one is skipped. With the stall interval equal to the lock that made the bound 3 locks (15 s
  // at --timeout 20; measured 12 s here). The interval is now half a lock: the bound is 1.5 locks. Measured
  // without any help (the kill at a random moment, as in the test above), before: 8.6, 9.2, 9.5, 9.6, 10.5, 10.6,
  // 10.6, 10.8 s. Here the worst case is made likely: the kill comes 3 s after an observed check (the locks
  // renewed since, so no job is marked), right after the dead machine's own last check, which the test writes as
  // BullMQ's script does (SET stalled-check PX stalledInterval).
  it('back within two lock periods when the dead machine ran the last stall check', SLOW, async () => {
    const db = database(5);
    const { backMs } = await killOne(db, async (victim) => {
      const seen = await db.client.get(STALL_CHECK);
      await waitFor('a stall check', async () => (await db.client.get(STALL_CHECK)) !== seen, 3 * LOCK_MS);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      victim.kill('SIGKILL');
      await db.client.set(STALL_CHECK, String(Date.now()), 'PX', STALL_MS);
    });
    expect(backMs).toBeLessThanOrEqual(2 * LOCK_MS);
  });
});
