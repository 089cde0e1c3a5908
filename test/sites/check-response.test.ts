// checkResponse on the demo portal's real answers (real Chromium), and files.fetch mapping the same statuses the
// same way: one status table for pages and files.
import type { Browser, BrowserContext, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { AccessDeniedError, httpStatusError, parseRetryAfter } from '../../src/files/http-status.js';
import {
  checkResponse,
  classify,
  ForbiddenError,
  PermanentError,
  RateLimitedError,
  SessionExpiredError,
} from '../../src/index.js';
import { demoLoggedOut, demoLogin } from '../../src/sites/demo-portal-login.js';
import { makeStore, rejection, removeTempDirs, startServer, tempDir } from '../files/helpers.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { startStaticServer } from '../helpers/static-server.js';

let browser: Browser;
const portals: Portal[] = [];
const contexts: BrowserContext[] = [];

async function portal(options: Parameters<typeof startPortal>[0] = {}): Promise<Portal> {
  const p = await startPortal({ vehicles: 3, ...options });
  portals.push(p);
  return p;
}

/** A page of a fresh context; logged in on `on` when given. */
async function page(on?: Portal): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  const p = await context.newPage();
  if (on) await demoLogin(p, on.options, on.url);
  return p;
}

/** What checkResponse throws (undefined when the page is usable) after opening `url`. */
async function outcome(p: Page, url: string, loggedOut = demoLoggedOut): Promise<unknown> {
  const response = await p.goto(url);
  return checkResponse(p, response, { what: 'the page', loggedOut }).then(
    () => undefined,
    (err: unknown) => err,
  );
}

beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  for (const p of portals) await p.close();
  await removeTempDirs();
});

describe('checkResponse on the demo portal', () => {
  it('200: the page is usable', async () => {
    const demo = await portal();
    expect(await outcome(await page(demo), `${demo.url}/vehicle/S00001`)).toBeUndefined();
  });

  it('404: PermanentError, never retried', async () => {
    const demo = await portal();
    const err = await outcome(await page(demo), `${demo.url}/vehicle/NOPE`);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe('the page does not exist (404)');
    expect(classify(err)).toBe('permanent');
  });

  it("429: RateLimitedError with the portal's Retry-After", async () => {
    const demo = await portal({ rateLimitRate: 1, retryAfterSec: 7 });
    const err = await outcome(await page(demo), `${demo.url}/vehicle/S00001`);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(7000);
    expect(classify(err)).toBe('backoff');
  });

  it('500: a retried error', async () => {
    const demo = await portal({ failureRate: 1 });
    const err = await outcome(await page(demo), `${demo.url}/vehicle/S00001`);
    expect((err as Error).message).toBe('the page answered HTTP 500');
    expect(classify(err)).toBe('retry');
  });

  it("redirected to the login page: SessionExpiredError, from the site's loggedOut", async () => {
    const demo = await portal();
    const p = await page(); // never logged in: the portal answers 302 /login, the login page answers 200
    const err = await outcome(p, `${demo.url}/vehicle/S00001`);
    expect(new URL(p.url()).pathname).toBe('/login');
    expect(err).toBeInstanceOf(SessionExpiredError);
    expect(classify(err)).toBe('relogin');
  });

  it('401 (a refused login form): a session expiry with a login, permanent without one', async () => {
    const demo = await portal();
    const p = await page();
    await p.goto(`${demo.url}/login`);
    await p.fill('input[name=username]', 'demo');
    await p.fill('input[name=password]', 'wrong');
    const [response] = await Promise.all([p.waitForNavigation(), p.click('button[type=submit]')]);
    expect(response?.status()).toBe(401);
    await expect(checkResponse(p, response)).rejects.toBeInstanceOf(SessionExpiredError);
    await expect(checkResponse(p, response, { session: false })).rejects.toBeInstanceOf(PermanentError);
  });
});

describe('401/403: what the page says', () => {
  // Pages a portal answers 403 with: its own page for a logged-in user who may not see the item, its login form,
  // and a page whose login form is hidden (a header dropdown).
  const PAGES: Record<string, string> = {
    '/forbidden': '<h1>You may not see this vehicle</h1><a href="/inventory">Back</a>',
    '/login-form': '<form method="post"><input name="user"><input type="password" name="pw"></form>',
    '/hidden-form': '<h1>Forbidden</h1><form hidden><input type="password" name="pw"></form>',
  };
  const serve = () =>
    startServer((req, res) => {
      const body = PAGES[req.url ?? ''] ?? '';
      res.writeHead(req.url === '/unauthorized' ? 401 : 403, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html><body>${body || '<p>no</p>'}</body></html>`);
    });

  it("a 403 page that is not the login page: ForbiddenError (FORBIDDEN, permanent), by the site's loggedOut", async () => {
    const server = await serve();
    try {
      const p = await page();
      const err = await outcome(p, `${server.origin}/forbidden`, async () => false);
      expect(err).toBeInstanceOf(ForbiddenError);
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as ForbiddenError).code).toBe('FORBIDDEN');
      expect((err as ForbiddenError).status).toBe(403);
      expect((err as Error).message).toBe(
        'the page answered HTTP 403 while the session is still logged in: the portal refuses it to this account',
      );
      expect(classify(err)).toBe('permanent');
      // The site's loggedOut says login page: an expired session, whatever the status.
      expect(await outcome(p, `${server.origin}/forbidden`, async () => true)).toBeInstanceOf(
        SessionExpiredError,
      );
    } finally {
      await server.close();
    }
  });

  it('without loggedOut, a visible password field makes a 401/403 a session expiry; no form, or a hidden one, FORBIDDEN', async () => {
    const server = await serve();
    try {
      const p = await page();
      const judge = async (path: string) =>
        checkResponse(p, await p.goto(`${server.origin}${path}`)).then(
          () => undefined,
          (err: unknown) => err,
        );
      const expired = await judge('/login-form');
      expect(expired).toBeInstanceOf(SessionExpiredError);
      expect(expired).not.toBeInstanceOf(AccessDeniedError);
      expect(classify(expired)).toBe('relogin');
      expect(await judge('/forbidden')).toBeInstanceOf(ForbiddenError);
      expect(await judge('/hidden-form')).toBeInstanceOf(ForbiddenError);
      expect(await judge('/unauthorized')).toMatchObject({ code: 'FORBIDDEN', status: 401 });
      // A portal without a login: nothing to renew, FORBIDDEN even on a login form.
      const noLogin = await checkResponse(p, await p.goto(`${server.origin}/login-form`), {
        session: false,
      }).catch((err: unknown) => err);
      expect(noLogin).toBeInstanceOf(ForbiddenError);
      expect((noLogin as Error).message).toBe(`${server.origin}/login-form answered HTTP 403`);
    } finally {
      await server.close();
    }
  });
});

describe('files.fetch maps the same statuses the same way', () => {
  /** What one `files.fetch` of `url` (no retries) rejects with, sent with the cookies of `p`'s session. */
  const fetchFrom = async (url: string, p?: Page) => {
    const cookies = async (u: string) => (p ? await p.context().cookies(u) : []);
    const store = makeStore(await tempDir(), { retries: 0, cookies });
    try {
      return await rejection(store.forJob({ key: 'k', signal: new AbortController().signal }).fetch(url));
    } finally {
      await store.close();
    }
  };
  it('403 on a file: AccessDeniedError (looked into by the engine) for a site with login, FORBIDDEN for one without', async () => {
    const server = await startStaticServer(await tempDir());
    try {
      for (const [session, expected] of [
        [true, AccessDeniedError],
        [false, ForbiddenError],
      ] as const) {
        const store = makeStore(await tempDir(), { retries: 0, session });
        const files = store.forJob({ key: 'k', signal: new AbortController().signal });
        expect(await rejection(files.fetch(`${server.origin}/private/a.pdf`))).toBeInstanceOf(expected);
        await store.close();
      }
    } finally {
      await server.close();
    }
  });

  const sticker = (demo: Portal, stock: string) => `${demo.url}/vehicle/${stock}/sticker.pdf`;

  it('404 permanent, 429 with Retry-After, 500 retried, the login redirect a session expiry', async () => {
    const plain = await portal();
    const missing = await fetchFrom(sticker(plain, 'NOPE'), await page(plain));
    expect(missing).toBeInstanceOf(PermanentError);
    expect((missing as Error).message).toBe(`${sticker(plain, 'NOPE')} does not exist (404)`);
    // No session: the portal redirects to its login page, HTML where a PDF was expected.
    expect(await fetchFrom(sticker(plain, 'S00001'))).toBeInstanceOf(SessionExpiredError);

    const limited = await portal({ rateLimitRate: 1, retryAfterSec: 3 });
    const rateLimited = await fetchFrom(sticker(limited, 'S00001'), await page(limited));
    expect(rateLimited).toBeInstanceOf(RateLimitedError);
    expect((rateLimited as RateLimitedError).retryAfterMs).toBe(3000);

    const failing = await portal({ failureRate: 1 });
    const failed = await fetchFrom(sticker(failing, 'S00001'), await page(failing));
    expect((failed as Error).message).toBe(`${sticker(failing, 'S00001')} answered HTTP 500`);
    expect(classify(failed)).toBe('retry');
  });
});

describe('httpStatusError, the one table', () => {
  const what = 'x';
  it.each([
    [200, undefined],
    [304, undefined],
    [404, 'permanent'],
    [410, 'permanent'],
    [400, 'permanent'],
    [401, 'relogin'],
    [403, 'relogin'],
    [408, 'retry'],
    [429, 'backoff'],
    [500, 'retry'],
    [503, 'retry'],
  ])('%i -> %s', (status, decision) => {
    const err = httpStatusError(status, { what });
    expect(err === undefined ? undefined : classify(err)).toBe(decision);
  });

  it('401/403 are permanent (FORBIDDEN) when the portal has no login to renew', () => {
    expect(classify(httpStatusError(403, { what, session: false }))).toBe('permanent');
    expect(httpStatusError(401, { what, session: false })).toMatchObject({ code: 'FORBIDDEN', status: 401 });
  });

  it('401/403 with a login: an AccessDeniedError that keeps its status, a session expiry until looked into', () => {
    const err = httpStatusError(403, { what: 'http://x/a.pdf' });
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(err).toMatchObject({ status: 403, what: 'http://x/a.pdf', code: 'SESSION_EXPIRED' });
    expect((err as Error).message).toBe('http://x/a.pdf answered HTTP 403');
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('Wed, 01 Jan 2025 00:00:00 GMT');
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now)).toBe(60_000);
    const err = httpStatusError(429, { what, retryAfter: new Date(Date.now() + 120_000).toUTCString() });
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(100_000);
    expect((err as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(120_000);
  });
});
