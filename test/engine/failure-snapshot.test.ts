// Failure snapshots on a real Chromium page: what is written, and that no password or cookie value is.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FailureSnapshots,
  REDACTED,
  redact,
  redactBytes,
  safeKey,
} from '../../src/browser/failure-snapshot.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const PASSWORD = 'pw-"<Secret&9>-canary';
const COOKIE = 'sessCanary0123456789abcdef';

let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  browser = await launchTestBrowser();
  context = await browser.newContext();
});
afterAll(async () => {
  await browser?.close();
  await removeTempDirs();
});

/**
 * A page in a context of its own whose renderer runs a script that never yields: evaluate and screenshot both
 * wait on it forever. `close()` gives the context up after 5 s at most.
 */
async function hungPage(): Promise<{ page: Page; close(): Promise<unknown> }> {
  const own = await browser.newContext();
  const page = await own.newPage();
  await page.setContent('<p>busy</p>');
  await page.evaluate(() => {
    setTimeout(() => {
      for (;;) {}
    }, 0);
  });
  return { page, close: () => Promise.race([own.close(), new Promise((r) => setTimeout(r, 5000))]) };
}

async function newPage(html: string): Promise<Page> {
  const page = await context.newPage();
  await page.setContent(html);
  return page;
}

/** A login form as a careless portal renders it: the password echoed back, the session id in a script. */
const LEAKY_FORM = `<!doctype html><html><body>
<form><input name="username" value="demo">
<input type="password" name="password" id="typed">
<input type="PASSWORD" name="confirm" value='${PASSWORD.replaceAll('&', '&amp;').replaceAll("'", '&#39;')}'>
</form>
<script>window.session = ${JSON.stringify(COOKIE)}; window.back = ${JSON.stringify(`/login?pw=${encodeURIComponent(PASSWORD)}`)};</script>
<p>Something went wrong.</p></body></html>`;

function everyForm(text: string): boolean {
  return [PASSWORD, encodeURIComponent(PASSWORD), JSON.stringify(PASSWORD).slice(1, -1), COOKIE].some((s) =>
    text.includes(s),
  );
}

describe('safeKey', () => {
  it('keeps a plain key, and gives keys that need changing distinct, bounded names', () => {
    expect(safeKey('S00017')).toBe('S00017');
    expect(safeKey('a/b')).not.toBe(safeKey('a_b'));
    expect(safeKey('a/b')).toMatch(/^a_b-[0-9a-f]{10}$/);
    for (const key of ['..', '.', '', '../../etc/passwd', 'x'.repeat(500), 'Caf\u00e9 \u65e5']) {
      const name = safeKey(key);
      expect(name).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/);
      expect(name.length).toBeLessThanOrEqual(80);
    }
  });
});

describe('redact', () => {
  it('replaces the raw, URL, form, JSON and HTML forms of each secret, and leaves short ones alone', () => {
    const text = [
      PASSWORD,
      encodeURIComponent(PASSWORD),
      new URLSearchParams({ p: PASSWORD }).toString(),
      JSON.stringify({ p: PASSWORD }),
      PASSWORD.replaceAll('&', '&amp;').replaceAll('"', '&quot;'),
      `cookie=${COOKIE}`,
      'abc',
    ].join('\n');
    const out = redact(text, [PASSWORD, COOKIE, 'abc']);
    expect(everyForm(out)).toBe(false);
    expect(out).not.toContain('Secret');
    expect(out.split(REDACTED)).toHaveLength(7);
    expect(out.endsWith('\nabc')).toBe(true);
  });

  it('redacts bytes in place around binary data', () => {
    const bytes = Buffer.concat([Buffer.from([0, 255, 128]), Buffer.from(COOKIE), Buffer.from([200, 1])]);
    const out = redactBytes(bytes, [COOKIE]);
    expect(out.subarray(0, 3)).toEqual(Buffer.from([0, 255, 128]));
    expect(out.subarray(3, 3 + REDACTED.length).toString()).toBe(REDACTED);
    expect(out.subarray(-2)).toEqual(Buffer.from([200, 1]));
    expect(redactBytes(Buffer.from('nothing here'), [COOKIE]).toString()).toBe('nothing here');
  });
});

describe('FailureSnapshots', () => {
  it('writes the HTML without the typed or echoed password or the cookie, and skips a screenshot that would show one', async () => {
    const dir = await tempDir();
    const snapshots = new FailureSnapshots({ dir, secrets: () => [PASSWORD, COOKIE] });
    const page = await newPage(`${LEAKY_FORM}<input id="shown" value="">`);
    await page.fill('#typed', PASSWORD);
    await page.fill('#shown', PASSWORD);
    const error = new Error(`login form rejected ${PASSWORD}`, {
      cause: new Error(`cookie ${COOKIE} stale`),
    });
    const saved = await snapshots.save({ key: 'S/1', attempt: 2, error, page });

    expect(saved.folder).toBe(path.join(dir, safeKey('S/1')));
    expect((await readdir(saved.folder)).sort()).toEqual(['error.txt', 'page.html']);
    const html = await readFile(path.join(saved.folder, 'page.html'), 'utf8');
    expect(everyForm(html)).toBe(false);
    expect(html).toContain(`window.session = "${REDACTED}"`);
    expect(html).toMatch(/<input type="PASSWORD" name="confirm">/);
    expect(html).toContain('Something went wrong.');
    const text = await readFile(path.join(saved.folder, 'error.txt'), 'utf8');
    expect(everyForm(text)).toBe(false);
    expect(text).toMatch(/^key: S\/1\nattempt: 2\n/);
    expect(text).toContain(`Error: login form rejected ${REDACTED}`);
    expect(text).toContain(`Caused by: Error: cookie ${REDACTED} stale`);
    expect(text).toMatch(/note: screenshot.png not saved: the page shows a password or cookie value/);
    await page.close();
  });

  it('saves a PNG screenshot when nothing secret is shown, replaces it on the next attempt, and clears it', async () => {
    const dir = await tempDir();
    const snapshots = new FailureSnapshots({ dir, secrets: async () => [PASSWORD, COOKIE] });
    const page = await newPage(LEAKY_FORM);
    await page.fill('#typed', PASSWORD);
    const first = await snapshots.save({ key: 'K1', attempt: 1, error: new Error('HTTP 500'), page });
    expect((await readdir(first.folder)).sort()).toEqual(['error.txt', 'page.html', 'screenshot.png']);
    const png = await readFile(path.join(first.folder, 'screenshot.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    await page.close();

    const second = await snapshots.save({ key: 'K1', attempt: 2, error: 'plain string', page: null });
    expect(await readdir(second.folder)).toEqual(['error.txt']);
    const text = await readFile(path.join(second.folder, 'error.txt'), 'utf8');
    expect(text).toMatch(/^key: K1\nattempt: 2\n/);
    expect(text).toContain('had given its page back');
    expect(text).toContain('plain string');

    await snapshots.clear('K1');
    expect(await readdir(dir)).toEqual([]);
    await snapshots.clear('never-failed');
  });

  it('gives up on a page that does not answer, within its bound, and still writes error.txt', async () => {
    const dir = await tempDir();
    const snapshots = new FailureSnapshots({ dir, secrets: () => [], timeoutMs: 300 });
    const hung = await hungPage();
    const page = hung.page;
    const saved = await snapshots.save({ key: 'hung', attempt: 1, error: new Error('timeout'), page });
    expect(saved.files).toEqual(['error.txt']);
    const text = await readFile(path.join(saved.folder, 'error.txt'), 'utf8');
    expect(text).toMatch(/note: page.html not saved: the page did not answer within 300 ms/);
    await hung.close();
  });

  it("stops reading a page that does not answer when the item's deadline comes, before its own bound", async () => {
    const dir = await tempDir();
    const snapshots = new FailureSnapshots({ dir, secrets: () => [], timeoutMs: 60_000 });
    const hung = await hungPage();
    const page = hung.page;
    const deadline = AbortSignal.timeout(300);
    const saved = await snapshots.save({
      key: 'late',
      attempt: 1,
      error: new Error('timeout'),
      page,
      signal: deadline,
    });
    // Within the deadline's reach, not the 60 s bound: the snapshot never outlasts the item.
    expect(deadline.aborted).toBe(true);
    expect(saved.files).toEqual(['error.txt']);
    const text = await readFile(path.join(saved.folder, 'error.txt'), 'utf8');
    expect(text).toMatch(/note: page.html not saved: the item's deadline came first/);
    await hung.close();
  }, 20_000);

  it('rejects bad options with one message naming each field', () => {
    expect(
      () => new FailureSnapshots({ dir: '', secrets: 'x' as unknown as () => string[], timeoutMs: 0 }),
    ).toThrow(
      /`dir`.*; Expected `secrets`.*; Expected `timeoutMs` to be an integer from 1 to 600000, got `0`/,
    );
  });
});
