// A hostile Content-Disposition from the portal, end to end: `pagepool run` with an adapter that lets the
// server name its files (`files.fetch(url)` with no name). Every file lands inside <out>/<site>/ under a safe
// name, whole, and nothing is written anywhere else.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { runCli } from './helpers/cli.js';
import { type PortalProxy, startPortalProxy } from './helpers/portal-proxy.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const closers: Array<Portal | PortalProxy> = [];
afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()));
  await removeTempDirs();
});

// What each vehicle's sticker is sent as, and the name it must be saved under.
const HOSTILE: Record<string, [header: string, saved: string]> = {
  S00001: ['attachment; filename="../../../../../tmp/escape-S00001.pdf"', 'escape-S00001.pdf'],
  S00002: ['attachment; filename="..\\\\..\\\\windows-S00002.pdf"', 'windows-S00002.pdf'],
  S00003: ['attachment; filename="CON.pdf"', '_CON.pdf'],
  S00004: ['attachment; filename=".hidden-S00004.pdf"', 'hidden-S00004.pdf'],
  S00005: ["attachment; filename*=UTF-8''..%2F..%2Fencoded-S00005.pdf", 'encoded-S00005.pdf'],
  S00006: ['attachment; filename="S00006.pdf.part"', 'S00006.pdf.part_'],
  // Cut to a length every file system takes, keeping the extension.
  S00007: [`attachment; filename="${'x'.repeat(400)}.pdf"`, `${'x'.repeat(116)}.pdf`],
  // No name at all: the URL's, which every sticker shares, is taken, so the key tells them apart.
  S00008: ['attachment; filename="/"', 'S00008.pdf'],
};

describe('a hostile Content-Disposition through files.fetch', () => {
  it('keeps every file inside the output folder, under a safe name, whole', async () => {
    const portal = await startPortal({ vehicles: 8 });
    closers.push(portal);
    const proxy = await startPortalProxy(portal.url, {
      headers: (req) => {
        const stock = /^\/vehicle\/(S\d{5})\/sticker\.pdf$/.exec(req.path)?.[1];
        return stock ? { 'content-disposition': HOSTILE[stock]![0] } : undefined;
      },
    });
    closers.push(proxy);
    const cwd = await tempDir();
    const adapter = path.join(cwd, 'server-named.mts');
    await writeFile(
      adapter,
      `import demo from ${JSON.stringify(path.join(ROOT, 'src/sites/demo-vehicles.ts'))};
import { defineSite } from ${JSON.stringify(path.join(ROOT, 'src/index.ts'))};
export default defineSite({
  ...demo,
  pageOnDemand: false, // this process reads its page in the browser
  async process({ ref, page, baseUrl, files, releasePage }) {
    // The demo's refs are relative to the base URL.
    await page.goto(new URL(ref.url, baseUrl + '/').href, { waitUntil: 'domcontentloaded' });
    const href = await page.locator('#download-sticker').evaluate((a) => a.href);
    releasePage();
    await files.fetch(href, { kind: 'pdf' }); // the server names the file
  },
});
`,
    );
    const { code, stderr } = await runCli(['run', '--site', adapter, '--base-url', proxy.url, '--quiet'], {
      cwd,
      env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' },
      timeoutMs: 180_000,
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    // The portal sent each sticker once, with its hostile header.
    const stickers = proxy.requests.filter((r) => r.path.endsWith('/sticker.pdf'));
    expect(stickers.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(Object.keys(portal.stats().filesServed).sort()).toEqual(Object.keys(HOSTILE));

    // Nothing outside <out>/<site>/ but pagepool's own bookkeeping; nothing escaped to /tmp.
    const everything = (await readdir(cwd, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(cwd, path.join(e.parentPath, e.name)));
    const outside = everything.filter(
      (f) =>
        !f.startsWith(`downloads${path.sep}demo${path.sep}`) &&
        !f.startsWith(`downloads${path.sep}.pagepool`),
    );
    expect(outside.sort()).toEqual(['downloads/manifest.jsonl', 'server-named.mts']);
    await expect(readFile('/tmp/escape-S00001.pdf')).rejects.toMatchObject({ code: 'ENOENT' });

    const report = JSON.parse(
      await readFile(path.join(cwd, 'downloads', '.pagepool', 'report.json'), 'utf8'),
    ) as {
      items: Array<{ key: string; files: string[] }>;
    };
    const vehicles = new Map(makeVehicles(8, 1).map((v) => [v.stock, v]));
    const names = new Set<string>();
    for (const { key, files } of report.items) {
      expect(files, key).toHaveLength(1);
      const file = files[0]!;
      const [site, name, ...rest] = file.split('/');
      expect({ key, site, rest }).toEqual({ key, site: 'demo', rest: [] });
      expect(name, key).toBe(HOSTILE[key]![1]);
      expect(Buffer.byteLength(name!), key).toBeLessThanOrEqual(255);
      expect(name, key).not.toMatch(/^\.|[\\/\x00-\x1f]|\.part$/);
      names.add(name!);
      const bytes = await readFile(path.join(cwd, 'downloads', file));
      expect(bytes.equals(stickerPdf(vehicles.get(key)!)), key).toBe(true);
    }
    expect(names.size).toBe(8);
  }, 240_000);
});
