// The public API as a user imports it: `pagepool` resolved through the package's own `exports` map.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as api from 'pagepool';
import { defineSite, type Page, PermanentError, run } from 'pagepool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

let portal: Portal;

beforeAll(async () => {
  portal = await startPortal({ vehicles: 12 });
});
afterAll(async () => {
  await portal?.close();
  await removeTempDirs();
});

/** A new portal's adapter, written the way the README tells a user to: public API only, one file. */
const stickers = defineSite<{ stock: string }>({
  name: 'stickers',
  key: (ref) => ref.stock,
  async login(page: Page, creds, baseUrl) {
    await page.goto(`${baseUrl}/login`);
    await page.fill('input[name=username]', creds.username);
    await page.fill('input[name=password]', creds.password);
    await Promise.all([page.waitForURL('**/licence'), page.click('button[type=submit]')]);
    await page.check('#accept');
    await Promise.all([page.waitForURL('**/inventory'), page.click('#accept-licence')]);
  },
  async *list({ page, signal, baseUrl }) {
    signal.throwIfAborted();
    await page.goto(`${baseUrl}/inventory?page=1`);
    const stocks = await page
      .locator('tr[data-stock]')
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.stock ?? ''));
    for (const stock of stocks.slice(0, 5)) yield { stock };
    yield { stock: 'S99999' };
  },
  async process({ ref, page, baseUrl, files, releasePage }) {
    const response = await page.goto(`${baseUrl}/vehicle/${ref.stock}`);
    if (response?.status() === 404) throw new PermanentError(`no vehicle ${ref.stock}`);
    const href = await page.locator('#download-sticker').evaluate((a) => (a as HTMLAnchorElement).href);
    releasePage();
    await files.fetch(href, { kind: 'pdf' });
  },
});

describe("import { run, defineSite } from 'pagepool'", () => {
  it('resolves to the library entry with the documented names', () => {
    for (const name of [
      'run',
      'defineSite',
      'PagepoolError',
      'PermanentError',
      'SessionExpiredError',
      'classify',
      'totp',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('runs a tiny adapter against the demo portal on real Chromium and writes its files', async () => {
    const out = await tempDir();
    const summary = await run({
      site: stickers,
      baseUrl: portal.url,
      credentials: { username: portal.options.username, password: portal.options.password },
      out,
      checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
      concurrency: 2,
    });
    expect(summary).toMatchObject({ reason: 'done', done: 5, failed: 1 });
    const files = (await readdir(path.join(out, 'stickers'))).sort();
    expect(files).toEqual(
      ['S00001', 'S00002', 'S00003', 'S00004', 'S00005'].map((s) => `${s}-window-sticker.pdf`),
    );
    const pdf = await readFile(path.join(out, 'stickers', files[0]!));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    // The unknown vehicle failed for good, and left its snapshot for the user to look at.
    const error = await readFile(path.join(out, '.pagepool', 'failures', 'S99999', 'error.txt'), 'utf8');
    expect(error).toContain('PermanentError [PERMANENT]: no vehicle S99999');
  });
});
