// Issue 3: a pull against a portal that fails, hangs, rate-limits and logs us out still ends with every file
// whole on disk, no item fetched more often than its own retries allow, and one login per expired session.
// Real Chromium, the real demo portal on 127.0.0.1. The 200-vehicle version is scripts/fault-run.ts.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortal } from '../src/demo/portal.js';
import { run } from '../src/run.js';
import type { RunEvents } from '../src/run-events.js';
import demoVehicles from '../src/sites/demo-vehicles.js';
import { launchTestBrowser } from './helpers/chromium.js';
import { faultPull } from './helpers/fault-pull.js';
import { startPortalProxy } from './helpers/portal-proxy.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

let browser: Browser;

beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await browser?.close();
  await removeTempDirs();
});

const VEHICLES = 100;

describe('a pull through injected faults', () => {
  it('500s, hung requests, 429s and expiring sessions: every PDF byte-exact, no extra fetch, no extra login', async () => {
    const out = await tempDir();
    const result = await faultPull({
      browser,
      out,
      portal: {
        vehicles: VEHICLES,
        failureRate: 0.1,
        stuckRate: 0.02,
        rateLimitRate: 0.05,
        // Shorter than the 15 s so that even a fast machine sees several expiries in a 100-item run.
        sessionLifetimeMs: 8_000,
        seed: 5,
      },
      // A hung request is given up after 20 s (not the default 180 s): far more than a healthy item needs on two
      // busy cores, so only the hung ones hit it. 6 retries outlast the worst streak of faults.
      run: { concurrency: 8, taskTimeoutMs: 20_000, retries: 6 },
    });
    const { summary, stats } = result;
    const served = Object.values(stats.filesServed);
    console.log(
      `faults: ${VEHICLES} items, ${summary.done} done, ${summary.retries} retries, ${summary.relogins} re-logins ` +
        `(portal: ${stats.logins} logins, ${stats.expiredSessions} sessions expired), ${summary.abandoned} abandoned, ` +
        `${stats.sent5xx} x 5xx, ${stats.sent429} x 429, ${stats.stuck} stuck, ` +
        `${served.reduce((a, b) => a + b, 0)} files served, ${(result.wallMs / 1000).toFixed(1)} s`,
    );

    expect(summary).toMatchObject({ done: VEHICLES, failed: 0, reason: 'done', pending: [] });
    expect(result.badFiles).toEqual([]);
    expect(result.leftovers).toEqual([]);
    // The faults really happened, or this test proves nothing.
    expect(stats.sent5xx).toBeGreaterThan(0);
    expect(stats.sent429).toBeGreaterThan(0);
    expect(stats.stuck).toBeGreaterThan(0);
    expect(stats.expiredSessions).toBeGreaterThan(0);

    // Each engine attempt at an item fetches its file at most once. The file store retries a download itself (up to
    // 3 times), but only after a retryable error: a 500 or a hung request, neither of which starts a body, and
    // `filesServed` counts only requests that started one. With truncateRate 0 a started body is sent whole, so a
    // served file ends the attempt (saved, or the attempt aborted at its deadline and then retried by the queue).
    // Hence at most one served file per attempt, and attempts = 1 + the retries the engine gave that item.
    expect(Object.keys(stats.filesServed)).toHaveLength(VEHICLES);
    const overFetched = Object.entries(stats.filesServed).filter(
      ([key, n]) => n > (result.attempts.get(key) ?? 0),
    );
    expect(overFetched).toEqual([]);

    // Every login the portal saw came from the engine's pool.
    expect(result.logins).toBe(stats.logins);
    expect(stats.logins).toBeGreaterThanOrEqual(2);
    // A re-login is only done for a request whose session the portal had dropped (and counted): the workers and
    // the listing share one login, which is skipped when the session was replaced after the failed request left.
    // Slack 1: two logged-out attempts settling in the same tick can make the skip check read the newer one's
    // start, costing one re-login that was not needed.
    expect(stats.logins).toBeLessThanOrEqual(1 + stats.expiredSessions + 1);
  }, 300_000);

  it('an item whose first detail request never answers is not stranded on the login page (8 s sessions)', async () => {
    // The bug of issue 14: the navigation timed out but kept loading on a page the pool kept, holding Chromium's
    // cache lock on the URL, so each later attempt at the item waited 20 s for it and met an expired session.
    const vehicles = 24;
    const sessionMs = 8_000;
    const result = await faultPull({
      browser,
      out: await tempDir(),
      portal: { vehicles, stuckRate: 0.1, sessionLifetimeMs: sessionMs, pageLatencyMs: 50, seed: 3 },
      // Well under Chromium's 20 s cache-lock wait the bug was about, and well over what a healthy page takes on a
      // loaded machine (3 s was not: a slow healthy load failed like a stuck one).
      run: { pageTimeoutMs: 8_000 },
    });
    const { summary, stats } = result;
    console.log(
      `stuck first requests: ${summary.done}/${vehicles} done, ${stats.stuck} stuck, ${stats.logins} logins, ` +
        `${stats.expiredSessions} sessions expired, ${summary.retries} retries, ${(result.wallMs / 1000).toFixed(1)} s`,
    );
    expect(result.failures).toEqual([]);
    expect(summary).toMatchObject({ done: vehicles, failed: 0, reason: 'done', pending: [] });
    expect(result.badFiles).toEqual([]);
    expect(stats.stuck).toBeGreaterThan(0);
    // One login per expiry at most: the first one, one per session lifetime, and 2 of slack.
    expect(stats.logins).toBeLessThanOrEqual(result.wallMs / sessionMs + 2);
  }, 300_000);

  it('stalled bodies and HTML "session expired" files, default settings: resumed, retried without a re-login, every PDF byte-exact', async () => {
    const out = await tempDir();
    const vehicles = 24;
    // Seed 2: 3 stickers stall and 5 answer the HTML page on their first request (10 % each).
    const result = await faultPull({
      browser,
      out,
      portal: { vehicles, stallRate: 0.1, htmlExpiredRate: 0.1, seed: 2 },
    });
    const { summary, stats } = result;
    console.log(
      `stall + html-expired: ${summary.done}/${vehicles} done, ${stats.stalled} stalled, ${stats.filesResumed} resumed, ` +
        `${stats.htmlExpired} HTML-expired, ${stats.logins} logins, ${summary.retries} retries, ${(result.wallMs / 1000).toFixed(1)} s`,
    );
    expect(summary).toMatchObject({ done: vehicles, failed: 0, reason: 'done', pending: [] });
    expect(result.failures).toEqual([]);
    expect(result.badFiles).toEqual([]);
    expect(result.leftovers).toEqual([]);
    expect(stats.stalled).toBeGreaterThanOrEqual(3);
    expect(stats.htmlExpired).toBeGreaterThanOrEqual(5);
    // A stall never runs to the 180 s item deadline (this test would time out): the minimum speed aborts it
    // and the retry resumes the `.part`. No file is ever served twice from byte 0.
    expect(result.restartedFiles).toEqual([]);
    expect(stats.filesResumed).toBeGreaterThanOrEqual(stats.stalled);
    // The HTML page where a PDF was expected is looked into before any re-login: the item's page, opened again,
    // shows no login (the portal kept the session), so it is retried as a bad file and nobody logs in again.
    expect(stats.loginFailures).toBe(0);
    expect(stats.logins).toBe(1);
    expect(result.logins).toBe(stats.logins);
  }, 300_000);
});

// A portal that allows 10 requests a second, pulled at 8 pages with the default settings (no `--rate`): the 429s
// it sends cost waiting, never items. A file that gets a 429 waits out its Retry-After and goes again on its own;
// failing the whole item sent its detail page again into the same limit, and at 8 pages most items then ran out
// of retries (20 of 40 done in 38 s, 407 x 429).
const LIMITED_VEHICLES = 40;

describe('a rate-limited portal', () => {
  it('10 requests/s at 8 pages: every item done, each detail page and each file accepted once', async () => {
    const result = await faultPull({
      browser,
      out: await tempDir(),
      portal: { vehicles: LIMITED_VEHICLES, rateLimitPerSec: 10, retryAfterSec: 1 },
      run: { concurrency: 8 },
    });
    const { summary, stats } = result;
    console.log(
      `rate limit: ${summary.done}/${LIMITED_VEHICLES} done in ${(result.wallMs / 1000).toFixed(1)} s, ` +
        `${stats.sent429} x 429, ${summary.retries} item retries`,
    );
    expect(result.failures).toEqual([]);
    expect(summary).toMatchObject({ done: LIMITED_VEHICLES, failed: 0, reason: 'done', pending: [] });
    expect(result.badFiles).toEqual([]);
    expect(result.leftovers).toEqual([]);
    // The limit bit, or this test proves nothing.
    expect(stats.sent429).toBeGreaterThan(LIMITED_VEHICLES / 4);
    // A file's 429 did not send its item through a page again: each detail page was answered 200 once.
    expect(Object.values(stats.pagesServed).filter((n) => n !== 1)).toEqual([]);
    expect(Object.keys(stats.pagesServed)).toHaveLength(LIMITED_VEHICLES);
    expect(Object.values(stats.filesServed).filter((n) => n !== 1)).toEqual([]);
  }, 300_000);
});

// A re-login whose page timed out once (a busy machine, a portal hiccup) stopped the whole run as if the portal
// had refused the credentials: the first test here once ended fatal at 26/100, at about its first session expiry.
// The demo portal behind a proxy that holds the second login form post until the page gives up.
describe('a re-login', () => {
  it('whose form post never answers is tried once more on a fresh page; the run pulls everything', async () => {
    const vehicles = 16;
    // Sessions of 3 s and slow pages: the run outlives its first session, so it needs a re-login.
    const portal = await startPortal({ vehicles, sessionLifetimeMs: 3_000, pageLatencyMs: 300 });
    let release!: () => void;
    const never = new Promise<void>((resolve) => {
      release = resolve;
    });
    let posts = 0;
    const proxy = await startPortalProxy(portal.url, {
      hold: (req) => (req.method === 'POST' && req.path === '/login' && ++posts === 2 ? never : undefined),
    });
    try {
      const events = new EventEmitter<RunEvents>();
      const warnings: string[] = [];
      events.on('warning', ({ message }) => warnings.push(message));
      const out = await tempDir();
      const summary = await run({
        site: demoVehicles,
        baseUrl: proxy.url,
        credentials: { username: portal.options.username, password: portal.options.password },
        out,
        checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
        events,
        browser,
        concurrency: 2,
        // Long enough for a healthy page on a busy machine; the held post fails the first re-login after it.
        pageTimeoutMs: 8_000,
      });
      expect(summary).toMatchObject({ done: vehicles, failed: 0, reason: 'done', pending: [] });
      // The second login post was the re-login's, held until its page gave up; the third one logged in.
      expect(posts).toBeGreaterThanOrEqual(3);
      expect(
        proxy.requests.filter((r) => r.method === 'POST' && r.path === '/login' && r.dropped),
      ).toHaveLength(1);
      expect(warnings.filter((w) => w.startsWith('the re-login failed ('))).toHaveLength(1);
      expect(warnings.find((w) => w.startsWith('the re-login failed ('))).toMatch(
        /Timeout 8000ms.*; trying once more$/,
      );
    } finally {
      release();
      await proxy.close();
      await portal.close();
    }
  }, 180_000);
});
