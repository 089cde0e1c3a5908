// The heavy page and the script-built link in real Chromium (Playwright, not pagepool): the script runs
// without an error, builds its ~600 elements, the photos and stylesheet load, and a script link appears.
import type { Browser, BrowserContext, Page } from 'playwright';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { signIn } from './portal-client.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(() => browser?.close());

const started: Portal[] = [];
const contexts: BrowserContext[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await Promise.all(started.splice(0).map((p) => p.close()));
});

/** A page signed in to a new portal; `errors` collects every uncaught script error. */
async function signedInPage(options: Partial<PortalOptions>, javaScriptEnabled = true) {
  const portal = await startPortal({ vehicles: 6, ...options });
  started.push(portal);
  const cookie = await signIn(portal);
  const [name, value] = cookie.split('=') as [string, string];
  const context = await browser.newContext({ javaScriptEnabled });
  contexts.push(context);
  await context.addCookies([{ name, value, url: portal.url }]);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { portal, page, errors };
}

const countAll = (page: Page) => page.evaluate(() => document.querySelectorAll('*').length);

describe('heavy page in Chromium', () => {
  for (const compress of [false, true]) {
    it(`runs its script on load: ~600 more elements laid out, photos and styles loaded, no error${compress ? ' (compressed)' : ''}`, async () => {
      const { portal, page, errors } = await signedInPage({ heavy: true, compress });
      const response = await page.goto(`${portal.url}/vehicle/S00002`);
      expect(response?.headers()['content-encoding']).toBe(compress ? 'br' : undefined);
      await page.waitForSelector('html[data-heavy="ready"]', { timeout: 20_000 });
      const built = await page.evaluate(() => {
        const root = document.getElementById('configurator')!;
        return {
          inside: root.querySelectorAll('*').length + 1,
          rows: root.dataset.rows,
          height: Number(root.dataset.height),
          photos: Array.from(document.images, (img) => img.complete && img.naturalWidth),
          gallery: getComputedStyle(document.querySelector('.gallery')!).display,
        };
      });
      expect(errors).toEqual([]);
      expect(built.inside).toBeGreaterThanOrEqual(590);
      expect(built.inside).toBeLessThanOrEqual(610);
      expect(built.rows).toBe('119');
      // Laid out: the rows have a real height.
      expect(built.height).toBeGreaterThan(119 * 10);
      expect(built.photos).toEqual(Array(8).fill(160));
      expect(built.gallery).toBe('grid');
      expect(await countAll(page)).toBeGreaterThan(2_500);
      expect(await page.getAttribute('#download-sticker', 'href')).toBe('/vehicle/S00002/sticker.pdf');
    });
  }
});

describe('script-built sticker link in Chromium', () => {
  for (const heavy of [false, true]) {
    it(`appears after load on a ${heavy ? 'heavy' : 'light'} page, and never without JavaScript`, async () => {
      const { portal, page, errors } = await signedInPage({ heavy, scriptLinkEvery: 3 });
      await page.goto(`${portal.url}/vehicle/S00003`);
      const link = await page.waitForSelector('a#download-sticker', { timeout: 20_000 });
      expect(await link.getAttribute('href')).toBe('/vehicle/S00003/sticker.pdf');
      expect(await link.textContent()).toBe('Download window sticker');
      expect(errors).toEqual([]);

      const off = await signedInPage({ heavy, scriptLinkEvery: 3 }, false);
      await off.page.goto(`${off.portal.url}/vehicle/S00003`);
      await off.page.waitForLoadState('load');
      expect(await off.page.$('#download-sticker')).toBeNull();
      expect(await off.page.$('#sticker-slot')).not.toBeNull();
    });
  }
});
