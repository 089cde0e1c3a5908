// The demo portal in real Chromium (Playwright, not pagepool): signing in through the forms with a TOTP code and
// a header-bound session, the heavy page's script and assets, and the script-built sticker link.
import type { Browser, BrowserContext, Page } from 'playwright';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { rawRequest, signIn } from './portal-client.js';
import { totpCode } from './totp-code.js';

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

describe('signing in with Chromium', () => {
  it('types the password and the TOTP code into the forms; its own pages and assets never re-validate', async () => {
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    const portal = await startPortal({
      vehicles: 3,
      totpSecret: secret,
      bindSession: true,
      heavy: true,
      compress: true,
    });
    started.push(portal);
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${portal.url}/inventory`);
    await page.fill('input[name=username]', 'demo');
    await page.fill('input[name=password]', 'demo-pass');
    await page.click('button[type=submit]');
    await page.waitForURL('**/login/code');
    await page.fill('input[name=code]', totpCode(secret, Date.now()));
    await page.click('button[type=submit]');
    await page.waitForURL('**/licence');
    await page.check('#accept');
    await page.click('#accept-licence');
    await page.waitForURL('**/inventory');
    await page.click('a[href="/vehicle/S00002"]');
    await page.waitForSelector('html[data-heavy="ready"]', { timeout: 20_000 });
    expect(portal.stats()).toMatchObject({ logins: 1, totpFailures: 0, revalidations: 0 });

    // A client with other headers and the browser's cookie takes the session over; the browser is logged out.
    const [cookie] = await context.cookies();
    const other = await rawRequest(portal, '/vehicle/S00001/sticker.pdf', {
      headers: { cookie: `${cookie!.name}=${cookie!.value}`, 'user-agent': 'curl/8' },
    });
    expect(other.status).toBe(200);
    expect(portal.stats().revalidations).toBe(1);
    await page.goto(`${portal.url}/vehicle/S00003`);
    expect(new URL(page.url()).pathname).toBe('/login');
  });
});
