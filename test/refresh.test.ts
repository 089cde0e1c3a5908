// A weekly pull end to end: `pagepool run` with real Chromium against the demo portal on 127.0.0.1. Pull 100; a
// refresh of the unchanged portal gets 100 answers 304 and not one file body; after revision 2 (every 10th sticker
// changed, every 50th vehicle removed) exactly the changed stickers are replaced, byte-exact, the old ones kept
// with --keep-versions, and the removed vehicles are reported as gone (summary, report.json, status), never
// deleted. A bad --refresh-after is one line and exit 2.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { itemAt } from '../src/demo/revision.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { checkpointPath, childPull, leftoverFiles, outDir } from './helpers/child-pull.js';
import { runCli } from './helpers/cli.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const N = 100;
const SEED = 7;
const vehicles = makeVehicles(N, SEED);
const sticker = (stock: string) => `${stock}-window-sticker.pdf`;
/** Revision 2's rule (src/demo/revision.ts): S00010, S00020, ... change; S00050 and S00100 are removed. */
const changed = vehicles.filter((_, i) => itemAt(i + 1, 2).edition === 2).map((v) => v.stock);
const removed = vehicles.filter((_, i) => itemAt(i + 1, 2).gone).map((v) => v.stock);
const VERSION = /^(S\d{5})-window-sticker\.\d{4}-\d\d-\d\dT\d{6}Z\.pdf$/;

let portal: Portal;
let cwd: string;
beforeAll(async () => {
  portal = await startPortal({ vehicles: N, seed: SEED });
  cwd = await tempDir();
});
afterAll(async () => {
  await portal?.close();
  await removeTempDirs();
});

const dir = () => path.join(outDir(cwd), 'demo');
const pull = (args: string[] = []) => childPull({ portal, cwd, args: ['--concurrency', '4', ...args] });

async function inodes(): Promise<Map<string, { ino: number; mtimeMs: number }>> {
  const out = new Map<string, { ino: number; mtimeMs: number }>();
  for (const name of await readdir(dir())) {
    const s = await stat(path.join(dir(), name));
    out.set(name, { ino: s.ino, mtimeMs: s.mtimeMs });
  }
  return out;
}

async function manifestLines(): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path.join(outDir(cwd), 'manifest.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function report() {
  return JSON.parse(await readFile(path.join(outDir(cwd), '.pagepool', 'report.json'), 'utf8')) as {
    totals: Record<string, number>;
    gone: string[] | null;
    items: Array<{ key: string; change?: string }>;
  };
}

describe('a weekly pull of the demo portal', () => {
  it('revision 2 has the changes and removals this test expects', () => {
    expect(changed).toEqual(['S00010', 'S00020', 'S00030', 'S00040', 'S00060', 'S00070', 'S00080', 'S00090']);
    expect(removed).toEqual(['S00050', 'S00100']);
  });

  it('the first pull saves 100 stickers, each with its URL and validators in the manifest', async () => {
    const result = await pull(['--quiet']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = await manifestLines();
    expect(lines).toHaveLength(N);
    // Lines come in the order items finish.
    expect(lines.find((l) => l.key === 'S00001')).toMatchObject({
      key: 'S00001',
      path: `demo/${sticker('S00001')}`,
      http: {
        url: `${portal.url}/vehicle/S00001/sticker.pdf`,
        etag: expect.stringMatching(/^"[^"]+"$/),
        lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT',
      },
    });
  }, 180_000);

  it('--refresh-after 0 on an unchanged portal: 100 unchanged, every file a 304, no file body served, nothing rewritten', async () => {
    const before = portal.stats();
    const files = await inodes();
    const manifest = await manifestLines();
    const result = await pull(['--refresh-after', '0']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const after = portal.stats();
    expect(after.notModified - before.notModified).toBe(N);
    expect(after.fileBodyBytes).toBe(before.fileBodyBytes);
    expect(result.stdout).toContain('100 of 100 items done: 0 saved, 0 updated, 100 unchanged (0 B written)');
    expect(await inodes()).toEqual(files);
    // No new version: no manifest line.
    expect(await manifestLines()).toEqual(manifest);
    const r = await report();
    expect(r.totals).toMatchObject({ done: N, saved: 0, updated: 0, unchanged: N });
    expect(r.gone).toEqual([]);
  }, 180_000);

  it('without --refresh-after a second run pulls nothing: the portal is not asked for a file', async () => {
    const before = portal.stats();
    const result = await pull();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Nothing to do');
    expect(portal.stats().notModified).toBe(before.notModified);
    expect(portal.stats().filesServed).toEqual(before.filesServed);
  }, 180_000);

  it('revision 2, --refresh-after 0 --keep-versions: the changed stickers updated byte-exact, the old ones kept, the removed ones gone', async () => {
    portal.setRevision(2);
    const before = portal.stats();
    const files = await inodes();
    const result = await pull(['--refresh-after', '0', '--keep-versions']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const listed = N - removed.length;
    const same = listed - changed.length;
    expect(result.stdout).toContain(
      `${listed} of ${listed} items done: 0 saved, ${changed.length} updated, ${same} unchanged`,
    );
    expect(result.stdout).toContain('2 items not in the last listing (kept on disk): S00050, S00100.');
    const after = portal.stats();
    expect(after.notModified - before.notModified).toBe(same);
    for (const stock of changed) expect(after.filesServed[stock]! - (before.filesServed[stock] ?? 0)).toBe(1);

    const names = await readdir(dir());
    const versions = names.filter((n) => VERSION.test(n));
    expect(versions.map((n) => VERSION.exec(n)![1]).sort()).toEqual(changed);
    for (const vehicle of vehicles) {
      const current = await readFile(path.join(dir(), sticker(vehicle.stock)));
      const edition = changed.includes(vehicle.stock) ? 2 : 1;
      expect(current.equals(stickerPdf(vehicle, 0, edition)), vehicle.stock).toBe(true);
      const version = versions.find((n) => n.startsWith(`${vehicle.stock}-`));
      if (version) {
        expect((await readFile(path.join(dir(), version))).equals(stickerPdf(vehicle))).toBe(true);
        // The version is the old file itself (a second name), the current one a new file.
        expect((await stat(path.join(dir(), version))).ino).toBe(files.get(sticker(vehicle.stock))!.ino);
      } else if (!removed.includes(vehicle.stock)) {
        expect((await stat(path.join(dir(), sticker(vehicle.stock)))).ino).toBe(
          files.get(sticker(vehicle.stock))!.ino,
        );
      }
    }
    // A listing sorts each item's versions oldest first, the current one last.
    const s10 = names.filter((n) => n.startsWith('S00010-')).sort();
    expect(s10[s10.length - 1]).toBe(sticker('S00010'));
    expect(await leftoverFiles(outDir(cwd))).toEqual([]);

    // The manifest: two lines per changed sticker (the kept version, then the new one), none for the others.
    const lines = (await manifestLines()).slice(N);
    expect(lines.map((l) => l.key).sort()).toEqual(changed.flatMap((k) => [k, k]));
    for (const stock of changed) {
      const vehicle = vehicles.find((v) => v.stock === stock)!;
      const [kept, current] = lines.filter((l) => l.key === stock);
      expect(String(kept!.path).replace(/^demo\//, '')).toMatch(VERSION);
      expect(current).toMatchObject({
        path: `demo/${sticker(stock)}`,
        bytes: stickerPdf(vehicle, 0, 2).length,
      });
    }

    const r = await report();
    expect(r.totals).toMatchObject({ done: listed, saved: 0, updated: changed.length, unchanged: same });
    expect(r.gone).toEqual(removed);
    expect(
      r.items
        .filter((i) => i.change === 'updated')
        .map((i) => i.key)
        .sort(),
    ).toEqual(changed);
    // Gone, never deleted.
    for (const stock of removed) expect(names).toContain(sticker(stock));

    const status = await runCli(['status', '--json'], { cwd });
    expect(JSON.parse(status.stdout).notInLastListing).toMatchObject({ count: 2, keys: removed });
    const text = await runCli(['status'], { cwd });
    expect(text.stdout).toMatch(
      /not in the last listing +2 items, kept on disk \(listing of [^)]+\): S00050, S00100/,
    );
  }, 180_000);

  it('a plain run after it has nothing to do and still names what left', async () => {
    const result = await pull();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'Nothing to do: the listing showed 98 items on 4 pages, none new; all 100 items in the checkpoint are done already. ' +
        '2 items not in the last listing (kept on disk): S00050, S00100.',
    );
  }, 180_000);

  it('a bad --refresh-after is one line and exit 2, before anything runs', async () => {
    const before = portal.stats();
    const result = await pull(['--refresh-after', '1w']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'pagepool: Expected `--refresh-after` to be a duration like `7d`, `12h`, `30m` or `0` (digits and one unit: s, m, h, d), got `1w`. See `pagepool run --help`.',
    ]);
    expect(portal.stats().requests).toBe(before.requests);
    expect(await stat(checkpointPath(cwd))).toBeTruthy();
  }, 60_000);
});

describe('a refresh of rendered files (demo-cards: a screenshot of each card page)', () => {
  it('compares each screenshot by sha256: the same render is unchanged, the changed card (revision 2) updated', async () => {
    const cards = await startPortal({ vehicles: 1, cards: 12 });
    const folder = await tempDir();
    try {
      const args = ['--site', 'demo-cards', '--concurrency', '4'];
      const run = (extra: string[]) => childPull({ portal: cards, cwd: folder, args: [...args, ...extra] });
      const first = await run(['--quiet']);
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
      const files = path.join(outDir(folder), 'demo-cards');
      const before = new Map<string, number>();
      for (const name of await readdir(files)) before.set(name, (await stat(path.join(files, name))).ino);
      const same = await run(['--refresh-after', '0']);
      expect(same.stdout).toContain('12 of 12 items done: 0 saved, 0 updated, 12 unchanged (0 B written)');
      for (const [name, ino] of before) expect((await stat(path.join(files, name))).ino, name).toBe(ino);
      cards.setRevision(2);
      const changed = await run(['--refresh-after', '0']);
      expect(changed.stdout).toContain('12 of 12 items done: 0 saved, 1 updated, 11 unchanged');
      const r = JSON.parse(await readFile(path.join(outDir(folder), '.pagepool', 'report.json'), 'utf8'));
      expect(
        r.items.filter((i: { change?: string }) => i.change === 'updated').map((i: { key: string }) => i.key),
      ).toEqual(['C0010']);
    } finally {
      await cards.close();
    }
  }, 180_000);
});
