// `pagepool run --metrics-port`: a port in use or a bad value is one line and exit 2 before anything starts; a real
// pull of the demo portal can be scraped over HTTP while it runs, and report.json ends with the same counters.
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { startPortal } from '../../src/demo/portal.js';
import { type CliOptions, type CliResult, runCli } from '../helpers/cli.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);

type Families = ReturnType<typeof parsePromText>;

/**
 * Runs the command and scrapes `url` every 100 ms from the moment it says `Metrics on URL` until it exits
 * (bounded: 600 tries). The endpoint closes with the run, so every scrape that answered was taken during it.
 */
async function runScraped(
  args: string[],
  url: string,
  options: CliOptions,
): Promise<{ result: CliResult; scrapes: Families[]; announced: boolean; pid: number | undefined }> {
  const scrapes: Families[] = [];
  let exited = false;
  let announced = false;
  let pid: number | undefined;
  const result = await runCli(args, {
    ...options,
    onSpawn(child: ChildProcess) {
      pid = child.pid;
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes(`Metrics on ${url}`)) announced = true;
      });
      child.on('exit', () => {
        exited = true;
      });
      void (async () => {
        for (let i = 0; i < 600 && !exited; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          if (!announced) continue;
          const text = await fetch(url).then(
            (res) => (res.ok ? res.text() : null),
            () => null,
          );
          if (text !== null) scrapes.push(parsePromText(text));
        }
      })();
    },
  });
  return { result, scrapes, announced, pid };
}

/** A port that was free a moment ago: taken by the kernel, released, handed to the child. */
async function freePort(): Promise<number> {
  const probe = await listening();
  const port = portOf(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function listening(port = 0): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

describe('pagepool run --metrics-port', () => {
  it('a port in use: one line naming it, exit 2, no portal, no browser, nothing written', async () => {
    const cwd = await tempDir();
    const blocker = await listening();
    const port = portOf(blocker);
    try {
      const { code, stdout, stderr } = await runCli(['run', '--metrics-port', String(port)], {
        cwd,
        env: { DEMO_VEHICLES: '3' },
      });
      expect(code).toBe(2);
      expect(stderr).toBe(
        `pagepool: Cannot serve metrics on 127.0.0.1:${port}: port ${port} is already in use\n`,
      );
      expect(stdout).toBe('');
      expect(await readdir(cwd)).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it.each([
    [
      ['--metrics-port', '70000'],
      {},
      'Expected `--metrics-port` to be an integer from 1 to 65535, got `70000`. See `pagepool run --help`.',
    ],
    [
      [],
      { PAGEPOOL_METRICS_PORT: 'x' },
      'Expected `PAGEPOOL_METRICS_PORT` to be an integer from 1 to 65535, got `x`',
    ],
    [
      [],
      { PAGEPOOL_METRICS_HOST: 'http://127.0.0.1' },
      'Expected `PAGEPOOL_METRICS_HOST` to be a host name or address, got `http://127.0.0.1`',
    ],
    [
      ['--metrics-port', '9464', '--metrics-host', '192.0.2.1'],
      {},
      'Cannot serve metrics on 192.0.2.1:9464: host `192.0.2.1` is not an address of this machine',
    ],
  ])('%j %j: one line, exit 2, nothing written', async (args, env, message) => {
    const cwd = await tempDir();
    const { code, stdout, stderr } = await runCli(['run', ...args], { cwd, env });
    expect(code).toBe(2);
    expect(stderr).toBe(`pagepool: ${message}\n`);
    expect(stdout).toBe('');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('a demo pull scraped while it runs: strict text, counts that only grow and never pass report.json', async () => {
    const cwd = await tempDir();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    const { result, scrapes, announced } = await runScraped(
      ['run', '--metrics-port', String(port), '--concurrency', '2', '--retries', '6'],
      url,
      {
        cwd,
        env: { DEMO_VEHICLES: '12', DEMO_FILE_LATENCY_MS: '300', DEMO_FAILURE_RATE: '0.1', DEMO_SEED: '3' },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(announced).toBe(true);
    expect(scrapes.length).toBeGreaterThan(0);
    const done = scrapes.map((f) => sampleValue(f, 'pagepool_items_total', { outcome: 'done' }));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    const report = JSON.parse(
      await readFile(path.join(cwd, 'downloads', '.pagepool', 'report.json'), 'utf8'),
    );
    expect(report.totals.done).toBe(12);
    // report.json's snapshot, taken at the end of the run, holds the same counts as its totals.
    expect(report.metrics.items).toMatchObject({
      done: report.totals.done,
      failed: report.totals.failed,
      retried: report.totals.retries,
      abandoned: report.totals.abandoned,
      duplicate: report.totals.duplicates,
    });
    expect(report.metrics.bytesWritten).toBe(report.totals.bytes);
    expect(report.metrics.peak.inFlight).toBeGreaterThanOrEqual(1);
    // Two stages: 2 pages plus the download stage (2 x 2 by default).
    expect(report.metrics.peak.inFlight).toBeLessThanOrEqual(2 + 2 * 2);
    expect(report.metrics.peak.oldestInFlightSeconds).toBeGreaterThan(0);
    // Every scrape was taken during the run: none passes what the run ended with.
    const last = scrapes.at(-1)!;
    for (const outcome of ['done', 'failed', 'retried', 'abandoned'] as const) {
      expect(sampleValue(last, 'pagepool_items_total', { outcome })).toBeLessThanOrEqual(
        report.metrics.items[outcome],
      );
    }
    // Chromium is in the tree while it pulls (the endpoint outlives the browser, so not in every scrape).
    const processes = scrapes.map((f) => sampleValue(f, 'pagepool_process_tree_processes'));
    expect(Math.max(...processes)).toBeGreaterThanOrEqual(2);
    for (const family of last.values())
      for (const sample of family.samples) expect(sample.labels.worker).toBeUndefined();
  }, 180_000);

  it('fleet `work`: its own endpoint, every sample labelled worker="host:pid"', async () => {
    const redis = await startRedisServer();
    const portal = await startPortal({ vehicles: 6, fileLatencyMs: 300 });
    try {
      const env = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };
      const common = ['--queue', `${redis.url}`, '--base-url', portal.url];
      const refs = path.join(await tempDir(), 'refs.jsonl');
      const lines = makeVehicles(6, portal.options.seed).map((v) => JSON.stringify({ stock: v.stock }));
      await writeFile(refs, `${lines.join('\n')}\n`);
      const enqueued = await runCli(['enqueue', ...common, '--refs', refs], { env });
      expect(enqueued.code, enqueued.stderr).toBe(0);

      const port = await freePort();
      const url = `http://127.0.0.1:${port}/metrics`;
      const out = await tempDir();
      const { result, scrapes, pid } = await runScraped(
        ['work', ...common, '--out', out, '--concurrency', '2', '--metrics-port', String(port)],
        url,
        { env },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(scrapes.length).toBeGreaterThan(0);
      const worker = `${os.hostname()}:${pid}`;
      for (const families of scrapes) {
        for (const family of families.values()) {
          for (const sample of family.samples) expect(sample.labels.worker).toBe(worker);
        }
      }
      const done = scrapes.map((f) => sampleValue(f, 'pagepool_items_total', { outcome: 'done', worker }));
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(done.at(-1)).toBeLessThanOrEqual(6);
    } finally {
      await portal.close();
      await redis.stop();
    }
  }, 240_000);
});
