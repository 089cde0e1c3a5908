// Issue 3, Ctrl+C: the real `pagepool run` in a child process gets SIGINT mid-run. It finishes what is in flight,
// records it, prints its summary and exits 130; the next run does the rest and fetches nothing twice.
// The demo portal runs in this process so that its /_stats sees both child runs.
import { readFile } from 'node:fs/promises';
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
      /^pagepool: SIGINT: finishing items in flight \(press Ctrl\+C again to quit at once\)$/m,
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
    expect(p.stats().logins).toBe(2);
  }, 240_000);

  it('second SIGINT: exits at once with 130; the checkpoint still loads and a run completes the rest', async () => {
    const p = await portal({ vehicles: 40, pageLatencyMs: 100 });
    const cwd = await tempDir();
    let signalled = 0;
    const first = await childPull({
      portal: p,
      cwd,
      args: ['--concurrency', '4'],
      onSpawn: (child) => {
        void waitForPdfs(cwd, 6, child).then((ready) => {
          if (!ready) return;
          signalled += Number(child.kill('SIGINT'));
          // Well inside the shutdown grace, while items are still in flight.
          setTimeout(() => {
            if (child.exitCode === null) signalled += Number(child.kill('SIGINT'));
          }, 100);
        });
      },
    });
    expect(signalled).toBe(2);
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/^pagepool: SIGINT again, exiting now$/m);
    // Whether the summary got out first depends on how fast the in-flight items drained: not asserted.

    const afterFirst = await status(cwd);
    // A file is renamed into place before its done line is journaled: a hard exit may leave the newest few on
    // disk but unrecorded (the next run fetches them again), never recorded but missing.
    expect(afterFirst.done).toBeGreaterThanOrEqual(1);
    expect(afterFirst.done).toBeLessThanOrEqual(await pdfCount(cwd));
    const servedFirst = p.stats().filesServed;
    const done = await doneKeys(cwd);

    const second = await childPull({ portal: p, cwd, args: ['--concurrency', '4'] });
    expect(second.code).toBe(0);
    expect((await status(cwd)).done).toBe(40);
    expect(await badPdfs(cwd, p)).toEqual([]);
    expect(await leftoverFiles(outDir(cwd))).toEqual([]);
    const served = p.stats().filesServed;
    // Done items are never fetched again; an item cut off mid-flight by the hard exit may be fetched once more.
    for (const key of done) expect(served[key]).toBe(servedFirst[key]);
    expect(Object.entries(served).filter(([, n]) => n > 2)).toEqual([]);
  }, 240_000);
});
