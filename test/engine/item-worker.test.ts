// The item worker's failure snapshots and --trace, on real Chromium against the demo portal's injected faults.
import { EventEmitter } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesContainSecret, REDACTED } from '../../src/browser/failure-snapshot.js';
import { scrubTrace } from '../../src/browser/trace-recorder.js';
import { faultDraw } from '../../src/demo/fault-plan.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { type AttemptContext, type ItemWorker, openItemWorker } from '../../src/engine/item-worker.js';
import { PermanentError } from '../../src/errors.js';
import type { RunEvents } from '../../src/run-events.js';
import { demoLogin } from '../../src/sites/demo-portal-login.js';
import demoVehicles, { type VehicleRef } from '../../src/sites/demo-vehicles.js';
import { defineSite, type Site } from '../../src/sites/site.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { readZipEntries } from '../helpers/zip-entries.js';

const SEED = 1;
const RATE = 0.5;
const PASSWORD = `pw-${process.pid}-canary-Zq9`;
const PREFIX = `sidcanary${process.pid}x`;

let browser: Browser;
let portal: Portal;

beforeAll(async () => {
  browser = await launchTestBrowser();
  portal = await startPortal({
    vehicles: 40,
    failureRate: RATE,
    seed: SEED,
    password: PASSWORD,
    sessionIdPrefix: PREFIX,
  });
});
afterAll(async () => {
  await portal?.close();
  await browser?.close();
  await removeTempDirs();
});

/** The first stock whose faults, drawn the way the portal draws them, follow `pattern` per request. */
function stockWhere(pattern: (fails: (kind: 'detail' | 'sticker', n: number) => boolean) => boolean): string {
  for (let i = 1; i <= 40; i++) {
    const stock = `S${String(i).padStart(5, '0')}`;
    if (pattern((kind, n) => faultDraw(SEED, kind, stock, n) < RATE)) return stock;
  }
  throw new Error('no stock fits; change SEED');
}

function ctx(key: string, attempt: number): AttemptContext {
  return { key, attempt, signal: new AbortController().signal, abandoned: new AbortController().signal };
}

async function open(
  out: string,
  trace: boolean,
  site: Site<VehicleRef> = demoVehicles,
): Promise<ItemWorker<VehicleRef>> {
  return openItemWorker({
    site,
    baseUrl: portal.url,
    credentials: { username: 'demo', password: PASSWORD },
    out,
    concurrency: 1,
    events: new EventEmitter<RunEvents>(),
    browser,
    trace,
  });
}

const ref = (stock: string): VehicleRef => ({ stock, url: `${portal.url}/vehicle/${stock}` });

describe('failure snapshots from the item worker', () => {
  it('a failed attempt leaves screenshot, HTML, error and a scrubbed trace; the later success removes them', async () => {
    const stock = stockWhere((fails) => fails('detail', 0) && !fails('detail', 1) && !fails('sticker', 0));
    const out = await tempDir();
    const worker = await open(out, true);
    const folder = path.join(out, '.pagepool', 'failures', stock);
    try {
      await expect(worker.work(ref(stock), ctx(stock, 1))).rejects.toThrow(/HTTP 500/);
      expect((await readdir(folder)).sort()).toEqual([
        'error.txt',
        'page.html',
        'screenshot.png',
        'trace.zip',
      ]);
      expect(await readFile(path.join(folder, 'page.html'), 'utf8')).toContain('Server error');
      expect(await readFile(path.join(folder, 'error.txt'), 'utf8')).toMatch(
        new RegExp(`^key: ${stock}\\nattempt: 1\\n[^]*url: ${portal.url}/vehicle/${stock}\\n[^]*HTTP 500`),
      );

      const entries = await readZipEntries(path.join(folder, 'trace.zip'));
      const names = entries.map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining(['trace.trace', 'trace.network']));
      const network = entries.find((e) => e.name === 'trace.network')!.data.toString();
      // The detail request went out with the session cookie: it is in the trace, replaced.
      expect(network).toContain(`/vehicle/${stock}`);
      expect(network).toContain(`pp_session=${REDACTED}`);
      for (const entry of entries) expect(entry.data.includes(PREFIX), entry.name).toBe(false);
      for (const entry of entries) expect(entry.data.includes(PASSWORD), entry.name).toBe(false);

      const files = await worker.work(ref(stock), ctx(stock, 2));
      expect(files.map((f) => f.path)).toEqual([`demo/${stock}-window-sticker.pdf`]);
      await expect(readdir(folder)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await worker.close();
    }
  });

  it('a failure after the page was given back writes error.txt only; a 404 is snapshotted as permanent', async () => {
    const out = await tempDir();
    // A download that fails after releasePage(): the page belongs to another item by then.
    const site = defineSite<VehicleRef>({
      ...demoVehicles,
      async process(job) {
        if (!job.ref.stock.startsWith('LATE')) return demoVehicles.process(job);
        await job.page.goto(`${job.baseUrl}/inventory`);
        job.releasePage();
        throw new Error('the download broke after the page was released');
      },
    });
    const worker = await open(out, false, site);
    try {
      await expect(worker.work({ stock: 'LATE1' }, ctx('LATE1', 1))).rejects.toThrow(/after the page/);
      const folder = path.join(out, '.pagepool', 'failures', 'LATE1');
      expect(await readdir(folder)).toEqual(['error.txt']);
      expect(await readFile(path.join(folder, 'error.txt'), 'utf8')).toContain('had given its page back');

      const missing = { stock: 'NOPE/1', url: `${portal.url}/vehicle/NOPE1` };
      await expect(worker.work(missing, ctx('NOPE/1', 1))).rejects.toBeInstanceOf(PermanentError);
      const [gone] = (await readdir(path.join(out, '.pagepool', 'failures'))).filter((n) =>
        n.startsWith('NOPE'),
      );
      expect(gone).toMatch(/^NOPE_1-[0-9a-f]{10}$/);
      const text = await readFile(path.join(out, '.pagepool', 'failures', gone!, 'error.txt'), 'utf8');
      // A 404 is a NotFoundError: a PermanentError that keeps its status (code PERMANENT).
      expect(text).toMatch(/NotFoundError \[PERMANENT\]: vehicle NOPE\/1 does not exist \(404\)/);
    } finally {
      await worker.close();
    }
  });

  it('failureSnapshots: false writes nothing', async () => {
    const stock = stockWhere((fails) => fails('detail', 0) && fails('detail', 1) && fails('detail', 2));
    const out = await tempDir();
    const worker = await openItemWorker({
      site: demoVehicles,
      baseUrl: portal.url,
      credentials: { username: 'demo', password: PASSWORD },
      out,
      concurrency: 1,
      events: new EventEmitter<RunEvents>(),
      browser,
      failureSnapshots: false,
    });
    try {
      await expect(worker.work(ref(stock), ctx(stock, 1))).rejects.toThrow(/HTTP 500/);
      // The file store made its folder; no failures folder was made.
      expect(await readdir(out)).toEqual(['demo']);
    } finally {
      await worker.close();
    }
  });
});

describe('scrubTrace', () => {
  it('removes the password typed at login and the session cookie from a real trace, and the zip reads back', async () => {
    const context = await browser.newContext();
    const dir = await tempDir();
    try {
      await context.tracing.start({ snapshots: true, screenshots: true });
      const page = await context.newPage();
      await demoLogin(page, { username: 'demo', password: PASSWORD }, portal.url);
      await page.goto(`${portal.url}/inventory`);
      const raw = path.join(dir, 'raw.zip');
      await context.tracing.stop({ path: raw });
      const cookies = (await context.cookies()).map((c) => c.value);
      expect(cookies.some((c) => c.startsWith(PREFIX))).toBe(true);
      const secrets = [PASSWORD, ...cookies];
      // Positive control: unscrubbed, the trace holds both (fill's parameter, the Cookie header).
      const before = await readZipEntries(raw);
      expect(before.some((e) => e.data.includes(PASSWORD))).toBe(true);
      expect(before.some((e) => e.data.includes(PREFIX))).toBe(true);

      const clean = path.join(dir, 'clean.zip');
      expect(await scrubTrace(raw, clean, secrets)).toBe(true);
      const after = await readZipEntries(clean);
      expect(after.map((e) => e.name)).toEqual(before.map((e) => e.name));
      for (const entry of after) expect(bytesContainSecret(entry.data, secrets), entry.name).toBe(false);
      expect(after.some((e) => e.data.includes(REDACTED))).toBe(true);
      // Entries with nothing to hide come back byte for byte (screenshots, most resources).
      const same = after.filter((e, i) => e.data.equals(before[i]!.data)).length;
      expect(same).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});
