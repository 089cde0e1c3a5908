// `checkResponse`: what a page navigation's response means for the item, with the same status mapping as files.
import type { Page, Response } from 'playwright';
import { SessionExpiredError } from '../errors.js';
import { httpStatusError } from '../files/http-status.js';
import type { Site } from './site.js';

export interface CheckResponseOptions {
  /** Names what was opened in the error (`vehicle S00017`). @default the response's URL */
  what?: string;
  /** The site's logged-out test: true after the navigation means the session expired. */
  loggedOut?: ((page: Page) => Promise<boolean> | boolean) | undefined;
  /** The portal has a login, so a 401/403 means the session ended; false makes them permanent. @default true */
  session?: boolean;
}

/**
 * Throws the error a navigation's outcome means, or returns when the page is usable:
 * logged out (the site's `loggedOut(page)`) -> `SessionExpiredError`; 404/410 -> `PermanentError`;
 * 429 -> `RateLimitedError` with the Retry-After (seconds or an HTTP date); 5xx/408 -> a retried error;
 * 401/403 -> `SessionExpiredError` (permanent with `session: false`); any other 4xx -> `PermanentError`.
 * `response` is what `page.goto()` or `page.waitForNavigation()` returned (null for a same-document navigation).
 */
export async function checkResponse(
  page: Page,
  response: Response | null,
  options: CheckResponseOptions = {},
): Promise<void> {
  const what = options.what ?? response?.url() ?? page.url();
  if (options.loggedOut && (await options.loggedOut(page)))
    throw new SessionExpiredError(`redirected to the login page while opening ${what}`);
  if (!response) return;
  const error = httpStatusError(response.status(), {
    what,
    retryAfter: (await response.headerValue('retry-after')) ?? undefined,
    session: options.session ?? true,
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
