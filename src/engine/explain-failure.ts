// What a failed attempt's error means, read from the portal before the queue acts on it: an error on a page that
// shows the login form is an expired session, and a file's "session expired" (a 401/403, an HTML page where a file
// was expected) is checked on a page of its own before it can cost a re-login.
import type { Page } from 'playwright';
import type { PagePool } from '../browser/page-pool.js';
import { describe, FileInvalidError, PagepoolError, SessionExpiredError } from '../errors.js';
import { AccessDeniedError, forbiddenError } from '../files/http-status.js';
import { checkResponse, isLoginPage } from '../sites/check-response.js';
import type { Site } from '../sites/site.js';

/** Session expiries a file reported: nothing of a page was looked at for them yet. */
const fromFiles = new WeakSet<object>();

/** `files.fetch`'s promise, with its session expiry (if it fails with one) marked as a file's. */
export function markFileFailure<T>(fetching: Promise<T>): Promise<T> {
  return fetching.catch((err: unknown) => {
    if (err instanceof SessionExpiredError) fromFiles.add(err);
    throw err;
  });
}

/**
 * One look at the session: a page of its own opens a URL that needs the session and the site says whether it shows
 * the login page. Looks asked for while one is under way share its answer (one session, one answer).
 */
export class SessionLook {
  readonly #pool: PagePool;
  readonly #site: Pick<Site, 'login' | 'loggedOut'>;
  #flight: Promise<boolean | null> | null = null;

  constructor(pool: PagePool, site: Pick<Site, 'login' | 'loggedOut'>) {
    this.#pool = pool;
    this.#site = site;
  }

  /** True: logged out; false: still logged in; null: the look failed (the portal did not answer, the run ends). */
  loggedOut(url: string): Promise<boolean | null> {
    this.#flight ??= this.#look(url).finally(() => {
      this.#flight = null;
    });
    return this.#flight;
  }

  async #look(url: string): Promise<boolean | null> {
    let page: Page | undefined;
    try {
      page = await this.#pool.extraPage();
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      return await isLoginPage(this.#site, page);
    } catch {
      return null;
    } finally {
      // Not awaited: the answer is in, and a close can hang after an aborted navigation.
      void page?.close().catch(() => {});
    }
  }
}

export interface FailureContext<Ref> {
  site: Site<Ref>;
  baseUrl: string;
  pool: PagePool;
  look: SessionLook;
  /** The attempt's page while it still holds it (not after `releasePage()`). */
  page: Page | null;
  /** The last page the attempt opened: a file's session is looked at there (else at the base URL). */
  lastUrl: string | undefined;
  /** A login started or finished since the attempt started: the session its error met is gone anyway. */
  sessionChanged(): boolean;
}

/**
 * The error the queue should act on for `err`:
 * - a file's session expiry is looked into on a page of its own (at `lastUrl`): a login page there is the
 *   expiry (re-login); a session still logged in makes a 401/403 the item's `ForbiddenError` (permanent, no
 *   re-login) and an HTML page instead of the file a plain retried error (only for a site with `loggedOut`:
 *   without it, only a 401/403 must be told apart, by the login page's password field);
 * - an unclassified error on a page is read from that page (`explainOnPage`).
 */
export async function explainFailure<Ref>(err: unknown, ctx: FailureContext<Ref>): Promise<unknown> {
  if (err instanceof SessionExpiredError && fromFiles.has(err)) return explainFileSession(err, ctx);
  if (ctx.page && !ctx.page.isClosed()) return explainOnPage(ctx.site, ctx.page, err, ctx.pool);
  return err;
}

async function explainFileSession<Ref>(err: SessionExpiredError, ctx: FailureContext<Ref>): Promise<unknown> {
  const denied = err instanceof AccessDeniedError;
  // A session expiry that is not a 401/403 stands unless the site can say otherwise: pagepool's own test (a
  // password field) is only good enough to tell a refusal from an expiry, not to overrule the file's answer.
  if (!denied && !ctx.site.loggedOut) return err;
  if (ctx.sessionChanged()) return err;
  const url = ctx.lastUrl ?? ctx.baseUrl;
  const loggedOut = await ctx.look.loggedOut(url);
  if (loggedOut !== false) return err;
  if (denied) return forbiddenError(err.status, err.what, true, { cause: err });
  return new FileInvalidError(
    `${describe(err)}, while the session is still logged in (${url} shows no login)`,
    {
      cause: err,
    },
  );
}

/**
 * An unclassified error, read from the page: one that shows the login form is a session expiry; a navigation
 * Chromium failed because the answer was an error status with no body gets that status's meaning (a 429 with
 * its Retry-After, a 503 retried, a 404 for good, a 403 forbidden), as `checkResponse` would have given it.
 */
async function explainOnPage<Ref>(
  site: Site<Ref>,
  page: Page,
  err: unknown,
  pool: PagePool,
): Promise<unknown> {
  if (err instanceof PagepoolError) return err;
  const document = pool.lastDocument(page);
  if (document && document.status() >= 400 && /net::ERR_HTTP_RESPONSE_CODE_FAILURE/.test(describe(err))) {
    try {
      await checkResponse(page, document, {
        what: document.url(),
        loggedOut: site.loggedOut?.bind(site),
        session: site.login !== undefined,
      });
    } catch (mapped) {
      if (mapped instanceof Error && mapped.cause === undefined) mapped.cause = err;
      return mapped;
    }
  }
  if (!site.loggedOut) return err;
  const loggedOut = await site.loggedOut(page).catch(() => false);
  return loggedOut ? new SessionExpiredError('the portal logged us out', { cause: err }) : err;
}
