// A machine's saved session: the storage state its first browser context starts from, the look at the portal
// that says whether it still works, and the saves: after each login a page confirmed, and at the end when the
// portal changed the session's cookies meanwhile. The page pool knows no files and the site knows no saving:
// this module is the glue, handed to the pool as its options.
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright';
import type { PagePool, PagePoolOptions } from '../browser/page-pool.js';
import { describe, LoginError } from '../errors.js';
import { playwrightProxy } from '../proxy/proxy-settings.js';
import { type Credentials, type Site, siteLogin } from '../sites/site.js';
import { readSessionFile, type StorageState, writeSessionFile } from './session-file.js';
import type { SessionSettings } from './session-settings.js';

export interface PoolSessionOptions<Ref> extends SessionSettings {
  site: Site<Ref>;
  baseUrl: string;
  credentials: Credentials;
  warn(message: string): void;
}

export interface PoolSession {
  /** The page pool's options: its login (saving after it), the session to start from, its contexts' proxy. */
  pool: Pick<PagePoolOptions, 'login' | 'restore' | 'contextOptions'>;
  /**
   * Before the pool closes: when the portal changed the session's cookies since it was read or saved (it rotated
   * the session id, or slid a cookie's expiry), a new page looks at the portal and, logged in, the session is
   * saved, so the next run starts from the cookies that work. Never throws; a failure is a warning.
   */
  keep(pool: PagePool): Promise<void>;
}

/**
 * The page pool's options for `site`'s session: start from the saved session when there is one (and
 * `freshSession` is not set), replace it after every login a page confirmed, and send every context through the
 * proxy.
 */
export async function poolSession<Ref>(options: PoolSessionOptions<Ref>): Promise<PoolSession> {
  const { site, baseUrl, credentials, warn } = options;
  const contextOptions: BrowserContextOptions = options.proxy
    ? { proxy: playwrightProxy(options.proxy) }
    : {};
  const file = options.sessionFile ?? null;
  // A site without a login has no session to keep; without a file, every run logs in as it always did.
  if (site.login === undefined || file === null) {
    return { pool: { login: siteLogin(site, credentials, baseUrl), contextOptions }, keep: async () => {} };
  }
  const read = options.freshSession ? null : await readSessionFile(file);
  if (read && 'problem' in read) warn(`the saved session ${file} is not used: ${read.problem}`);
  const state: StorageState | null = read && 'state' in read ? read.state : null;
  const saver = new SessionSaver(file, site, warn, state);
  // Without credentials (a fleet machine given only the session file) an expired session cannot be renewed here.
  const noCredentials = !credentials.username || !credentials.password;
  const login =
    site.login === 'manual'
      ? async () => {
          throw manualLoginNeeded(site, file, state !== null);
        }
      : noCredentials
        ? async () => {
            throw new LoginError(
              `The saved session ${state === null ? `in ${file} is missing` : 'has expired'} and there are no credentials to log in again: set PAGEPOOL_USERNAME and PAGEPOOL_PASSWORD, or run \`pagepool login\``,
            );
          }
        : siteLogin(site, credentials, baseUrl);
  return {
    pool: {
      login: login && ((page) => saver.afterLogin(page, login)),
      contextOptions,
      ...(state === null
        ? {}
        : {
            restore: {
              storageState: state,
              isLoggedIn: (page: Page) => stillLoggedIn(site, baseUrl, page),
            },
          }),
    },
    keep: (pool) => saver.keep(pool, (page) => stillLoggedIn(site, baseUrl, page)),
  };
}

/** The one line a run stops with when only a person can log in and there is no working session. */
export function manualLoginNeeded(site: Site<unknown>, file: string, hadSession: boolean): LoginError {
  const what = hadSession ? 'The saved session has expired' : `No session is saved in ${file}`;
  return new LoginError(
    `${what} and the portal needs a person to log in (site ${site.name}): run \`pagepool login\` with the same --site, --base-url and --session, then run this again`,
  );
}

/**
 * The first page of a run looks at the portal's home (the base URL) with the saved session: the site's
 * `loggedOut` says whether it still works. A site without `loggedOut` cannot tell: its session is trusted, and
 * the first 401 or login page of an item asks for the re-login as it would have anyway.
 */
async function stillLoggedIn(site: Site<unknown>, baseUrl: string, page: Page): Promise<boolean> {
  if (!site.loggedOut) return true;
  await page.goto(baseUrl, { waitUntil: 'domcontentloaded' });
  return !(await site.loggedOut(page));
}

/** Saves the context's session after each login, in order, and only once a page shows it logged in. */
class SessionSaver {
  #last: Promise<void> = Promise.resolve();
  /** The cookies of the session last read or saved, to see whether the portal changed them since. */
  #cookies: string;

  constructor(
    private readonly file: string,
    private readonly site: Site<unknown>,
    private readonly warn: (message: string) => void,
    state: StorageState | null,
  ) {
    this.#cookies = state ? cookieKey(state.cookies) : '';
  }

  async afterLogin(page: Page, login: (page: Page) => Promise<void>): Promise<void> {
    await login(page);
    // Never a logged-out state over a good one: the page the login ended on must show the portal logged in.
    if (this.site.loggedOut && (await this.site.loggedOut(page).catch(() => true))) {
      this.warn(`the session was not saved to ${this.file}: the page after the login still looks logged out`);
      return;
    }
    // Read now, written in the background: the run goes on meanwhile (keep() waits for it).
    void this.#save(page.context());
  }

  async keep(pool: PagePool, loggedIn: (page: Page) => Promise<boolean>): Promise<void> {
    await this.#last;
    // Without loggedOut nothing can confirm the session: a cookie the portal removed must not be saved.
    if (!this.site.loggedOut) return;
    try {
      if (cookieKey(await pool.context.cookies()) === this.#cookies) return;
      const page = await pool.extraPage();
      try {
        if (await loggedIn(page)) await this.#save(page.context());
      } finally {
        await page.close().catch(() => {});
      }
    } catch (err) {
      this.warn(`the session could not be saved to ${this.file}: ${describe(err)}`);
    }
  }

  /** Resolves once this save (and every one before it) is written or has warned; never rejects. */
  #save(context: BrowserContext): Promise<void> {
    // Read now, while a page shows the session logged in; written after any save still going.
    const state = context.storageState({ indexedDB: true });
    // Its failure is the write's to report, however long a save before it takes.
    state.catch(() => {});
    const write = this.#last.then(async () => {
      const s = await state;
      await writeSessionFile(this.file, s);
      this.#cookies = cookieKey(s.cookies);
    });
    this.#last = write.catch((err: unknown) =>
      this.warn(`the session could not be saved to ${this.file}: ${describe(err)}`),
    );
    return this.#last;
  }
}

/** The cookies as one comparable string: a new value or a new expiry is a change. */
function cookieKey(
  cookies: ReadonlyArray<{ name: string; domain: string; path: string; value: string; expires: number }>,
): string {
  return cookies
    .map((c) => JSON.stringify([c.domain, c.path, c.name, c.value, Math.round(c.expires)]))
    .sort()
    .join('\n');
}
