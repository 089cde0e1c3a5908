// The site adapter interface: the only code a user writes for a new portal.
import type { Page } from 'playwright';
import { LoginError } from '../errors.js';
import type { Files, SavedFile } from '../files/types.js';
import type { Read } from './adaptive-read.js';
import type { BoundCheckResponse } from './check-response.js';
import type { HtmlPage } from './html-page.js';
import type { HttpReader } from './http-reader.js';

export interface Credentials {
  username: string;
  password: string;
  /** PAGEPOOL_TOTP_SECRET: the seed of the portal's one-time codes, for `totp(creds.totpSecret)`. */
  totpSecret?: string;
}

/** One item's work, handed to `site.process`. */
export interface Job<Ref> {
  ref: Ref;
  key: string;
  /** The portal's base URL (`--base-url`), without a trailing slash. */
  baseUrl: string;
  /**
   * A logged-in page from the pool; leave it on any URL, the pool resets it. With the site's `pageOnDemand`, only
   * after `await openPage()` (before, reading it throws).
   */
  page: Page;
  /** The item's page: `page` itself, or with the site's `pageOnDemand` taken from the pool now (once). */
  openPage(): Promise<Page>;
  /** Pages read over HTTP in the browser's session, parsed, no browser page needed: `await http.html(url)`. */
  http: HttpReader;
  /**
   * What `extract` finds in the page at `url`: over HTTP when the server's HTML has it, else on the browser page
   * once its scripts ran; each kind of read learns which way to start with. Null when neither had it.
   */
  read: Read;
  /** Aborted at the task's deadline or on shutdown: pass it on, check it between steps. */
  signal: AbortSignal;
  /** 1 for the first try. */
  attempt: number;
  files: Files;
  /** Done with the page: it goes back to the pool now while the item's downloads go on. `page` is then off limits. */
  /**
   * Done with the page: the item enters the download stage (`--downloads`), waiting for room there while it is full,
   * and the page goes back to the pool; resolves then (never rejects). Files started after this call wait for that
   * room too. `page` is then off limits.
   */
  releasePage(): Promise<void>;
  /** Let images, fonts and stylesheets load on this page (before rendering it to an image). */
  unblock(): void;
  /** Tell the progress display what the item is doing ("search", "detail", "download"). */
  stage(name: string): void;
  log(message: string): void;
  /** `checkResponse` for this page and site: `await checkResponse(await page.goto(url), 'vehicle S00017')`. */
  checkResponse: BoundCheckResponse;
}

/** What `site.list` is given: a page of its own (logged in when the site has `login`), and the run's signal. */
export interface ListContext {
  /** The portal's base URL (`--base-url`), without a trailing slash. */
  baseUrl: string;
  /**
   * The listing's own logged-in page. With the site's `pageOnDemand`, only after `await openPage()` (before,
   * reading it throws): a listing read over HTTP then never opens one.
   */
  page: Page;
  /** The listing's page: `page` itself, or with the site's `pageOnDemand` opened now (once). */
  openPage(): Promise<Page>;
  /** Listing pages read over HTTP in the same session, as `job.http`. */
  http: HttpReader;
  /** As `job.read`; its browser page is the listing's `page`. */
  read: Read;
  /** Aborted on shutdown: check it between pages of the listing. */
  signal: AbortSignal;
  log(message: string): void;
  /** `checkResponse` for this page and site, as in `process`. */
  checkResponse: BoundCheckResponse;
}

export interface Site<Ref = unknown> {
  name: string;
  /** Stable id of an item: the checkpoint and dedupe use it. Also a safe folder name for failure snapshots. */
  key(ref: Ref): string;
  /**
   * Log in and accept any licence; throw `LoginError` when the portal refuses the credentials. A site without
   * `login` needs no credentials: its pages start with an empty session. `'manual'`: only a person can log in
   * (a captcha, single sign-on, a hardware key): `pagepool login` opens a browser window for them and saves the
   * session, runs start from it, and an expired one stops the run (exit 2) with the line that says so. Such a
   * site needs `loggedOut`.
   */
  login?: ((page: Page, creds: Credentials, baseUrl: string) => Promise<void>) | 'manual';
  /** Where `pagepool login` opens the portal for a person, relative to the base URL (`login`). @default the base URL */
  loginUrl?: string;
  /**
   * Every item, lazily (pages of the inventory as they are needed). The old form `list(page, signal, baseUrl)`
   * (a function of two or more parameters) still works in this release and is deprecated.
   */
  list(context: ListContext): AsyncIterable<Ref>;
  /** Produce the item's files through `job.files`. Throw `PermanentError` for items that can never work. */
  process(job: Job<Ref>): Promise<void>;
  /** True when the page shows the portal has logged us out (a login form, a redirect). */
  loggedOut?(page: Page): Promise<boolean>;
  /**
   * `loggedOut` for a page read over HTTP (`http.html`, `read`). Without it, `loggedOut` itself is run on the
   * HtmlPage, which has a page's `url()`, `title()`, `content()` and `evaluate()`; a `loggedOut` that needs more
   * (a locator) must have this.
   */
  loggedOutHtml?(page: HtmlPage): boolean | Promise<boolean>;
  /**
   * Items start without a browser page: `job.http`/`job.read` need none, and `await job.openPage()` (or a read that
   * falls back to the page) takes one from the pool when needed. For portals whose pages mostly read over HTTP:
   * a page is what costs on a heavy portal. @default false (each item holds a page from its start)
   */
  pageOnDemand?: boolean;
  /**
   * Run JavaScript on item pages (`job.page`, and `job.read` when it goes to the page). false runs them with
   * JavaScript disabled (inline and external scripts; `page.evaluate` still works), for a server-rendered portal
   * whose scripts only decorate its detail pages: they load without them, for less CPU. The login and the listing
   * always run scripts. @default true
   */
  scripts?: boolean;
  /** Parse one ref from `--refs` (a JSONL value or a CSV row as an object). Default: the value as is. */
  parseRef?(value: unknown): Ref;
  /**
   * How a refresh (`--refresh-after`) pulls a done item again. `'page'`: through `process`, as the first time.
   * `'files'`: the item's file URLs are stable, so each recorded URL is asked again directly (a conditional request
   * with the session's cookies, no page); the item goes through `process` only when one answers 401, 403, 404, 410 or
   * a login page, or when a file of it was not fetched by URL (a screenshot, a browser download). @default 'page'
   */
  refresh?: 'page' | 'files';
}

/**
 * The page pool's login step for `site`, or undefined for a site without `login`. For a `'manual'` login it
 * fails with the line that says a person must log in (src/sessions/saved-session.ts names the session file).
 */
export function siteLogin<Ref>(
  site: Site<Ref>,
  creds: Credentials,
  baseUrl: string,
): ((page: Page) => Promise<void>) | undefined {
  const login = site.login;
  if (login === undefined) return undefined;
  if (login === 'manual') {
    return async () => {
      throw new LoginError(
        `The portal needs a person to log in (site ${site.name}): run \`pagepool login\`, which saves the session runs start from`,
      );
    };
  }
  return (page) => login.call(site, page, creds, baseUrl);
}

/** Identity function that gives an adapter object its types. */
export function defineSite<Ref>(site: Site<Ref>): Site<Ref> {
  return site;
}

export type { Files, HtmlPage, HttpReader, Read, SavedFile };
