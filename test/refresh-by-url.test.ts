// `refresh: 'files'` (stable file URLs): a refresh asks each recorded URL again with the session's cookies and
// opens no page, so the demo portal serves no detail page; a URL that moved (404) or is refused (403) sends the
// item through its page after all, which finds the new URL (Debian's nginx, plain files, no login).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { pdfBytes } from './files/helpers.js';
import { childPull, outDir } from './helpers/child-pull.js';
import { runCli } from './helpers/cli.js';
import { type NginxServer, startNginx } from './helpers/nginx-server.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const BY_URL = path.resolve(import.meta.dirname, 'sites/fixtures/demo-by-url.ts');
const STATIC_PAGES = path.resolve(import.meta.dirname, 'sites/fixtures/static-pages.ts');

afterAll(async () => {
  await removeTempDirs();
});

async function report(out: string) {
  return JSON.parse(await readFile(path.join(out, '.pagepool', 'report.json'), 'utf8')) as {
    totals: Record<string, number>;
    items: Array<{ key: string; outcome: string; reason?: string; change?: string }>;
  };
}

describe('the demo portal, refresh by URL', () => {
  const N = 60;
  const vehicles = makeVehicles(N, 4);
  let portal: Portal;
  let cwd: string;
  beforeAll(async () => {
    portal = await startPortal({ vehicles: N, seed: 4 });
    cwd = await tempDir();
  });
  afterAll(async () => {
    await portal?.close();
  });
  const pull = (args: string[]) =>
    childPull({ portal, cwd, args: ['--site', BY_URL, '--concurrency', '4', ...args] });

  it('asks the recorded sticker URLs without opening a vehicle page: 304s, no page served', async () => {
    const first = await pull(['--quiet']);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const before = portal.stats();
    const refresh = await pull(['--quiet', '--refresh-after', '0']);
    expect({ code: refresh.code, stderr: refresh.stderr }).toEqual({ code: 0, stderr: '' });
    const after = portal.stats();
    expect(after.pagesServed).toEqual(before.pagesServed);
    expect(after.notModified - before.notModified).toBe(N);
    expect(after.fileBodyBytes).toBe(before.fileBodyBytes);
    expect((await report(outDir(cwd))).totals).toMatchObject({ done: N, unchanged: N });
  }, 180_000);

  it('revision 2: the changed stickers come new by their URLs, still without a page; a removed one 404s and goes through its page', async () => {
    portal.setRevision(2);
    const before = portal.stats();
    const refresh = await pull(['--quiet', '--refresh-after', '0']);
    expect({ code: refresh.code, stderr: refresh.stderr }).toEqual({ code: 0, stderr: '' });
    expect(portal.stats().pagesServed).toEqual(before.pagesServed);
    const changed = ['S00010', 'S00020', 'S00030', 'S00040', 'S00060'];
    const r = await report(outDir(cwd));
    expect(
      r.items
        .filter((i) => i.change === 'updated')
        .map((i) => i.key)
        .sort(),
    ).toEqual(changed);
    for (const stock of changed) {
      const vehicle = vehicles.find((v) => v.stock === stock)!;
      const bytes = await readFile(path.join(outDir(cwd), 'demo', `${stock}-window-sticker.pdf`));
      expect(bytes.equals(stickerPdf(vehicle, 0, 2)), stock).toBe(true);
    }

    // S00050 left the portal: asked by --refs, its sticker URL answers 404, and its page is asked next.
    const refs = path.join(cwd, 'refs.jsonl');
    await writeFile(refs, `${JSON.stringify({ stock: 'S00050', url: 'vehicle/S00050' })}\n`);
    const requests = portal.stats().requests;
    const gone = await pull(['--quiet', '--refresh-after', '0', '--refs', refs]);
    expect(gone.code).toBe(1);
    const item = (await report(outDir(cwd))).items.find((i) => i.key === 'S00050')!;
    // The reason is the page's (named `vehicle S00050` by the adapter's checkResponse), not the file URL's.
    expect(item).toMatchObject({ outcome: 'failed', reason: 'vehicle S00050 does not exist (404)' });
    // Login page, sticker URL, detail page: the page was asked after the file.
    expect(portal.stats().requests - requests).toBeGreaterThanOrEqual(2);
    // Still done in the checkpoint, its file kept.
    const status = JSON.parse((await runCli(['status', '--json'], { cwd })).stdout);
    expect(status.done).toBe(N);
    const kept = await readFile(path.join(outDir(cwd), 'demo', 'S00050-window-sticker.pdf'));
    expect(kept.equals(stickerPdf(vehicles[49]!))).toBe(true);
  }, 180_000);
});

describe('nginx, refresh by URL', () => {
  let root: string;
  let nginx: NginxServer;
  let cwd: string;
  const items = ['item-01', 'item-02', 'item-03', 'item-04'];
  const page = (href: string) => `<!doctype html><a id="file" href="${href}">file</a>\n`;
  beforeAll(async () => {
    root = await tempDir('pagepool-nginx-pages-');
    await mkdir(path.join(root, 'items'));
    await mkdir(path.join(root, 'files', 'a'), { recursive: true });
    for (const [i, name] of items.entries()) {
      await writeFile(path.join(root, 'files', 'a', `${name}.pdf`), pdfBytes(20_000 + i, i + 1));
      await writeFile(path.join(root, 'items', `${name}.html`), page(`/files/a/${name}.pdf`));
    }
    nginx = await startNginx(
      `location / { root ${root}; autoindex on; if (-f $request_filename.deny) { return 403; } }`,
    );
    cwd = await tempDir();
  }, 30_000);
  afterAll(async () => {
    await nginx?.stop();
  });
  const pull = (args: string[] = []) =>
    runCli(
      ['run', '--site', STATIC_PAGES, '--base-url', nginx.origin, '--concurrency', '2', '--quiet', ...args],
      {
        cwd,
        timeoutMs: 120_000,
      },
    );
  /** What nginx served since `from`, as `STATUS URI`, pages and files alike (not the listing). */
  const servedSince = async (from: number) =>
    (await nginx.served())
      .slice(from)
      .filter((r) => r.uri !== '/items/')
      .map((r) => `${r.status} ${r.uri}`)
      .sort();

  it('asks only the recorded URLs (304s); a moved file (404) and a refused one (403) go through their pages', async () => {
    const first = await pull();
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });

    let from = (await nginx.served()).length;
    const quiet = await pull(['--refresh-after', '0']);
    expect({ code: quiet.code, stderr: quiet.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await servedSince(from)).toEqual(items.map((n) => `304 /files/a/${n}.pdf`));

    // item-02 moved (same bytes, new URL); item-03's old URL is refused and its new file has other bytes.
    await mkdir(path.join(root, 'files', 'b'));
    await rename(path.join(root, 'files', 'a', 'item-02.pdf'), path.join(root, 'files', 'b', 'item-02.pdf'));
    await writeFile(path.join(root, 'items', 'item-02.html'), page('/files/b/item-02.pdf'));
    await writeFile(path.join(root, 'files', 'a', 'item-03.pdf.deny'), '');
    await mkdir(path.join(root, 'files', 'c'));
    const renewed = pdfBytes(30_000, 33);
    await writeFile(path.join(root, 'files', 'c', 'item-03.pdf'), renewed);
    await writeFile(path.join(root, 'items', 'item-03.html'), page('/files/c/item-03.pdf'));

    from = (await nginx.served()).length;
    const moved = await pull(['--refresh-after', '0']);
    expect({ code: moved.code, stderr: moved.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await servedSince(from)).toEqual(
      [
        '304 /files/a/item-01.pdf',
        '404 /files/a/item-02.pdf',
        '200 /items/item-02.html',
        '200 /files/b/item-02.pdf',
        '403 /files/a/item-03.pdf',
        '200 /items/item-03.html',
        '200 /files/c/item-03.pdf',
        '304 /files/a/item-04.pdf',
      ].sort(),
    );
    const out = path.join(cwd, 'downloads', 'static-pages');
    expect((await readFile(path.join(out, 'item-03.pdf'))).equals(renewed)).toBe(true);
    expect((await report(path.join(cwd, 'downloads'))).totals).toMatchObject({ unchanged: 3, updated: 1 });

    // The new URLs are recorded: the next refresh asks them, again without a page.
    from = (await nginx.served()).length;
    const again = await pull(['--refresh-after', '0']);
    expect(again.code).toBe(0);
    expect(await servedSince(from)).toEqual(
      [
        '304 /files/a/item-01.pdf',
        '304 /files/b/item-02.pdf',
        '304 /files/c/item-03.pdf',
        '304 /files/a/item-04.pdf',
      ].sort(),
    );
  }, 180_000);
});
