// Issue 4, SIGKILL: the real `pagepool run` is killed at seeded random moments (mid-download, mid-commit,
// mid-journal-write), then run to completion. Nothing is lost, nothing done is fetched again, nothing half-written
// is left. The demo portal runs in this process so its /_stats sees every run. The long version: scripts/kill-soak.ts.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { badPdfs, leftoverFiles, outDir } from './helpers/child-pull.js';
import { runCli } from './helpers/cli.js';
import { killSoak } from './helpers/kill-soak.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const portals: Portal[] = [];
afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
});

// Enough items that 5 kills (each after 1-6 new files and up to 400 ms more) land before the run's end: with pages
// read over HTTP a run pulls ~40 items/s at 4 pages, and 60 items let a round end before its kill (seen in CI).
const VEHICLES = 150;

describe('SIGKILL', () => {
  it('killed 5 times at random moments, then run to the end: every file once and whole, nothing refetched that was done', async () => {
    // Faults off: every refetch must then be explained by a kill alone. The page latency spreads an item over
    // a few hundred ms so kills land in every stage of it.
    const p = await startPortal({ vehicles: VEHICLES, pageLatencyMs: 100 });
    portals.push(p);
    const cwd = await tempDir();
    const result = await killSoak({
      portal: p,
      cwd,
      kills: 5,
      seed: 20_240_101,
      maxFilesPerKill: 6,
      args: ['--concurrency', '4'],
    });
    const refetchedAllowed = result.inFlightAtKill.reduce((n, set) => n + set.size, 0);
    console.log(
      `crash: ${VEHICLES} items, ${result.kills} kills, ${result.refetched.length} items fetched twice ` +
        `(${refetchedAllowed} fetched but unrecorded at a kill), ${(result.wallMs / 1000).toFixed(1)} s`,
    );

    // Each kill landed mid-run (a run that ended first would prove nothing).
    expect(result.kills).toBe(5);
    expect(result.orphans).toEqual([]);
    expect(result.final.stderr).toBe('');
    expect(result.final.code).toBe(0);

    const status = await runCli(['status', '--json'], { cwd });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ done: VEHICLES, pending: 0, failed: 0 });
    expect(await badPdfs(cwd, p)).toEqual([]);
    // Once: no second copy of any PDF under another name.
    const pdfs = (await readdir(path.join(outDir(cwd), 'demo'))).filter((n) => n.endsWith('.pdf'));
    expect(pdfs).toHaveLength(VEHICLES);
    expect(await leftoverFiles(outDir(cwd))).toEqual([]);
    // An item is fetched again only if a kill caught it fetched but not yet recorded as done.
    expect(result.overFetched).toEqual([]);
    expect(Object.keys(p.stats().filesServed)).toHaveLength(VEHICLES);
  }, 300_000);
});
