// A login that finds itself logged in is done: on a portal that sends a logged-in visitor of /login on to its pages
// (Rails does; the demo portal with `loginRedirects`), the demo adapters' login and the one `pagepool init` writes
// return at once, without waiting for a form that is not there. Real Chromium against the demo portal.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { adapterSkeleton } from '../../src/sites/adapter-skeleton.js';
import { demoLogin } from '../../src/sites/demo-portal-login.js';
import { loadSite } from '../../src/sites/load-site.js';
import { siteLogin } from '../../src/sites/site.js';
import { launchTestBrowser } from '../helpers/chromium.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let browser: Browser;
let portal: Portal;
let dir: string;

beforeAll(async () => {
  browser = await launchTestBrowser();
  portal = await startPortal({ vehicles: 3, loginRedirects: true });
  // Inside this checkout, so that the skeleton's `import ... from 'pagepool'` resolves to this package.
  dir = await mkdtemp(path.join(ROOT, 'downloads', 'login-redirects-'));
});
afterAll(async () => {
  await browser?.close();
  await portal?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A page logged in to the portal, whose waits fail after 3 s: a login waiting for a missing form fails fast. */
async function loggedInPage(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await demoLogin(page, portal.options, portal.url);
  page.setDefaultTimeout(3000);
  return page;
}

describe('a login on a session that is still logged in', () => {
  it('the demo login returns on the page it was sent to; the portal counts no new login', async () => {
    const page = await loggedInPage();
    const before = portal.stats().logins;
    await demoLogin(page, portal.options, portal.url);
    expect(new URL(page.url()).pathname).toBe('/inventory');
    expect(portal.stats().logins).toBe(before);
    await page.context().close();
  });

  it('the login `pagepool init` writes returns too', async () => {
    const file = path.join(dir, 'my-portal.ts');
    await writeFile(file, adapterSkeleton());
    const site = await loadSite(file);
    const page = await loggedInPage();
    const before = portal.stats().logins;
    await siteLogin(site, portal.options, portal.url)!(page);
    expect(new URL(page.url()).pathname).toBe('/inventory');
    expect(portal.stats().logins).toBe(before);
    await page.context().close();
  });

  it('a new session still logs in through the form (and the licence)', async () => {
    const page = await (await browser.newContext()).newPage();
    const before = portal.stats().logins;
    await demoLogin(page, portal.options, portal.url);
    expect(new URL(page.url()).pathname).toBe('/inventory');
    expect(portal.stats().logins).toBe(before + 1);
    await page.context().close();
  });
});
