// README, "Resume": "A new run with the same checkpoint skips what is done, retries what failed transiently and
// what was in flight, and leaves alone what failed permanently (a 404, "no document") unless you add
// `--retry-failed`. `--fresh` starts over and keeps the old checkpoint as a backup." Checked through the built
// command as a user runs it (real Chromium), what reached the portal read from a logging proxy in front of it.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeCheckpointFs } from '../../src/checkpoint/checkpoint-fs.js';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint-loader.js';
import { journalPathFor } from '../../src/checkpoint/checkpoint-paths.js';
import { DONE } from '../../src/checkpoint/checkpoint-state.js';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { badPdfs, checkpointPath, childPull, doneKeys, outDir } from '../helpers/child-pull.js';
import { runCli } from '../helpers/cli.js';
import { startTapProxy, type TapProxy } from '../helpers/tap-proxy.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const SLOW = { timeout: 240_000 };
const portals: Portal[] = [];
const proxies: TapProxy[] = [];

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
});

async function portal(vehicles: number): Promise<Portal> {
  const p = await startPortal({ vehicles });
  portals.push(p);
  return p;
}

const CREDENTIALS = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };

/** Paths of the detail pages requested since `from` (an index into the proxy's log). */
function detailsSince(proxy: TapProxy, from: number): string[] {
  return proxy.requests
    .slice(from)
    .map((r) => r.path)
    .filter((p) => /^\/vehicle\/[^/]+$/.test(p));
}

/** A detail page that loads but has no window-sticker link: the item has no document. */
const NO_DOCUMENT = {
  status: 200,
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body: '<!doctype html><title>Vehicle</title><h1>Vehicle</h1><p>No window sticker for this vehicle.</p>',
};

describe('--fresh', () => {
  it('starts over (every item pulled again) and keeps the old checkpoint as a backup', SLOW, async () => {
    const N = 4;
    const p = await portal(N);
    const cwd = await tempDir();
    const first = await childPull({ portal: p, cwd });
    expect(first.code, first.stderr).toBe(0);
    const before = await doneKeys(cwd);
    expect(before.size).toBe(N);

    const again = await childPull({ portal: p, cwd, args: ['--fresh'] });
    expect(again.code, again.stderr).toBe(0);
    // Started over: each file was served a second time, and the new checkpoint records each item done.
    expect(Object.values(p.stats().filesServed)).toEqual(Array(N).fill(2));
    expect(await doneKeys(cwd)).toEqual(before);
    // The same files, byte for byte, under the same names: no second copy beside the first.
    expect(await badPdfs(cwd, p)).toEqual([]);
    expect((await readdir(path.join(outDir(cwd), 'demo'))).sort()).toEqual(
      makeVehicles(N, 1).map((v) => `${v.stock}-window-sticker.pdf`),
    );
    // The old checkpoint is kept: one backup beside the new one, which still loads with every item done.
    const folder = path.dirname(checkpointPath(cwd));
    const backups = (await readdir(folder)).filter((name) => name.startsWith('backup-'));
    expect(backups).toHaveLength(1);
    const old = path.join(folder, backups[0]!, 'checkpoint.json');
    const loaded = await loadCheckpoint(nodeCheckpointFs, old, journalPathFor(old));
    expect(new Set([...loaded.state.items.keys()].filter((k) => loaded.state.statusOf(k) === DONE))).toEqual(
      before,
    );
  });
});

describe('the next run: transient failures retried, permanent ones left alone unless --retry-failed', () => {
  it('a 500 is pulled by the next run; a 404 is not, until --retry-failed', SLOW, async () => {
    const N = 8;
    const p = await portal(N);
    let failing = true;
    const proxy = await startTapProxy(p.url, {
      respond: (req) =>
        failing && req.path === '/vehicle/S00003'
          ? { status: 500, headers: { 'content-type': 'text/html' }, body: '<h1>Server error</h1>' }
          : undefined,
    });
    proxies.push(proxy);
    const cwd = await tempDir();
    const refs = path.join(cwd, 'refs.jsonl');
    const stocks = [...makeVehicles(N, 1).map((v) => v.stock), 'S99999'];
    await writeFile(
      refs,
      `${stocks.map((stock) => JSON.stringify({ stock, url: `vehicle/${stock}` })).join('\n')}\n`,
    );
    const pull = (more: string[] = []) =>
      runCli(['run', '--site', 'demo', '--base-url', proxy.url, '--refs', refs, '--retries', '0', ...more], {
        cwd,
        env: CREDENTIALS,
        timeoutMs: 120_000,
      });

    const first = await pull();
    expect(first.code, first.stderr).toBe(1);
    expect([...(await doneKeys(cwd))].sort()).toEqual(stocks.filter((s) => s !== 'S00003' && s !== 'S99999'));

    // The portal is well again. The next run asks it for the transient failure only.
    failing = false;
    let mark = proxy.requests.length;
    const second = await pull();
    expect(detailsSince(proxy, mark)).toEqual(['/vehicle/S00003']);
    expect(await doneKeys(cwd)).toContain('S00003');
    expect(second.stderr).not.toMatch(/S99999/);

    // With --retry-failed the permanent failure is tried again (and fails again: the portal still has no S99999).
    mark = proxy.requests.length;
    const third = await pull(['--retry-failed']);
    expect(detailsSince(proxy, mark)).toEqual(['/vehicle/S99999']);
    expect(third.code, third.stderr).toBe(1);
    expect(third.stderr).toMatch(/S99999/);
    expect([...(await doneKeys(cwd))].sort()).toEqual(stocks.filter((s) => s !== 'S99999'));
  });

  it(
    'the embedded demo with DEMO_FAILURE_RATE: the next run pulls the items that failed, and only them',
    SLOW,
    async () => {
      const N = 20;
      const cwd = await tempDir();
      const pull = (failureRate: string) =>
        runCli(['run', '--site', 'demo', '--retries', '0', '--concurrency', '4'], {
          cwd,
          env: { DEMO_VEHICLES: String(N), DEMO_FAILURE_RATE: failureRate },
          timeoutMs: 120_000,
        });
      const reportItems = async () => {
        const file = path.join(outDir(cwd), '.pagepool', 'report.json');
        const report = JSON.parse(await readFile(file, 'utf8')) as {
          items: Array<{ key: string; outcome: string }>;
        };
        return report.items;
      };
      const first = await pull('0.3');
      expect(first.code, first.stderr).toBe(1);
      const failed = (await reportItems()).filter((i) => i.outcome !== 'done').map((i) => i.key);
      expect(failed.length).toBeGreaterThan(0);
      expect((await doneKeys(cwd)).size).toBe(N - failed.length);

      const second = await pull('0');
      expect(second.code, second.stderr).toBe(0);
      expect((await reportItems()).map((i) => i.key).sort()).toEqual(failed.sort());
      expect((await doneKeys(cwd)).size).toBe(N);
    },
  );

  it(
    '"no document" from the adapter `pagepool init` writes is permanent: not asked for again',
    SLOW,
    async () => {
      const p = await portal(4);
      const proxy = await startTapProxy(p.url, {
        respond: (req) => (req.path === '/vehicle/S00002' ? NO_DOCUMENT : undefined),
      });
      proxies.push(proxy);
      const cwd = await tempDir();
      const init = await runCli(['init'], { cwd, env: CREDENTIALS });
      expect(init.code, init.stderr).toBe(0);
      const pull = () =>
        runCli(['run', '--site', 'adapters/my-portal.ts', '--base-url', proxy.url], {
          cwd,
          env: CREDENTIALS,
          timeoutMs: 120_000,
        });
      const first = await pull();
      expect(first.code, first.stderr).toBe(1);
      // Permanent at once, no retries: one attempt, which read the page over HTTP and, its HTML having no link,
      // on the browser page (read() falls back once per attempt).
      expect(detailsSince(proxy, 0).filter((d) => d === '/vehicle/S00002')).toHaveLength(2);
      const mark = proxy.requests.length;
      await pull();
      expect(detailsSince(proxy, mark)).toEqual([]);
      const files = await readdir(path.join(outDir(cwd), 'my-portal'));
      expect(files.sort()).toEqual(['S00001.pdf', 'S00003.pdf', 'S00004.pdf']);
    },
  );

  // Issue 23: the demo vehicles adapter throws a PermanentError for a detail page without a sticker link (over
  // HTTP and on the browser page after its scripts), so "no document" is not asked for again, in the run or after.
  it('"no document" from the demo adapter is permanent: not asked for again', SLOW, async () => {
    const p = await portal(4);
    const proxy = await startTapProxy(p.url, {
      respond: (req) => (req.path === '/vehicle/S00002' ? NO_DOCUMENT : undefined),
    });
    proxies.push(proxy);
    const cwd = await tempDir();
    const pull = () =>
      runCli(['run', '--site', 'demo', '--base-url', proxy.url, '--retries', '0'], {
        cwd,
        env: CREDENTIALS,
        timeoutMs: 120_000,
      });
    const first = await pull();
    expect(first.code, first.stderr).toBe(1);
    const mark = proxy.requests.length;
    await pull();
    expect(detailsSince(proxy, mark)).toEqual([]);
  });
});
