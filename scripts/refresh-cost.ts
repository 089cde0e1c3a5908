// What a refresh costs beside the first full pull: `pagepool run` (built bin, real Chromium) against the demo
// portal with 300 vehicles and ~250 KB stickers, behind a byte-counting TCP proxy on 127.0.0.1, so every byte of
// pages, files and headers both ways is counted. Three runs on one output folder: the first pull, then
// `--refresh-after 0` of the unchanged portal through each vehicle's page (the built-in adapter), then the same
// with `refresh: 'files'` (the recorded sticker URLs asked directly). One run each; wall time includes Chromium's
// launch and the login. `npx tsx scripts/refresh-cost.ts [VEHICLES]`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startPortal } from '../src/demo/portal.js';

const VEHICLES = Number(process.argv[2] ?? 300);
const PAD = 250_000;
const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist', 'main.js');
const BY_URL = path.join(ROOT, 'test', 'sites', 'fixtures', 'demo-by-url.ts');

/** A TCP proxy to `port` that counts the bytes each way. */
async function countingProxy(port: number) {
  const counts = { up: 0, down: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      counts.up += d.length;
    });
    upstream.on('data', (d: Buffer) => {
      counts.down += d.length;
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${own}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function pull(args: string[], cwd: string): Promise<{ code: number | null; ms: number; stderr: string }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', ...args, '--quiet'], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: os.tmpdir(),
        PAGEPOOL_USERNAME: 'demo',
        PAGEPOOL_PASSWORD: 'demo-pass',
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.resume();
    child.on('close', (code) => resolve({ code, ms: Date.now() - started, stderr }));
  });
}

const portal = await startPortal({ vehicles: VEHICLES, stickerPadBytes: PAD });
const proxy = await countingProxy(portal.port);
const cwd = await mkdtemp(path.join(os.tmpdir(), 'pagepool-refresh-cost-'));
const rows: string[] = [];
try {
  const runs: Array<[string, string[]]> = [
    ['first full pull', ['--site', 'demo']],
    ['refresh, through the page', ['--site', 'demo', '--refresh-after', '0']],
    ["refresh, refresh: 'files'", ['--site', BY_URL, '--refresh-after', '0']],
  ];
  for (const [name, args] of runs) {
    const before = { ...proxy.counts, stats: portal.stats() };
    const result = await pull(['--base-url', proxy.url, ...args], cwd);
    if (result.code !== 0) throw new Error(`${name}: exit ${result.code}: ${result.stderr}`);
    const stats = portal.stats();
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const mb = (n: number) => (n / 1e6).toFixed(2);
    rows.push(
      [
        name.padEnd(28),
        `${(result.ms / 1000).toFixed(1)} s`.padStart(8),
        `${mb(proxy.counts.down - before.down)} MB down`.padStart(14),
        `${mb(proxy.counts.up - before.up)} MB up`.padStart(12),
        `${mb(stats.fileBodyBytes - before.stats.fileBodyBytes)} MB file bodies`.padStart(22),
        `${sum(stats.pagesServed) - sum(before.stats.pagesServed)} pages`.padStart(10),
        `${stats.notModified - before.stats.notModified} x 304`.padStart(9),
      ].join('  '),
    );
  }
  console.log(`${VEHICLES} vehicles, stickers of ${PAD / 1000} KB + ~2 KB, concurrency 8, one run each:`);
  for (const row of rows) console.log(row);
} finally {
  await proxy.close();
  await portal.close();
  await rm(cwd, { recursive: true, force: true });
}
