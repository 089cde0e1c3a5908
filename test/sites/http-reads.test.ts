// Issue 27: pages read over HTTP in the run's session (`job.http.html`, `job.read`), end to end. Real Chromium logs
// in to the embedded demo portal on 127.0.0.1; the demo adapter reads its listing and detail pages over HTTP and
// opens the browser page only for a page that needs its script (DEMO_SCRIPT_LINK_EVERY).
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortal } from '../../src/demo/portal.js';
import { NoItemsError } from '../../src/errors.js';
import { run } from '../../src/run.js';
import demoVehicles from '../../src/sites/demo-vehicles.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { demoOnThePage } from '../helpers/demo-on-page.js';
import { type FaultPullResult, faultPull } from '../helpers/fault-pull.js';
import { startTapProxy } from '../helpers/tap-proxy.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

let browser: Browser;

beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await browser?.close();
  await removeTempDirs();
});

const SLOW = { timeout: 180_000 };

/** The ways each item's reads went, in order: `{ S00001: ['http'], S00003: ['http', 'page'] }`. */
function waysByKey(result: FaultPullResult): Record<string, string[]> {
  const ways: Record<string, string[]> = {};
  for (const { key, via } of result.reads) ways[key] = [...(ways[key] ?? []), via];
  return ways;
}

function expectWhole(result: FaultPullResult, vehicles: number): void {
  expect(result.failures).toEqual([]);
  expect(result.summary).toMatchObject({ done: vehicles, failed: 0, reason: 'done', pending: [] });
  expect(result.badFiles).toEqual([]);
  expect(result.leftovers).toEqual([]);
}

describe('pages read over HTTP in the browser session', () => {
  it(
    'server-rendered detail pages: each read once over HTTP, no browser page, every PDF byte-exact',
    SLOW,
    async () => {
      const vehicles = 30;
      const result = await faultPull({
        browser,
        out: await tempDir(),
        portal: { vehicles },
        run: { concurrency: 4 },
      });
      expectWhole(result, vehicles);
      const ways = waysByKey(result);
      expect(Object.keys(ways)).toHaveLength(vehicles);
      for (const [key, way] of Object.entries(ways)) expect(way, key).toEqual(['http']);
      // The portal served each detail page once: the HTTP read, no browser load after it.
      expect(Object.values(result.stats.pagesServed)).toEqual(new Array(vehicles).fill(1));
      // The listing's page count has its pages read over HTTP (the browser opened none of them).
      expect(result.stats.logins).toBe(1);
    },
  );

  it(
    'a site with pageOnDemand whose listing and items read over HTTP keeps no browser page open after its login',
    SLOW,
    async () => {
      // Every page target Chromium makes and closes, seen over the browser's own CDP session.
      const cdp = await browser.newBrowserCDPSession();
      const created = new Map<string, string>();
      const destroyed = new Set<string>();
      cdp.on('Target.targetCreated', ({ targetInfo }) => {
        if (targetInfo.type === 'page') created.set(targetInfo.targetId, targetInfo.url);
      });
      cdp.on('Target.targetDestroyed', ({ targetId }) => destroyed.add(targetId));
      await cdp.send('Target.setDiscoverTargets', { discover: true });
      try {
        const vehicles = 20;
        const result = await faultPull({
          browser,
          out: await tempDir(),
          portal: { vehicles },
          run: { concurrency: 4 },
        });
        expectWhole(result, vehicles);
        // Two pages in all: the login's and the one local navigation that reads the browser's headers. The
        // listing opened none (it read its pages over HTTP), nor did any item; both were closed.
        expect(created.size).toBe(2);
        await expect
          .poll(() => [...created.keys()].filter((id) => !destroyed.has(id)), { timeout: 10_000 })
          .toEqual([]);
      } finally {
        await cdp.detach().catch(() => {});
      }
    },
  );

  it(
    'a session that expires in the middle of HTTP reads: one re-login per expiry, nothing lost',
    SLOW,
    async () => {
      const vehicles = 40;
      const result = await faultPull({
        browser,
        out: await tempDir(),
        // 40 items at 4 at a time, each page and file 150 ms: the run outlives several 1.5 s sessions.
        portal: { vehicles, sessionLifetimeMs: 1_500, pageLatencyMs: 150, fileLatencyMs: 150 },
        run: { concurrency: 4, retries: 6 },
      });
      expectWhole(result, vehicles);
      expect(result.stats.expiredSessions).toBeGreaterThan(0);
      // The expiry was met by a page read over HTTP (a redirect to /login, judged by the site's loggedOut rule).
      const reasons = [...result.reasons.keys()];
      expect(reasons.some((r) => /redirected to the login page while reading vehicle/.test(r))).toBe(true);
      // Every login the portal saw was the engine's, and one per dropped session at most: the items that met the
      // expiry at once shared one re-login.
      expect(result.logins).toBe(result.stats.logins);
      expect(result.stats.logins).toBeGreaterThanOrEqual(2);
      expect(result.stats.logins).toBeLessThanOrEqual(result.stats.expiredSessions + 1);
    },
  );

  it(
    '429 on a page read over HTTP holds the run (Retry-After) and the item is read again',
    SLOW,
    async () => {
      const vehicles = 30;
      const result = await faultPull({
        browser,
        out: await tempDir(),
        portal: { vehicles, rateLimitRate: 0.2, retryAfterSec: 1, seed: 4 },
        run: { concurrency: 4, retries: 6 },
      });
      expectWhole(result, vehicles);
      const reasons = [...result.reasons.keys()];
      expect(reasons.some((r) => /^vehicle S… answered HTTP 429; retry after 1 s$/.test(r))).toBe(true);
      expect(result.holds).toBeGreaterThan(0);
      // Every read was over HTTP: a 429 is no reason to go to the browser.
      expect(result.reads.every((r) => r.via === 'http')).toBe(true);
    },
  );

  it(
    'a page whose link its script adds falls back to the browser page; the others stay on HTTP',
    SLOW,
    async () => {
      const vehicles = 30;
      const result = await faultPull({
        browser,
        out: await tempDir(),
        portal: { vehicles, scriptLinkEvery: 3 },
        run: { concurrency: 4 },
      });
      expectWhole(result, vehicles);
      const ways = waysByKey(result);
      for (let n = 1; n <= vehicles; n++) {
        const key = `S${String(n).padStart(5, '0')}`;
        expect(ways[key], key).toEqual(n % 3 === 0 ? ['http', 'page'] : ['http']);
      }
      // Two in three pages had the link in their HTML: HTTP stays first.
      expect(result.warnings.filter((w) => /reads of/.test(w))).toEqual([]);
    },
  );

  it('a site whose every page needs its script learns to go to the browser page first', SLOW, async () => {
    const vehicles = 24;
    const result = await faultPull({
      browser,
      out: await tempDir(),
      portal: { vehicles, scriptLinkEvery: 1 },
      run: { concurrency: 2 },
    });
    expectWhole(result, vehicles);
    const switched = result.warnings.filter((w) => /go to the browser page first now/.test(w));
    expect(switched).toHaveLength(1);
    expect(switched[0]).toMatch(/site demo: reads of .* the HTML over HTTP had 0 % of them/);
    // After the switch, items go to the page at once (an HTTP probe now and then): far fewer HTTP reads than items.
    const overHttp = result.reads.filter((r) => r.via === 'http').length;
    expect(overHttp).toBeLessThan(vehicles / 2);
    expect(result.reads.filter((r) => r.via === 'page')).toHaveLength(vehicles);
  });
});

describe('scripts: false', () => {
  it(
    'item pages load with JavaScript disabled: a link only a script adds is not there; the login still works',
    SLOW,
    async () => {
      const vehicles = 6;
      // Every 2nd detail page gets its sticker link from an inline script after load.
      const portal = { vehicles, scriptLinkEvery: 2 };
      const withScripts = await faultPull({
        browser,
        out: await tempDir(),
        portal,
        run: { site: demoOnThePage(), concurrency: 2 },
      });
      expectWhole(withScripts, vehicles);
      expect(withScripts.reads.every((r) => r.via === 'page')).toBe(true);

      const without = await faultPull({
        browser,
        out: await tempDir(),
        portal,
        run: { site: demoOnThePage({ scripts: false }), concurrency: 2 },
      });
      // The login (a browser page of its own) ran; the pages without their script's link fail for good, once.
      expect(without.stats.logins).toBe(1);
      expect(without.summary).toMatchObject({ done: 3, failed: 3 });
      expect(without.failures.map((f) => [f.key, f.attempt, f.reason]).sort()).toEqual(
        ['S00002', 'S00004', 'S00006'].map((key) => [
          key,
          1,
          `vehicle ${key}: its page has no window-sticker link`,
        ]),
      );
      expect(without.badFiles).toEqual(['S00002', 'S00004', 'S00006']);
    },
  );
});

describe('a listing read over HTTP', () => {
  it(
    'that yields nothing names the last page it read and its status (NoItemsError), nothing pulled',
    SLOW,
    async () => {
      const portal = await startPortal({ vehicles: 5 });
      // The inventory answers an empty table: a portal whose markup changed under the adapter.
      const proxy = await startTapProxy(portal.url, {
        respond: (req) =>
          req.path.startsWith('/inventory?page=')
            ? { status: 200, headers: { 'content-type': 'text/html' }, body: '<table></table>' }
            : undefined,
      });
      try {
        const out = await tempDir();
        const summary = await run({
          site: demoVehicles,
          baseUrl: proxy.url,
          credentials: { username: 'demo', password: 'demo-pass' },
          out,
          checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
          browser,
        });
        expect(summary).toMatchObject({ reason: 'fatal', done: 0 });
        expect(summary.error).toBeInstanceOf(NoItemsError);
        expect((summary.error as Error).message).toBe(
          `the listing of demo produced no items (its last page, ${proxy.url}/inventory?page=1, answered HTTP 200)`,
        );
        expect(portal.stats().filesServed).toEqual({});
      } finally {
        await proxy.close();
        await portal.close();
      }
    },
  );
});

describe('a page read over HTTP that never answers', () => {
  it('is given up after the page timeout and read again: every item done', SLOW, async () => {
    const portal = await startPortal({ vehicles: 4 });
    let hung = 0;
    // The first request for S00003's page is never answered.
    const proxy = await startTapProxy(portal.url, {
      hang: (req) => req.path === '/vehicle/S00003' && hung++ === 0,
    });
    try {
      const out = await tempDir();
      const summary = await run({
        site: demoVehicles,
        baseUrl: proxy.url,
        credentials: { username: 'demo', password: 'demo-pass' },
        out,
        checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
        browser,
        concurrency: 2,
        pageTimeoutMs: 2_000,
        // The item's own deadline is far away: only the page timeout can end the hung read soon.
        taskTimeoutMs: 90_000,
      });
      expect(summary).toMatchObject({ reason: 'done', done: 4, failed: 0 });
      const asked = proxy.requests.filter((r) => r.path === '/vehicle/S00003');
      expect(asked).toHaveLength(2);
      const gap = asked[1]!.at - asked[0]!.at;
      expect(gap).toBeGreaterThanOrEqual(2_000);
      // Long before the 30 s default (the retry's backoff comes on top of the 2 s).
      expect(gap).toBeLessThan(15_000);
    } finally {
      await proxy.close();
      await portal.close();
    }
  });
});
