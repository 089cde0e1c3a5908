// The engine end to end: real Chromium against the real demo portal over HTTP on 127.0.0.1.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardPng } from '../src/demo/card-png.js';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, type PortalOptions, startPortal } from '../src/demo/portal.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { ConfigError, LoginError } from '../src/errors.js';
import { type RunOptions, run } from '../src/run.js';
import type { RunEvents } from '../src/run-events.js';
import demoCards from '../src/sites/demo-cards.js';
import demoVehicles, { type VehicleRef } from '../src/sites/demo-vehicles.js';
import type { Site } from '../src/sites/site.js';
import { launchTestBrowser } from './helpers/chromium.js';
import { runCli } from './helpers/cli.js';
import { childrenOf } from './helpers/process-tree.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

let browser: Browser;
const portals: Portal[] = [];

beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await browser?.close();
  await removeTempDirs();
});

async function portal(options: Partial<PortalOptions>): Promise<Portal> {
  const p = await startPortal(options);
  portals.push(p);
  return p;
}

async function pull<Ref>(p: Portal, site: Site<Ref>, out: string, options: Partial<RunOptions<Ref>> = {}) {
  const events = options.events ?? new EventEmitter<RunEvents>();
  const summary = await run({
    site,
    baseUrl: p.url,
    credentials: { username: p.options.username, password: p.options.password },
    out,
    checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
    browser,
    events,
    ...options,
  });
  return summary;
}

function sum(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

describe('vehicles', () => {
  it('pulls 30 vehicles at concurrency 4: 30 byte-exact PDFs, each served once, one login', async () => {
    const p = await portal({ vehicles: 30 });
    const out = await tempDir();
    const summary = await pull(p, demoVehicles, out, { concurrency: 4 });
    expect(summary).toMatchObject({ done: 30, failed: 0, reason: 'done' });
    for (const vehicle of makeVehicles(30, p.options.seed)) {
      const bytes = await readFile(path.join(out, 'demo', `${vehicle.stock}-window-sticker.pdf`));
      expect(bytes.equals(stickerPdf(vehicle))).toBe(true);
    }
    const stats = p.stats();
    expect(Object.keys(stats.filesServed)).toHaveLength(30);
    expect(Object.values(stats.filesServed).every((n) => n === 1)).toBe(true);
    expect(stats.logins).toBe(1);
  });

  it('resumes: a run of 10, then a run of 30, fetches only the 20 missing and leaves the first 10 untouched', async () => {
    const p = await portal({ vehicles: 30 });
    const out = await tempDir();
    const first = await pull(p, demoVehicles, out, { concurrency: 4, max: 10 });
    expect(first.done).toBe(10);
    const firstTen = makeVehicles(10, p.options.seed).map((v) =>
      path.join(out, 'demo', `${v.stock}-window-sticker.pdf`),
    );
    const before = await Promise.all(firstTen.map((f) => stat(f)));
    const servedBefore = sum(p.stats().filesServed);
    expect(servedBefore).toBe(10);

    const second = await pull(p, demoVehicles, out, { concurrency: 4, max: 30 });
    expect(second.done).toBe(20);
    expect(sum(p.stats().filesServed) - servedBefore).toBe(20);
    const after = await Promise.all(firstTen.map((f) => stat(f)));
    after.forEach((s, i) => {
      expect(s.ino).toBe(before[i]!.ino);
      expect(s.mtimeMs).toBe(before[i]!.mtimeMs);
    });
  });

  it('at concurrency 1 one page takes the items strictly one at a time, in source order', async () => {
    const p = await portal({ vehicles: 8 });
    const out = await tempDir();
    const events = new EventEmitter<RunEvents>();
    const log: string[] = [];
    events.on('task:stage', ({ key, stage }) => {
      if (stage === 'start') log.push(`page ${key}`);
    });
    events.on('page:released', ({ key }) => log.push(`released ${key}`));
    const summary = await pull(p, demoVehicles, out, { concurrency: 1, events });
    expect(summary).toMatchObject({ done: 8, failed: 0 });
    // The downloads overlap (the download stage), the page never does.
    const expected = makeVehicles(8, p.options.seed).flatMap((v) => [
      `page ${v.stock}`,
      `released ${v.stock}`,
    ]);
    expect(log).toEqual(expected);
  });

  it('reaches vehicles by searching when the ref has no detail URL, and keeps browser downloads', async () => {
    const p = await portal({ vehicles: 12 });
    const out = await tempDir();
    const vehicles = makeVehicles(12, p.options.seed);
    const refs: VehicleRef[] = vehicles.map((v, i) =>
      i % 2 ? { stock: v.stock } : { stock: v.stock, via: 'download' },
    );
    const refsFile = path.join(out, 'refs.jsonl');
    await writeFile(refsFile, refs.map((r) => JSON.stringify(r)).join('\n'));
    const summary = await pull(p, demoVehicles, out, { concurrency: 3, refs: refsFile });
    expect(summary).toMatchObject({ done: 12, failed: 0 });
    for (const v of vehicles) {
      const bytes = await readFile(path.join(out, 'demo', `${v.stock}-window-sticker.pdf`));
      expect(bytes.equals(stickerPdf(v))).toBe(true);
    }
  });
});

describe('a refused login', () => {
  it('rejects with LoginError before anything is made in `out`: no checkpoint, journal or manifest', async () => {
    const p = await portal({ vehicles: 3 });
    const out = path.join(await tempDir(), 'out');
    const error = await pull(p, demoVehicles, out, {
      credentials: { username: p.options.username, password: 'not-the-password' },
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(LoginError);
    expect((error as LoginError).code).toBe('LOGIN_FAILED');
    // Not even the folder: the checkpoint, its journal and the manifest would all live in it.
    expect(existsSync(out)).toBe(false);
    expect(Object.keys(p.stats().filesServed)).toHaveLength(0);
  });
});

describe('stopping', () => {
  it('a stop while the listing waits for its next page ends the run as interrupted, not fatal', async () => {
    // One vehicle per inventory page: every item the queue pulls is a page load the listing is waiting on. The
    // file latency keeps the item in flight until well after that page load has ended.
    const p = await portal({ vehicles: 6, pageSize: 1, pageLatencyMs: 300, fileLatencyMs: 1500 });
    const out = await tempDir();
    const controller = new AbortController();
    const events = new EventEmitter<RunEvents>();
    // By the first stage the queue has asked the listing for the next item, so the stop lands mid page load.
    events.on('task:stage', ({ stage }) => {
      if (stage === 'detail') controller.abort();
    });
    const summary = await pull(p, demoVehicles, out, {
      concurrency: 1,
      signal: controller.signal,
      events,
    });
    expect(summary.reason).toBe('interrupted');
    expect(summary.error).toBeUndefined();
    // The item in flight at the stop was let finish.
    expect(summary.done).toBe(1);
  });
});

describe('cards', () => {
  it('renders 10 cards to PNGs of the card element size and fetches 10 identical to the portal PNG', async () => {
    const p = await portal({ cards: 10 });
    const out = await tempDir();
    const rendered = await pull(p, demoCards, out, { concurrency: 3 });
    expect(rendered).toMatchObject({ done: 10, failed: 0 });
    const refsFile = path.join(out, 'refs.csv');
    const ids = Array.from({ length: 10 }, (_, i) => `C${String(i + 1).padStart(4, '0')}`);
    await writeFile(refsFile, ['id,via', ...ids.map((id) => `${id},fetch`)].join('\n'));
    const fetched = await pull(p, demoCards, out, { concurrency: 3, refs: refsFile });
    expect(fetched).toMatchObject({ done: 10, failed: 0 });
    for (const id of ids) {
      const png = await readFile(path.join(out, 'demo-cards', `${id}.png`));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([240, 336]);
      const direct = await readFile(path.join(out, 'demo-cards', `${id}-fetched.png`));
      expect(direct.equals(cardPng(id))).toBe(true);
    }
  });
});

describe('options a run cannot use', () => {
  /** Browsers this test process launched (the file's shared one included): Playwright's direct children. */
  const chromiums = () => childrenOf(process.pid, /chrom|headless/i).sort();

  // Issue 22.4: `recycleAfter: 0` was checked by the pool after the browser had started, with an uncoded
  // RangeError, and the browser was left running.
  it('are all named in one ConfigError before a browser starts or anything is written', async () => {
    const p = await portal({ vehicles: 3 });
    const out = path.join(await tempDir(), 'out');
    const before = chromiums();
    const error = await run({
      site: demoVehicles,
      baseUrl: p.url,
      credentials: { username: p.options.username, password: p.options.password },
      out,
      checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
      recycleAfter: 0,
      concurrency: 65,
      retries: -1,
      contextRecycleAfter: -5,
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG');
    expect((error as Error).message.split('; ').sort()).toEqual([
      'Expected `concurrency` to be an integer from 1 to 64, got `65`',
      'Expected `contextRecycleAfter` to be an integer from 0, got `-5`',
      'Expected `recycleAfter` to be an integer from 1, got `0`',
      'Expected `retries` to be an integer from 0 to 20, got `-1`',
    ]);
    expect(chromiums()).toEqual(before);
    expect(existsSync(out)).toBe(false);
    expect(p.stats().logins).toBe(0);
  });

  it('a failure after the browser started closes it: `<out>/demo` is a file', async () => {
    const p = await portal({ vehicles: 3 });
    const out = await tempDir();
    await writeFile(path.join(out, 'demo'), 'not a folder');
    const before = chromiums();
    const error = await run({
      site: demoVehicles,
      baseUrl: p.url,
      credentials: { username: p.options.username, password: p.options.password },
      out,
      checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
    }).catch((err: unknown) => err);
    expect((error as NodeJS.ErrnoException).code).toBe('EEXIST');
    // It got as far as the login: the browser was up when the store failed.
    expect(p.stats().logins).toBe(1);
    expect(chromiums()).toEqual(before);
  });
});

describe('pages and downloads', () => {
  // Issue 22.2: the queue runs pages + downloads (22 + 2 x 22 = 66) and refused anything over 64 after the login,
  // with exit 2 and files left behind, while the settings table promises 1 to 64 pages.
  it('`pagepool run --concurrency 22` pulls: exit 0, every PDF on disk', async () => {
    const p = await portal({ vehicles: 4 });
    const cwd = await tempDir();
    const result = await runCli(
      ['run', '--site', 'demo', '--base-url', p.url, '--concurrency', '22', '--max', '4', '--quiet'],
      { cwd, env: { PAGEPOOL_USERNAME: p.options.username, PAGEPOOL_PASSWORD: p.options.password } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const want = makeVehicles(4, p.options.seed).map((v) => `${v.stock}-window-sticker.pdf`);
    expect((await readdir(path.join(cwd, 'downloads', 'demo'))).sort()).toEqual(want.sort());
  });
});
