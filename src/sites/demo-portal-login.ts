// Login, licence, logged-out detection and link helpers for the embedded demo portal, shared by its two adapters.
import type { Page } from 'playwright';
import { type Credentials, LoginError, totp } from '../index.js';

export async function demoLogin(page: Page, creds: Credentials, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/login`, { waitUntil: 'domcontentloaded' });
  // A portal that still knows our session sends a visitor of /login on to its pages (DEMO_LOGIN_REDIRECTS, as
  // Rails applications do): that session is logged in already, and there is no form to fill.
  if (pathOf(page) === '/login') {
    await page.fill('input[name=username]', creds.username);
    await page.fill('input[name=password]', creds.password);
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
      page.click('button[type=submit]'),
    ]);
    if (pathOf(page) === '/login') {
      const message =
        (await page
          .locator('p.error')
          .first()
          .textContent()
          .catch(() => null)) ?? 'login refused';
      throw new LoginError(`The portal refused the login for user \`${creds.username}\`: ${message.trim()}`);
    }
  }
  // DEMO_TOTP_SECRET: a one-time code between the password and the licence, from PAGEPOOL_TOTP_SECRET.
  if (pathOf(page) === '/login/code') {
    await page.fill('input[name=code]', totp(creds.totpSecret));
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
      page.click('button[type=submit]'),
    ]);
    if (pathOf(page) === '/login/code') {
      throw new LoginError('The portal refused the one-time code: check PAGEPOOL_TOTP_SECRET');
    }
  }
  if (pathOf(page) === '/licence') {
    await page.check('#accept');
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
      page.click('#accept-licence'),
    ]);
  }
  if (pathOf(page) !== '/inventory') {
    throw new LoginError(`The licence page did not let us through (ended on ${pathOf(page)})`);
  }
}

function pathOf(page: Page): string {
  return new URL(page.url()).pathname;
}

export async function demoLoggedOut(page: Page): Promise<boolean> {
  const url = page.url();
  return url.includes('/login') || url.includes('/licence');
}

/**
 * `href` relative to the portal's base URL (`vehicle/S00001`), so a saved ref works against the portal wherever
 * it runs next (the embedded one takes a new port each time); a link elsewhere stays absolute.
 */
export function relativeTo(baseUrl: string, href: string): string {
  return href.startsWith(`${baseUrl}/`) ? href.slice(baseUrl.length + 1) : href;
}
