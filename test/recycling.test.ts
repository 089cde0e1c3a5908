// Page recycling and context rotation through run(), against the demo portal: pages and contexts are replaced
// as the pool ages, the session carries over (one login), and every file is whole. The rotation at its default
// (every 1,000 items, 1,050 items at 8 pages) is scripts/context-recycle.ts: a benchmark, not a test.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { run } from '../src/run.js';
import type { RunEvents } from '../src/run-events.js';
import { launchTestBrowser } from './helpers/chromium.js';
import { demoOnThePage } from './helpers/demo-on-page.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

let browser: Browser;
const portals: Portal[] = [];
beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
});

async function pull(
  vehicles: number,
  options: { concurrency: number; recycleAfter?: number; contextRecycleAfter?: number },
) {
  const p = await startPortal({ vehicles });
  portals.push(p);
  const out = await tempDir();
  const events = new EventEmitter<RunEvents>();
  const replaced = new Map<string, number>();
  events.on('page:replaced', ({ reason }) => replaced.set(reason, (replaced.get(reason) ?? 0) + 1));
  const summary = await run({
    // Pages are what age: every item reads its detail page on its page.
    site: demoOnThePage(),
    baseUrl: p.url,
    credentials: { username: p.options.username, password: p.options.password },
    out,
    checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
    browser,
    events,
    ...options,
  });
  const bad: string[] = [];
  for (const v of makeVehicles(vehicles, 1)) {
    const bytes = await readFile(path.join(out, 'demo', `${v.stock}-window-sticker.pdf`)).catch(() => null);
    if (!bytes?.equals(stickerPdf(v))) bad.push(v.stock);
  }
  return { summary, replaced, bad, stats: p.stats() };
}

describe('an ageing pool', () => {
  it('replaces each page after --recycle-after items, with no new login', async () => {
    const { summary, replaced, bad, stats } = await pull(24, { concurrency: 2, recycleAfter: 3 });
    expect(summary).toMatchObject({ reason: 'done', done: 24, failed: 0 });
    expect(bad).toEqual([]);
    // 24 items over pages that each serve 3: at least 24 / 3 - 2 replacements (the last pages need none).
    expect(replaced.get('recycled') ?? 0).toBeGreaterThanOrEqual(24 / 3 - 2);
    expect(stats.logins).toBe(1);
    expect(stats.expiredSessions).toBe(0);
  }, 180_000);

  it('moves to a fresh context every `contextRecycleAfter` items, carrying the session over: still one login', async () => {
    const N = 40;
    const { summary, replaced, bad, stats } = await pull(N, { concurrency: 4, contextRecycleAfter: 10 });
    expect(summary).toMatchObject({ reason: 'done', done: N, failed: 0 });
    expect(bad).toEqual([]);
    // 40 items, a new context every 10: the pages of the old ones are replaced by pages in the new one.
    expect(replaced.get('context') ?? 0).toBeGreaterThanOrEqual(3);
    expect(stats.logins).toBe(1);
    expect(stats.expiredSessions).toBe(0);
    expect(Object.keys(stats.filesServed)).toHaveLength(N);
  }, 180_000);
});
