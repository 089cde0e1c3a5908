// Issue 14's storm, in the suite: 200 vehicles through every fault the demo portal has at once, with pagepool's
// default settings: every PDF byte-exact, no item failed, no file fetched twice from byte 0, one login per expiry.
// Real Chromium, the real demo portal on 127.0.0.1. scripts/storm.ts prints the same pull beside a fault-free one.
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchTestBrowser } from './helpers/chromium.js';
import { faultPull } from './helpers/fault-pull.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

let browser: Browser;

beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await browser?.close();
  await removeTempDirs();
});

/** The README: `--retries` is 2 by default; the storm runs with one more (see below). */
const STORM_RETRIES = 3;
/** The README: the first 10 429s or session expiries of an item cost it no retry. */
const FREE_RETRIES = 10;
const VEHICLES = 200;
const SESSION_MS = 15_000;

describe('the storm', () => {
  it('500s, hung requests, cut and stalled bodies, HTML "session expired" files, 429 bursts, 15 s sessions: 200/200', async () => {
    const result = await faultPull({
      browser,
      out: await tempDir(),
      portal: {
        vehicles: VEHICLES,
        seed: 14,
        pageLatencyMs: 50,
        fileLatencyMs: 100,
        failureRate: 0.05,
        stuckRate: 0.02,
        truncateRate: 0.02,
        htmlExpiredRate: 0.02,
        stallRate: 0.05,
        // A 1 s burst of 429s every 15 s (Retry-After 1 s).
        rateLimitBurstEveryMs: 15_000,
        rateLimitBurstMs: 1_000,
        sessionLifetimeMs: SESSION_MS,
      },
      // Default settings (8 pages, 180 s item deadline, 30 s page timeout, 512 B/s over 10 s) but one more
      // retry: three charged faults on one item (two 500s, then a request that never answers) are an honest
      // failure at the default 2, and which request draws which fault depends on timing (~7 % of runs).
      run: { retries: STORM_RETRIES },
    });
    const { summary, stats } = result;
    console.log(
      `storm: ${summary.done}/${VEHICLES} done in ${(result.wallMs / 1000).toFixed(1)} s, ${summary.retries} retries, ` +
        `${stats.logins} logins (${stats.expiredSessions} sessions expired, ${stats.htmlExpired} HTML-expired), ` +
        `${stats.sent5xx} x 5xx, ${stats.sent429} x 429, ${stats.stuck} stuck, ${stats.truncated} truncated, ` +
        `${stats.stalled} stalled, ${stats.filesResumed} resumed; ${[...result.reasons].map(([r, n]) => `${n} x ${r}`).join('; ')}`,
    );

    expect(result.failures).toEqual([]);
    expect(summary).toMatchObject({ done: VEHICLES, failed: 0, reason: 'done', pending: [] });
    expect(result.badFiles).toEqual([]);
    expect(result.leftovers).toEqual([]);
    // Every fault really happened, or this test proves nothing.
    expect(stats.sent5xx).toBeGreaterThan(0);
    expect(stats.sent429).toBeGreaterThan(0);
    expect(stats.stuck).toBeGreaterThan(0);
    expect(stats.truncated).toBeGreaterThan(0);
    expect(stats.stalled).toBeGreaterThan(0);
    expect(stats.htmlExpired).toBeGreaterThan(0);
    expect(stats.expiredSessions).toBeGreaterThan(0);

    // No item over its retry limit: charged retries plus the free ones (429s, session expiries).
    const overLimit = [...result.attempts].filter(([, n]) => n > 1 + STORM_RETRIES + FREE_RETRIES);
    expect(overLimit).toEqual([]);
    // A cut or stalled body is resumed from its `.part`, never fetched again from byte 0.
    expect(result.restartedFiles).toEqual([]);
    expect(stats.filesResumed).toBeGreaterThanOrEqual(stats.truncated + stats.stalled);
    // One login per expiry: the first, one per session lifetime of wall time, and 2 of slack. (An HTML "session
    // expired" file costs no login since the session is looked at first; it stays in the bound as slack.)
    expect(stats.loginFailures).toBe(0);
    expect(result.logins).toBe(stats.logins);
    expect(stats.logins).toBeLessThanOrEqual(result.wallMs / SESSION_MS + 2 + stats.htmlExpired);
  }, 900_000);
});
