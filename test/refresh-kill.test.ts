// SIGKILL in the middle of a refresh: the real `pagepool run --refresh-after 0 --keep-versions` is killed once some
// changed stickers have been replaced and others not. At that moment every sticker on disk is one whole version
// (the old or the new, never a mix or a cut), every kept version is the old one; the rerun finishes the refresh:
// every sticker current, one kept version per changed sticker (not a second copy of one a killed run had already
// replaced), nothing half-written left.
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { itemAt } from '../src/demo/revision.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { childPull, leftoverFiles, outDir } from './helpers/child-pull.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const N = 60;
const SEED = 11;
const PAD = 400_000;
const REVISION = 3;
const vehicles = makeVehicles(N, SEED);
const editionOf = (i: number) => itemAt(i + 1, REVISION).edition;
const changed = vehicles
  .filter((_, i) => editionOf(i) > 1 && !itemAt(i + 1, REVISION).gone)
  .map((v) => v.stock);
const removed = vehicles.filter((_, i) => itemAt(i + 1, REVISION).gone).map((v) => v.stock);
const VERSION = /^(S\d{5})-window-sticker\.\d{4}-\d\d-\d\dT\d{6}Z(-\d+)?\.pdf$/;

let portal: Portal;
let cwd: string;
beforeAll(async () => {
  // Each sticker body takes ~0.2 s: a kill lands between replacements, with some done and some not.
  portal = await startPortal({ vehicles: N, seed: SEED, stickerPadBytes: PAD, fileBytesPerSec: 2_000_000 });
  cwd = await tempDir();
});
afterAll(async () => {
  await portal?.close();
  await removeTempDirs();
});

const dir = () => path.join(outDir(cwd), 'demo');
const versions = async () =>
  (await readdir(dir()).catch(() => [] as string[])).filter((n) => VERSION.test(n));

/** Resolves true once `count` versions were kept (then the child is killed), false if it ended first (60 s bound). */
async function killAfterVersions(child: ChildProcess, count: number): Promise<boolean> {
  const until = Date.now() + 60_000;
  while (Date.now() < until && child.exitCode === null && child.signalCode === null) {
    if ((await versions()).length >= count) {
      child.kill('SIGKILL');
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** Every sticker on disk is one whole version of itself; every kept version is the first edition. */
async function everyFileWhole(): Promise<{ current: Map<string, number> }> {
  const current = new Map<string, number>();
  for (const [i, vehicle] of vehicles.entries()) {
    const bytes = await readFile(path.join(dir(), `${vehicle.stock}-window-sticker.pdf`));
    const edition = [1, editionOf(i)].find((e) => bytes.equals(stickerPdf(vehicle, PAD, e)));
    expect(edition, `${vehicle.stock} is neither its old nor its new version`).toBeDefined();
    current.set(vehicle.stock, edition!);
  }
  for (const name of await versions()) {
    const stock = VERSION.exec(name)![1]!;
    const vehicle = vehicles.find((v) => v.stock === stock)!;
    expect((await readFile(path.join(dir(), name))).equals(stickerPdf(vehicle, PAD, 1)), name).toBe(true);
  }
  return { current };
}

describe('SIGKILL in the middle of a refresh', () => {
  it('never loses or half-replaces a file, and the rerun finishes the refresh', async () => {
    expect(changed.length).toBeGreaterThanOrEqual(8);
    const first = await childPull({ portal, cwd, args: ['--concurrency', '4', '--quiet'] });
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });

    portal.setRevision(REVISION);
    let killed: Promise<boolean> = Promise.resolve(false);
    const refresh = await childPull({
      portal,
      cwd,
      args: ['--refresh-after', '0', '--keep-versions', '--concurrency', '2', '--quiet'],
      onSpawn: (child) => {
        killed = killAfterVersions(child, 3);
      },
    });
    expect(await killed).toBe(true);
    expect(refresh.signal).toBe('SIGKILL');
    const atKill = await everyFileWhole();
    const replaced = [...atKill.current].filter(([, e]) => e > 1).map(([s]) => s);
    // In the middle: some replaced, not all.
    expect(replaced.length).toBeGreaterThan(0);
    expect(replaced.length).toBeLessThan(changed.length);

    const rerun = await childPull({
      portal,
      cwd,
      args: ['--refresh-after', '0', '--keep-versions', '--concurrency', '4', '--quiet'],
    });
    expect({ code: rerun.code, stderr: rerun.stderr }).toEqual({ code: 0, stderr: '' });
    const { current } = await everyFileWhole();
    for (const [i, vehicle] of vehicles.entries()) {
      // Removed vehicles keep the file they had; every other one is current.
      const want = removed.includes(vehicle.stock) ? 1 : editionOf(i);
      expect(current.get(vehicle.stock), vehicle.stock).toBe(want);
    }
    // One kept version per changed sticker: none kept twice across the kill.
    expect((await versions()).map((n) => VERSION.exec(n)![1]).sort()).toEqual(changed);
    expect(await leftoverFiles(outDir(cwd))).toEqual([]);
    const report = JSON.parse(await readFile(path.join(outDir(cwd), '.pagepool', 'report.json'), 'utf8'));
    expect(report.gone).toEqual(removed);
  }, 300_000);
});
