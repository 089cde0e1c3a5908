// The browser paths with a real Chromium: a `download` event kept with fromDownload, and an
// element screenshot kept as PNG, both byte-checked on disk.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, chromium } from 'playwright';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FileStore } from '../../src/files/file-store.js';
import {
  listDir,
  makeStore,
  pdfBytes,
  removeTempDirs,
  sha256,
  startServer,
  type TestServer,
  tempDir,
} from './helpers.js';

let browser: Browser;
let server: TestServer;
let store: FileStore;
let dir: string;
const pdf = pdfBytes(300_000, 11);

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  server = await startServer((req, res) => {
    if (req.url === '/sticker.pdf') {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': pdf.length }).end(pdf);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><body style="margin:0">
      <a id="dl" href="/sticker.pdf" download="Window Sticker.pdf">sticker</a>
      <div id="card" style="width:120px;height:80px;background:#c33">card</div></body>`);
  });
  dir = await tempDir();
  store = makeStore(dir);
});

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await server?.close();
  await removeTempDirs();
});

it('keeps a browser download byte-exact under its suggested name', async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  try {
    const page = await context.newPage();
    await page.goto(`${server.origin}/`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl')]);
    const files = store.forJob({ key: 'vin-1', signal: new AbortController().signal });
    const saved = await files.fromDownload(download, { kind: 'pdf' });
    expect(saved).toEqual({ path: 'Window Sticker.pdf', bytes: pdf.length, sha256: sha256(pdf) });
    expect(sha256(await readFile(path.join(dir, 'Window Sticker.pdf')))).toBe(sha256(pdf));
  } finally {
    await context.close();
  }
});

it('screenshots an element to a PNG file', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.origin}/`);
    const files = store.forJob({ key: 'card-1', signal: new AbortController().signal });
    const saved = await files.screenshot(page.locator('#card'), { name: 'card-1' });
    expect(saved.path).toBe('card-1.png');
    const bytes = await readFile(path.join(dir, 'card-1.png'));
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(saved.sha256).toBe(sha256(bytes));
    expect((await listDir(dir)).filter((n) => n.endsWith('.part'))).toEqual([]);
  } finally {
    await context.close();
  }
});
