// Issue 26, point 1: the listing reads ahead of the pages. The queue pulls its source into a buffer (its `prefetch`,
// the queue's concurrency: 3 x pages with the download stage) while the pages work, so the listing asks for its next
// page while the previous page's items are still waiting for a page: a slow listing page is not on the critical path
// of every page. Checked with real Chromium against the demo portal behind a logging proxy: counts, not timings.
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

describe('the listing reads ahead of the pages', () => {
  it('asks for each next listing page while items of the one before still wait for a page', async () => {
    // Listing pages of 25 rows that take 1 s each, detail pages 300 ms, 4 pages working.
    const portal = await startPortal({ vehicles: 100, listLatencyMs: 1000, pageLatencyMs: 300 });
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
      concurrency: 4,
      events,
    });
    expect(summary).toMatchObject({ reason: 'done', done: 100, failed: 0 });

    const listing = proxy.requests.filter((r) => /^\/inventory\?page=\d+$/.test(r.path));
    expect(listing.map((r) => r.path)).toEqual([1, 2, 3, 4].map((n) => `/inventory?page=${n}`));
    for (const [i, request] of listing.entries()) {
      if (i === 0) continue;
      // Items started before page i + 1 was asked for: of the 25 x i rows the listing had given, at least one for
      // each page still waited (a lazy listing asks only once they have all started: then the pages wait on it).
      const started = starts.filter((at) => at < request.at).length;
      expect(started, `items started before ${request.path} was asked for`).toBeLessThanOrEqual(25 * i - 4);
    }
  }, 180_000);
});
