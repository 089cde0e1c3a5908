// What an unclassified error of an attempt means, read from the page it failed on.
import type { Page } from 'playwright';
import type { PagePool } from '../browser/page-pool.js';
import { describe, PagepoolError, SessionExpiredError } from '../errors.js';
import { checkResponse } from '../sites/check-response.js';
import type { Site } from '../sites/site.js';

/**
 * An unclassified error, read from the page: one that shows the login form is a session expiry; a navigation
 * Chromium failed because the answer was an error status with no body gets that status's meaning (a 429 with
 * its Retry-After, a 503 retried, a 404 for good), as `checkResponse` would have given it.
 */
export async function explain<Ref>(
  site: Site<Ref>,
  page: Page,
  err: unknown,
  pool: PagePool,
): Promise<unknown> {
  if (err instanceof PagepoolError || page.isClosed()) return err;
  const document = pool.lastDocument(page);
  if (document && document.status() >= 400 && /net::ERR_HTTP_RESPONSE_CODE_FAILURE/.test(describe(err))) {
    try {
      await checkResponse(page, document, { what: document.url(), session: site.login !== undefined });
    } catch (mapped) {
      if (mapped instanceof Error && mapped.cause === undefined) mapped.cause = err;
      return mapped;
    }
  }
  if (!site.loggedOut) return err;
  const loggedOut = await site.loggedOut(page).catch(() => false);
  return loggedOut ? new SessionExpiredError('the portal logged us out', { cause: err }) : err;
}
