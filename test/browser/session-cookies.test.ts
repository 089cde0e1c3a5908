// The HTTP client's view of the session's cookies (SessionCookies) against a real Chromium context: the same
// answer as `context.cookies(url)`, one reading shared while no page is open, none kept while one is.
import type { Browser, BrowserContext } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionCookies } from '../../src/browser/session-cookies.js';
import { launchTestBrowser } from '../helpers/chromium.js';

let browser: Browser;

beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const inAnHour = Math.floor(Date.now() / 1000) + 3600;

/** A context with cookies of every kind the URL rule tells apart, and a count of its real readings. */
async function cookieContext(): Promise<{ context: BrowserContext; readings: () => number }> {
  const context = await browser.newContext();
  await context.addCookies([
    { name: 'host', value: '1', domain: 'portal.example', path: '/', expires: inAnHour },
    { name: 'domain', value: '2', domain: '.portal.example', path: '/', expires: inAnHour },
    { name: 'docs', value: '3', domain: 'portal.example', path: '/docs', expires: -1 },
    { name: 'secure', value: '4', domain: 'portal.example', path: '/', secure: true, expires: -1 },
    { name: 'other', value: '5', domain: 'other.test', path: '/', expires: -1 },
    { name: 'local', value: '6', domain: '127.0.0.1', path: '/', secure: true, expires: -1 },
  ]);
  let count = 0;
  const real = context.cookies.bind(context);
  context.cookies = ((...args: Parameters<BrowserContext['cookies']>) => {
    count += 1;
    return real(...args);
  }) as BrowserContext['cookies'];
  return { context, readings: () => count };
}

const names = (cookies: Array<{ name: string }>) => cookies.map((c) => c.name).sort();

describe('SessionCookies', () => {
  it('answers as context.cookies(url) does, for every URL, from one reading', async () => {
    const { context, readings } = await cookieContext();
    try {
      const urls = [
        'http://portal.example/a.pdf',
        'https://portal.example/a.pdf',
        'https://www.portal.example/x',
        'http://sub.portal.example/',
        'http://portal.example/docs/1.pdf',
        'http://portal.example/docsx',
        'http://other.test/',
        'http://127.0.0.1:8080/file',
      ];
      const expected = [];
      for (const url of urls) expected.push(names(await context.cookies(url)));
      const before = readings();
      const cookies = new SessionCookies(() => context);
      const got = [];
      for (const url of urls) got.push(names(await cookies.cookies(url)));
      expect(got).toEqual(expected);
      expect(got[0]).toEqual(['domain', 'host']);
      expect(got[4]).toEqual(['docs', 'domain', 'host']);
      expect(got[7]).toEqual(['local']); // secure, but loopback counts as secure
      expect(readings() - before).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('reads anew after add(), after a second, and for another context', async () => {
    const { context, readings } = await cookieContext();
    const other = await browser.newContext();
    let current = context;
    try {
      const cookies = new SessionCookies(() => current);
      const url = 'https://portal.example/';
      await cookies.cookies(url);
      await cookies.add([{ name: 'rotated', value: 'new', domain: 'portal.example', path: '/' }]);
      expect(names(await cookies.cookies(url))).toContain('rotated');
      expect(readings()).toBe(2);
      await cookies.cookies(url);
      expect(readings()).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await cookies.cookies(url);
      expect(readings()).toBe(3);
      current = other;
      expect(await cookies.cookies(url)).toEqual([]);
    } finally {
      await context.close();
      await other.close();
    }
  });

  it('leaves out a kept cookie once it has expired', async () => {
    const context = await browser.newContext();
    try {
      const soon = Date.now() / 1000 + 0.6;
      await context.addCookies([
        { name: 'brief', value: '1', domain: 'portal.example', path: '/', expires: soon },
        { name: 'long', value: '2', domain: 'portal.example', path: '/', expires: inAnHour },
      ]);
      const cookies = new SessionCookies(() => context);
      expect(names(await cookies.cookies('http://portal.example/'))).toEqual(['brief', 'long']);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(names(await cookies.cookies('http://portal.example/'))).toEqual(['long']);
    } finally {
      await context.close();
    }
  });

  it('keeps no reading while a page is open: a cookie a script sets is seen at once', async () => {
    const { context, readings } = await cookieContext();
    try {
      const cookies = new SessionCookies(() => context);
      const url = 'http://127.0.0.1:1/';
      await cookies.cookies(url);
      const page = await context.newPage();
      // A page of the portal's origin whose script sets a cookie (served by route: no server needed).
      await page.route('http://127.0.0.1:1/**', (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: '<script>document.cookie = "fromScript=1"</script>',
        }),
      );
      const before = readings();
      await page.goto(url);
      expect(names(await cookies.cookies(url))).toContain('fromScript');
      await cookies.cookies(url);
      expect(readings() - before).toBe(2); // one each while the page is open
      await page.close();
      await cookies.cookies(url);
      await cookies.cookies(url);
      expect(readings() - before).toBe(3); // then one reading serves both
    } finally {
      await context.close();
    }
  });
});
