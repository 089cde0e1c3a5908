// The session's cookies for the HTTP client (files, pages read over HTTP), as `context.cookies(url)` gives them,
// without a trip to the browser per request while nothing can have changed them.
import type { BrowserContext, Cookie } from 'playwright';

/** Longest a reading is used: what no event here tells of (a service worker's response) is seen this late at most. */
const KEEP_MS = 1000;

interface Reading {
  context: BrowserContext;
  /** `changes` when it was asked for: a change since makes it stale. */
  changes: number;
  at: number;
  cookies: Promise<Cookie[]>;
}

/**
 * `cookies(url)` answers as `context().cookies(url)` does: Playwright reads every cookie of the context from
 * Chromium and keeps those that match the URL (cookieMatchesURL below is its rule). A reading of all of them is
 * kept and matched here instead, for at most KEEP_MS, and only while no page of the context is open: a page can set
 * cookies (its responses, its scripts), which nothing outside the browser would see. A run whose pages are all read
 * over HTTP has none open after its login, so its reads and files share one reading a second instead of making a
 * round trip each (measured 5 ms median, 16 ms p90 on a busy machine). Cookies the HTTP client is given go through
 * `add`, which drops the reading; another context (the pool moved on) starts a new one.
 */
export class SessionCookies {
  readonly #context: () => BrowserContext;
  readonly #watched = new WeakSet<BrowserContext>();
  /** Pages open per context. */
  readonly #open = new WeakMap<BrowserContext, number>();
  /** Bumped by every page opened or closed and every cookie added. */
  #changes = 0;
  #reading: Reading | undefined;

  /** `context()`: the session's current browser context (a pool moves to fresh ones). */
  constructor(context: () => BrowserContext) {
    this.#context = context;
  }

  async cookies(url: string): Promise<Cookie[]> {
    const context = this.#context();
    this.#watch(context);
    if ((this.#open.get(context) ?? 0) > 0) return context.cookies(url);
    const now = Date.now();
    const reading = this.#reading;
    let cookies: Cookie[];
    if (
      reading &&
      reading.context === context &&
      reading.changes === this.#changes &&
      now - reading.at < KEEP_MS
    ) {
      cookies = await reading.cookies;
    } else {
      const fresh: Reading = { context, changes: this.#changes, at: now, cookies: context.cookies() };
      this.#reading = fresh;
      // A failed reading is not kept: the next request asks again.
      fresh.cookies.catch(() => {
        if (this.#reading === fresh) this.#reading = undefined;
      });
      cookies = await fresh.cookies;
    }
    const target = new URL(url);
    const nowS = Date.now() / 1000;
    // Chromium leaves expired cookies out of a reading; one kept for a while must too.
    return cookies.filter((c) => (c.expires === -1 || c.expires > nowS) && cookieMatchesURL(c, target));
  }

  /** Gives the browser cookies the HTTP client was set (`context.addCookies`); the next request reads anew. */
  async add(cookies: Parameters<BrowserContext['addCookies']>[0]): Promise<void> {
    this.#changes += 1;
    try {
      await this.#context().addCookies(cookies);
    } finally {
      this.#changes += 1;
    }
  }

  /** Counts the context's pages from now on, those already open included. */
  #watch(context: BrowserContext): void {
    if (this.#watched.has(context)) return;
    this.#watched.add(context);
    const opened = (page: { once(event: 'close', fn: () => void): unknown }) => {
      this.#changes += 1;
      this.#open.set(context, (this.#open.get(context) ?? 0) + 1);
      page.once('close', () => {
        this.#changes += 1;
        this.#open.set(context, (this.#open.get(context) ?? 1) - 1);
      });
    };
    for (const page of context.pages()) opened(page);
    context.on('page', opened);
  }
}

/** Playwright's rule for `context.cookies(url)` (its cookieMatchesURL, 1.65): domain, path, and secure. */
export function cookieMatchesURL(cookie: Cookie, url: URL): boolean {
  if (!domainMatches(url.hostname, cookie.domain)) return false;
  if (!pathMatches(url.pathname, cookie.path)) return false;
  if (cookie.secure && url.protocol !== 'https:' && !isLocalHostname(url.hostname)) return false;
  return true;
}

function domainMatches(hostname: string, cookieDomain: string): boolean {
  if (hostname === cookieDomain) return true;
  if (!cookieDomain.startsWith('.')) return false;
  return `.${hostname}`.endsWith(cookieDomain);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function isLocalHostname(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname)
  );
}
