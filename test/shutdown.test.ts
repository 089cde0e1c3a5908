// Issue 3, Ctrl+C: the real `pagepool run` in a child process gets SIGINT mid-run. It finishes what is in flight,
// records it, prints its summary and exits 130; the next run does the rest and fetches nothing twice.
// The demo portal runs in this process so that its /_stats sees both child runs.
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../src/demo/portal.js';
import {
  badPdfs,
  checkpointPath,
  childPull,
  doneKeys,
  leftoverFiles,
  outDir,
  pdfCount,
  waitForPdfs,
} from './helpers/child-pull.js';
import { runCli } from './helpers/cli.js';
import { processesWith } from './helpers/process-tree.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const portals: Portal[] = [];
afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
});

async function portal(options: Partial<PortalOptions>): Promise<Portal> {
  const p = await startPortal(options);
  portals.push(p);
  return p;
}

/** Resolves once the portal has answered `count` detail pages (true), or false when the child exited first. */
async function waitForPages(
  p: Portal,
  count: number,
  child: ChildProcess,
  timeoutMs = 60_000,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && child.exitCode === null && child.signalCode === null) {
    if (Object.keys(p.stats().pagesServed).length >= count) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

async function status(cwd: string): Promise<{ done: number; pending: number }> {
  const result = await runCli(['status', '--json'], { cwd });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe('Ctrl+C', () => {
  it('first SIGINT: in-flight items finish and are recorded, summary, exit 130; the next run fetches only the rest', async () => {
    // 80 vehicles at 100 ms a page and 4 pages take several seconds: the signal lands mid-run.
    const p = await portal({ vehicles: 80, pageLatencyMs: 100 });
    const cwd = await tempDir();
    let signalled = false;
    const first = await childPull({
      portal: p,
      cwd,
      args: ['--concurrency', '4'],
      onSpawn: (child) => {
        void waitForPdfs(cwd, 15, child).then((ready) => {
          if (ready) signalled = child.kill('SIGINT');
        });
      },
    });
    expect(signalled).toBe(true);
    expect(first.code).toBe(130);
    // One line for the signal, nothing else on stderr (no warnings, no stack).
    expect(first.stderr).toMatch(
      /^pagepool: SIGINT: finishing items in flight \(press Ctrl\+C again to quit now\)$/m,
    );
    expect(first.stderr.split('\n').filter((l) => l.startsWith('pagepool:'))).toHaveLength(1);
    expect(first.stdout).toMatch(
      /Done in .*: \d+ of \d+ items saved .* Interrupted: \d+ items? left pending; run again to resume\./,
    );

    const afterFirst = await status(cwd);
    const done = await doneKeys(cwd);
    expect(done.size).toBe(afterFirst.done);
    expect(done.size).toBeGreaterThanOrEqual(15);
    expect(done.size).toBeLessThan(80);
    // Every file on disk is recorded as done: items in flight at the signal finished and were committed.
    expect(await pdfCount(cwd)).toBe(done.size);
    const report = JSON.parse(
      await readFile(path.join(path.dirname(checkpointPath(cwd)), 'report.json'), 'utf8'),
    );
    expect(report.reason).toBe('interrupted');
    expect(report.totals.done).toBe(done.size);
    const servedFirst = p.stats().filesServed;
    // The graceful stop leaves nothing half-fetched: every file served in the first run is a done item.
    expect(Object.keys(servedFirst).sort()).toEqual([...done].sort());

    const second = await childPull({ portal: p, cwd, args: ['--concurrency', '4'] });
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect((await status(cwd)).done).toBe(80);
    expect(await badPdfs(cwd, p)).toEqual([]);
    expect(await leftoverFiles(outDir(cwd))).toEqual([]);
    const served = p.stats().filesServed;
    expect(Object.keys(served)).toHaveLength(80);
    // Nothing already done was fetched again, and nothing else was fetched twice either.
    expect(Object.entries(served).filter(([, n]) => n !== 1)).toEqual([]);
    // One login: the second run starts from the session the first one saved (issue 24).
    expect(p.stats().logins).toBe(1);
  }, 240_000);

  it('SIGTERM: the same graceful stop as Ctrl+C, exit 130; the next run fetches only the rest', async () => {
    const p = await portal({ vehicles: 40, pageLatencyMs: 100 });
    const cwd = await tempDir();
    let signalled = false;
    const first = await childPull({
      portal: p,
      cwd,
      args: ['--concurrency', '4'],
      onSpawn: (child) => {
        void waitForPdfs(cwd, 6, child).then((ready) => {
          if (ready) signalled = child.kill('SIGTERM');
        });
      },
    });
    expect(signalled).toBe(true);
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/^pagepool: SIGTERM: finishing items in flight/m);
    expect(first.stdout).toMatch(/Interrupted: \d+ items? left pending; run again to resume\./);
    const done = await doneKeys(cwd);
    expect(done.size).toBeGreaterThanOrEqual(6);
    expect(done.size).toBeLessThan(40);
    expect(await pdfCount(cwd)).toBe(done.size);
    const report = JSON.parse(await readFile(path.join(outDir(cwd), '.pagepool', 'report.json'), 'utf8'));
    expect(report.reason).toBe('interrupted');
    expect(Object.keys(p.stats().filesServed).sort()).toEqual([...done].sort());

    const second = await childPull({ portal: p, cwd, args: ['--concurrency', '4'] });
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await badPdfs(cwd, p)).toEqual([]);
    expect(Object.entries(p.stats().filesServed).filter(([, n]) => n !== 1)).toEqual([]);
    expect(Object.keys(p.stats().filesServed)).toHaveLength(40);
  }, 240_000);

  it('second SIGINT: exits at once with 130, leaves no Chromium; the checkpoint still loads and a run completes the rest', async () => {
    // Every file takes 60 s, so a graceful drain cannot end before the 10 s shutdown grace and always prints its
    // summary and writes report.json: a hard exit does neither, and comes far sooner.
    const p = await portal({ vehicles: 40, fileLatencyMs: 60_000 });
    const cwd = await tempDir();
    // Chromium's profile folder goes under TMPDIR: every process of this run's browser names this folder.
    const tmp = path.join(cwd, 'tmp');
    await mkdir(tmp);
    let signalled = 0;
    let browsers: number[] = [];
    let secondAt = 0;
    let exitedAt = 0;
    const first = await childPull({
      portal: p,
      cwd,
      args: ['--concurrency', '4'],
      env: { TMPDIR: tmp },
      onSpawn: (child) => {
        child.on('exit', () => {
          exitedAt = Date.now();
        });
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => {
          stderr += d.toString();
          // The first signal was handled and items are in flight: the second one now.
          if (signalled === 1 && stderr.includes('finishing items in flight')) {
            browsers = processesWith(/chrom/i, tmp);
            secondAt = Date.now();
            signalled += Number(child.kill('SIGINT'));
          }
        });
        void waitForPages(p, 4, child).then((ready) => {
          if (ready) signalled += Number(child.kill('SIGINT'));
        });
      },
    });
    expect(signalled).toBe(2);
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/^pagepool: SIGINT again: quitting now; run again to resume$/m);
    // No drain ran to its end: no summary, no report.
    expect(first.stdout).not.toMatch(/Done in /);
    await expect(readFile(path.join(outDir(cwd), '.pagepool', 'report.json'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    // Well under the 10 s the drain would take at the least.
    expect(exitedAt - secondAt).toBeLessThan(8_000);
    // The browser went with it: none of its processes is left (the check saw them while the run was on).
    expect(browsers.length).toBeGreaterThan(0);
    await expect.poll(() => processesWith(/chrom/i, tmp), { timeout: 30_000, interval: 100 }).toEqual([]);
    expect(await pdfCount(cwd)).toBe(0);
    expect((await status(cwd)).done).toBe(0);

    // The second run needs files that arrive: the same inventory on a portal without the delay.
    const q = await portal({ vehicles: 40 });
    const second = await childPull({ portal: q, cwd, args: ['--concurrency', '4'] });
    expect(second.code).toBe(0);
    expect((await status(cwd)).done).toBe(40);
    expect(await badPdfs(cwd, q)).toEqual([]);
    expect(await leftoverFiles(outDir(cwd))).toEqual([]);
    expect(Object.keys(q.stats().filesServed)).toHaveLength(40);
  }, 240_000);
});
