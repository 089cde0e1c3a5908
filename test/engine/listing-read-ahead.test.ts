// Issue 26, point 1: the listing reads ahead of the pages. The queue pulls its source into a buffer (its `prefetch`,
// the queue's concurrency: 3 x pages with the download stage), and src/engine/listing-read-ahead.ts reads one listing
// page further, so the listing asks for its next page while about a page of rows still waits: a slow listing page is
// not on the critical path of every page. Checked with real Chromium against the demo portal behind a logging proxy:
// counts, not timings.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { run } from '../../src/run.js';
import type { RunEvents } from '../../src/run-events.js';
import demoVehicles from '../../src/sites/demo-vehicles.js';
import { startTapProxy, type TapProxy } from '../helpers/tap-proxy.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const portals: Portal[] = [];
const proxies: TapProxy[] = [];

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
});

/** A pull of the demo through a logging proxy: when each listing page was asked for, when each item started. */
async function pull(portalOptions: Parameters<typeof startPortal>[0], concurrency: number) {
  const portal = await startPortal(portalOptions);
  portals.push(portal);
  const proxy = await startTapProxy(portal.url);
  proxies.push(proxy);
  const out = await tempDir();
  const events = new EventEmitter<RunEvents>();
  const starts: number[] = [];
  events.on('task:start', () => {
    starts.push(Date.now());
  });
  const summary = await run({
    site: demoVehicles,
    baseUrl: proxy.url,
    credentials: { username: portal.options.username, password: portal.options.password },
    out,
    checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
    concurrency,
    events,
  });
  const listing = proxy.requests.filter((r) => /^\/inventory\?page=\d+$/.test(r.path));
  /** Items started before each listing page after the first was asked for. */
  const startedBefore = listing.slice(1).map((r) => starts.filter((at) => at < r.at).length);
  return { summary, listing: listing.map((r) => r.path), startedBefore };
}

describe('the listing reads ahead of the pages', () => {
  it('asks for each next listing page while items of the one before still wait for a page', async () => {
    // Listing pages of 25 rows that take 1 s each, detail pages 300 ms, 4 pages working.
    const { summary, listing, startedBefore } = await pull(
      { vehicles: 100, listLatencyMs: 1000, pageLatencyMs: 300 },
      4,
    );
    expect(summary).toMatchObject({ reason: 'done', done: 100, failed: 0 });
    expect(listing).toEqual([1, 2, 3, 4].map((n) => `/inventory?page=${n}`));
    // Of the 25 x k rows listed before page k + 1 was asked for, at least one for each page still waited (a lazy
    // listing asks only once they have all started: then the pages wait on it).
    for (const [i, started] of startedBefore.entries()) expect(started).toBeLessThanOrEqual(25 * (i + 1) - 4);
  }, 180_000);

  it("reads a whole listing page ahead, past the queue's own buffer, when listing pages are big", async () => {
    // Listing pages of 100 rows that take 1.5 s, detail pages 50 ms: the queue's buffer (12 to 24 rows at 4 pages)
    // lasts less than a listing page takes, so without the read-ahead the pages would wait on every listing page.
    const { summary, listing, startedBefore } = await pull(
      { vehicles: 300, pageSize: 100, listLatencyMs: 1500, pageLatencyMs: 50, fileLatencyMs: 0 },
      4,
    );
    expect(summary).toMatchObject({ reason: 'done', done: 300, failed: 0 });
    expect(listing).toEqual([1, 2, 3].map((n) => `/inventory?page=${n}`));
    // Page k + 1 was asked for while at least half a listing page of listed rows still waited.
    for (const [i, started] of startedBefore.entries())
      expect(started).toBeLessThanOrEqual(100 * (i + 1) - 50);
  }, 180_000);
});
