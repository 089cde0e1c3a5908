// Login, licence and logged-out detection for the embedded demo portal, shared by its two adapters.
import type { Page, Response } from 'playwright';
import {
  type Credentials,
  LoginError,
  PermanentError,
  RateLimitedError,
  SessionExpiredError,
} from '../index.js';

export async function demoLogin(page: Page, creds: Credentials, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/login`, { waitUntil: 'domcontentloaded' });
  await page.fill('input[name=username]', creds.username);
  await page.fill('input[name=password]', creds.password);
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
    page.click('button[type=submit]'),
  ]);
  if (new URL(page.url()).pathname === '/login') {
    const message =
      (await page
        .locator('p.error')
        .first()
        .textContent()
        .catch(() => null)) ?? 'login refused';
    throw new LoginError(`The portal refused the login for user \`${creds.username}\`: ${message.trim()}`);
  }
  await page.check('#accept');
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
    page.click('#accept-licence'),
  ]);
  if (new URL(page.url()).pathname !== '/inventory') {
    throw new LoginError(
      `The licence page did not let us through (ended on ${new URL(page.url()).pathname})`,
    );
  }
}

export async function demoLoggedOut(page: Page): Promise<boolean> {
  const url = page.url();
  return url.includes('/login') || url.includes('/licence');
}

/** Turns a navigation response into the error the engine should see, or returns when the page is usable. */
export async function checkResponse(page: Page, response: Response | null, what: string): Promise<void> {
  if (await demoLoggedOut(page))
    throw new SessionExpiredError(`redirected to the login page while opening ${what}`);
  if (!response) return;
  const status = response.status();
  if (status === 404) throw new PermanentError(`${what} does not exist (404)`);
  if (status === 429) {
    const retryAfter = Number((await response.headerValue('retry-after')) ?? '1');
    throw new RateLimitedError(Number.isFinite(retryAfter) ? retryAfter * 1000 : 1000);
  }
  if (status >= 400) throw new Error(`${what} answered HTTP ${status}`);
}

/**
 * The URL of the listing's next page (`a[rel=next]`), or null on the last page. It does not wait for the link:
 * the page has loaded, and an error must not read as "no more pages" (that would end the listing early, silently).
 */
export async function nextPage(page: Page): Promise<string | null> {
  return page
    .locator('a[rel=next]')
    .evaluateAll((links) => (links[0] as HTMLAnchorElement | undefined)?.href ?? null);
}
