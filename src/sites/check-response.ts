// `checkResponse`: what a page navigation's response means for the item, with the same status mapping as files,
// and the one test of "is this a login page" that a 401/403 is judged by.
import type { Page, Response } from 'playwright';
import { SessionExpiredError } from '../errors.js';
import { AccessDeniedError, forbiddenError, httpStatusError } from '../files/http-status.js';
import type { Site } from './site.js';

export interface CheckResponseOptions {
  /** Names what was opened in the error (`vehicle S00017`). @default the response's URL */
  what?: string;
  /**
   * The site's logged-out test: true after the navigation means the session expired. It also judges a 401/403:
   * a login page is an expired session, any other page a `ForbiddenError`. Without it, a 401/403 page with a
   * visible password field is taken for the login page.
   */
  loggedOut?: ((page: Page) => Promise<boolean> | boolean) | undefined;
  /** The portal has a login, so a 401/403 may mean the session ended; false makes them permanent. @default true */
  session?: boolean;
}

/**
 * Throws the error a navigation's outcome means, or returns when the page is usable:
 * logged out (the site's `loggedOut(page)`) -> `SessionExpiredError`; 404/410 -> `PermanentError`;
 * 429 -> `RateLimitedError` with the Retry-After (seconds or an HTTP date); 5xx/408 -> a retried error;
 * 401/403 -> `SessionExpiredError` on a login page, else `ForbiddenError` (code `FORBIDDEN`, permanent, no
 * re-login); any other 4xx -> `PermanentError`.
 * `response` is what `page.goto()` or `page.waitForNavigation()` returned (null for a same-document navigation).
 */
export async function checkResponse(
  page: Page,
  response: Response | null,
  options: CheckResponseOptions = {},
): Promise<void> {
  const { loggedOut } = options;
  await throwForDocument({
    what: options.what ?? response?.url() ?? page.url(),
    verb: 'opening',
    status: response?.status() ?? null,
    retryAfter: async () => (await response?.headerValue('retry-after')) ?? undefined,
    loggedOut: loggedOut && (() => loggedOut(page)),
    // The site's own test said "not logged out"; without one, the page's password field decides.
    loginForm: () => showsLoginForm(page),
    session: options.session ?? true,
  });
}

/** A document as `throwForDocument` judges it: a page after a navigation, or a page read over HTTP. */
export interface DocumentOutcome {
  /** Names what was opened in the error (`vehicle S00017`, a URL). */
  what: string;
  /** `opening` (a page) or `reading` (over HTTP), for the logged-out message. */
  verb: string;
  /** Null: no response (a same-document navigation). */
  status: number | null;
  retryAfter(): Promise<string | undefined>;
  /** The site's logged-out test on this document, if it has one. */
  loggedOut: (() => Promise<boolean> | boolean) | undefined;
  /** Whether the document shows a login form (null: it cannot be read). */
  loginForm(): Promise<boolean | null> | boolean | null;
  /** The portal has a login (a 401/403 may mean the session ended). */
  session: boolean;
}

/** The one mapping of a document's outcome to the item's error, for pages and HTTP reads alike (`checkResponse`). */
export async function throwForDocument(doc: DocumentOutcome): Promise<void> {
  const { what, status } = doc;
  if (doc.loggedOut && (await doc.loggedOut()))
    throw new SessionExpiredError(`redirected to the login page while ${doc.verb} ${what}`);
  if (status === null) return;
  if ((status === 401 || status === 403) && doc.session) {
    const loginForm = doc.loggedOut ? false : await doc.loginForm();
    if (loginForm === null) throw new AccessDeniedError(status, what);
    if (loginForm) throw new SessionExpiredError(`${what} answered HTTP ${status} with a login form`);
    throw forbiddenError(status, what, true);
  }
  const error = httpStatusError(status, {
    what,
    retryAfter: status === 429 ? await doc.retryAfter() : undefined,
    session: doc.session,
  });
  if (error) throw error;
}

/** `checkResponse` bound to one page and one site, as `job.checkResponse` and the listing's context give it. */
export type BoundCheckResponse = (response: Response | null, what?: string) => Promise<void>;

export function checkResponseFor(site: Pick<Site, 'login' | 'loggedOut'>, page: Page): BoundCheckResponse {
  const loggedOut = site.loggedOut?.bind(site);
  return (response, what) =>
    checkResponse(page, response, {
      ...(what === undefined ? {} : { what }),
      loggedOut,
      session: site.login !== undefined,
    });
}

/**
 * Whether `page` is the portal's login page, for a site with a login: its `loggedOut(page)`, or without one, a
 * visible password field. Null when the page cannot be read (closed, navigating): nobody can tell.
 */
export async function isLoginPage(
  site: Pick<Site, 'login' | 'loggedOut'>,
  page: Page,
): Promise<boolean | null> {
  if (!site.login) return false;
  if (site.loggedOut) return site.loggedOut(page).catch(() => null);
  return showsLoginForm(page);
}

/**
 * A visible password field: what a login page has and a page for a logged-in user almost never does. Read with
 * one `page.evaluate` (no locator: see demo-vehicles.ts). Null when the page cannot be read.
 */
export async function showsLoginForm(page: Page): Promise<boolean | null> {
  return page
    .evaluate(() =>
      Array.from(document.querySelectorAll('input[type=password]')).some(
        (input) => input.getClientRects().length > 0,
      ),
    )
    .catch(() => null);
}
