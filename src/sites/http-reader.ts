// `job.http` and the listing's `http`: a page read over HTTP in the browser's session (the files' request path),
// parsed into an HtmlPage, and judged as `checkResponse` judges a page: logged out, 401/403, 404, 429, 5xx.
import type { Page } from 'playwright';
import { ConfigError, TransferError } from '../errors.js';
import type { HtmlResponse } from '../files/html-read.js';
import { header } from '../files/http-download.js';
import { throwForDocument } from './check-response.js';
import { HtmlPage } from './html-page.js';
import type { Site } from './site.js';

export interface HttpReadOptions {
  /** Names the page in errors (`vehicle S00017`). @default the URL, with the redirects it went through */
  what?: string;
  /** Extra request headers; they override the browser's (the session's cookies are always sent). */
  headers?: Record<string, string>;
}

export interface HttpReader {
  /**
   * GETs `url` (absolute, or relative to the base URL) with the browser's headers and the session's cookies, and
   * resolves with its HTML parsed into an HtmlPage. Throws as `checkResponse` does for a page: the site's logged-out
   * test true -> `SessionExpiredError`; 404/410 -> `PermanentError`; 429 -> `RateLimitedError` (Retry-After);
   * 5xx -> retried; 401/403 -> a session expiry on a login page, else `ForbiddenError`.
   */
  html(url: string, options?: HttpReadOptions): Promise<HtmlPage>;
}

/** How the reader gets a page's bytes: `FileStore.readHtml` in a run. */
export type FetchHtml = (
  url: string,
  options: { signal: AbortSignal; headers?: Record<string, string> },
) => Promise<HtmlResponse>;

export interface HttpReaderContext {
  site: Pick<Site, 'name' | 'login' | 'loggedOut' | 'loggedOutHtml'>;
  baseUrl: string;
  fetchHtml: FetchHtml;
  signal: AbortSignal;
  /** Told of every page read (whatever its status): the engine keeps its URL for a later look at the session. */
  onRead?: (page: HtmlPage) => void;
  /** How a read is named in errors when the caller gives no `what`, from its URL and redirects. @default as is */
  name?: (where: string) => string;
  /** A read whose answer (headers and body) takes longer fails, retried as a hung page is (`--page-timeout`). */
  timeoutMs?: number;
}

export function httpReader({
  site,
  baseUrl,
  fetchHtml,
  signal,
  onRead,
  name,
  timeoutMs,
}: HttpReaderContext): HttpReader {
  const loggedOut = htmlLoggedOut(site);
  return {
    async html(url, options = {}) {
      const target = absoluteUrl(url, baseUrl);
      const deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
      let response: HtmlResponse;
      try {
        response = await fetchHtml(target, {
          signal: deadline ? AbortSignal.any([signal, deadline]) : signal,
          ...(options.headers ? { headers: options.headers } : {}),
        });
      } catch (err) {
        if (!deadline?.aborted || signal.aborted) throw err;
        // Retried by the attempt policy, as a page whose navigation timed out.
        throw new TransferError(
          `${options.what ?? (name ? name(target) : target)} did not answer within ${timeoutMs! / 1000} s (--page-timeout)`,
          { url: target, chain: [target], reason: 'timeout' },
          { cause: err },
        );
      }
      const page = new HtmlPage(response.text, response.url, response.status);
      onRead?.(page);
      await throwForDocument({
        what: options.what ?? (name ? name(response.where) : response.where),
        verb: 'reading',
        status: response.status,
        retryAfter: async () => header(response.headers, 'retry-after'),
        loggedOut: loggedOut && (() => loggedOut(page)),
        loginForm: () => showsLoginFormHtml(page),
        session: site.login !== undefined,
      });
      return page;
    },
  };
}

/**
 * The site's logged-out test for an HtmlPage: `loggedOutHtml(page)`, else `loggedOut(page)` run on the HtmlPage
 * (its `url()`, `title()`, `content()` and `evaluate()` are a page's); undefined for a site with neither. A
 * `loggedOut` that needs more of a Playwright page (a locator) cannot judge HTML: a ConfigError says what to add.
 */
export function htmlLoggedOut(
  site: Pick<Site, 'name' | 'loggedOut' | 'loggedOutHtml'>,
): ((page: HtmlPage) => Promise<boolean>) | undefined {
  const { loggedOut, loggedOutHtml } = site;
  if (loggedOutHtml) return async (page) => Boolean(await loggedOutHtml.call(site, page));
  if (!loggedOut) return undefined;
  return async (page) => {
    try {
      return Boolean(await loggedOut.call(site, page as unknown as Page));
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      throw new ConfigError(
        `Site ${site.name}: its loggedOut(page) cannot judge a page read over HTTP (${err.message}): give the site loggedOutHtml(page), which gets the HtmlPage`,
        { cause: err },
      );
    }
  };
}

/** pagepool's own login-page test on HTML: a password field (not hidden), as `showsLoginForm` on a page. */
export function showsLoginFormHtml(page: HtmlPage): boolean {
  return page
    .querySelectorAll('input[type=password]')
    .some(
      (input) =>
        input.closest('[hidden]') === null && !/display:\s*none/i.test(input.getAttribute('style') ?? ''),
    );
}

/** `url` as an absolute http(s) URL, relative ones against the base URL. */
export function absoluteUrl(url: string, baseUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url, `${baseUrl}/`);
  } catch (err) {
    throw new TypeError(`Expected \`url\` to be a URL, got \`${url}\``, { cause: err });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`Expected \`url\` to be http or https, got \`${url}\``);
  }
  return parsed.href;
}
