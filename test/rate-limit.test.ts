// A portal that allows 10 requests a second, pulled at 8 pages with the default settings (no `--rate`): the 429s
// it sends cost waiting, never items. A file that gets a 429 waits out its Retry-After and goes again on its own;
// failing the whole item sent its detail page again into the same limit, and at 8 pages most items then ran out
// of retries (26 of 60 failed, 0.5 items/s). Real Chromium, the real demo portal on 127.0.0.1.
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

const VEHICLES = 40;

describe('a rate-limited portal', () => {
  it('10 requests/s at 8 pages: every item done, each detail page and each file accepted once', async () => {
    const result = await faultPull({
      browser,
      out: await tempDir(),
      portal: { vehicles: VEHICLES, rateLimitPerSec: 10, retryAfterSec: 1 },
      run: { concurrency: 8 },
    });
    const { summary, stats } = result;
    console.log(
      `rate limit: ${summary.done}/${VEHICLES} done in ${(result.wallMs / 1000).toFixed(1)} s, ` +
        `${stats.sent429} x 429, ${summary.retries} item retries`,
    );
    expect(result.failures).toEqual([]);
    expect(summary).toMatchObject({ done: VEHICLES, failed: 0, reason: 'done', pending: [] });
    expect(result.badFiles).toEqual([]);
    expect(result.leftovers).toEqual([]);
    // The limit bit, or this test proves nothing.
    expect(stats.sent429).toBeGreaterThan(VEHICLES / 4);
    // A file's 429 did not send its item through a page again: each detail page was answered 200 once.
    expect(Object.values(stats.pagesServed).filter((n) => n !== 1)).toEqual([]);
    expect(Object.keys(stats.pagesServed)).toHaveLength(VEHICLES);
    expect(Object.values(stats.filesServed).filter((n) => n !== 1)).toEqual([]);
  }, 300_000);
});
