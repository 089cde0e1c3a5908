// `pagepool login`: log in once and save the session that runs, resumes and fleet machines start from. The
// adapter's login() does it headless when it can; otherwise a person logs in in a real browser window, and the
// session is saved the moment the adapter's loggedOut(page) turns false on a portal page.
import type { Browser, BrowserContext, Page } from 'playwright';
import { launchBrowser } from '../browser/launch.js';
import { LoginError, SetupError, ShutdownError } from '../errors.js';
import { playwrightProxy } from '../proxy/proxy-settings.js';
import { type Credentials, type Site, siteLogin } from '../sites/site.js';
import { writeSessionFile } from './session-file.js';
import type { SessionSettings } from './session-settings.js';

/** How long a person may take to log in before `pagepool login` gives up (exit 2, nothing saved). */
export const PERSON_WAIT_MS = 15 * 60_000;
/** How often the window's pages are looked at while a person logs in. */
const LOOK_EVERY_MS = 250;

export interface LoginCommandOptions extends Pick<SessionSettings, 'proxy'> {
  site: Site<unknown>;
  baseUrl: string;
  credentials: Credentials;
  /** Where the session is written (mode 0600, atomically). */
  file: string;
  /** A person logs in in a browser window: the site's login is 'manual', or `--headed` was given. */
  byHand: boolean;
  chromiumPath: string | null;
  slowMoMs?: number;
  /** Aborted by Ctrl+C: nothing is saved. */
  signal: AbortSignal;
  /** @default PERSON_WAIT_MS */
  waitMs?: number;
  /** Notices for the person (stdout). */
  say(line: string): void;
}

/** Logs in (by login() or by a person), saves the session; resolves once it is on disk. */
export async function loginCommand(options: LoginCommandOptions): Promise<void> {
  const { site, byHand } = options;
  if (!site.login) {
    throw new LoginError(`Site ${site.name} has no login: there is no session to save`);
  }
  if (byHand && !site.loggedOut) {
    throw new LoginError(
      `Site ${site.name} has no loggedOut(page): pagepool cannot tell when you are logged in; add it to the adapter`,
    );
  }
  const browser = await openBrowser(options);
  try {
    const context = await browser.newContext({
      ...(options.proxy ? { proxy: playwrightProxy(options.proxy) } : {}),
      // A person's window: the page follows the window's size.
      ...(byHand ? { viewport: null } : {}),
    });
    const page = byHand ? await waitForPerson(context, options) : await loginAlone(context, options);
    // cookies, localStorage and IndexedDB; sessionStorage is not part of a storage state and is not kept.
    const state = await page.context().storageState({ indexedDB: true });
    await writeSessionFile(options.file, state);
    options.say(
      `Logged in: the session is saved in ${options.file} (${state.cookies.length} cookies). It is a credential: keep it like a password.`,
    );
  } finally {
    await browser.close().catch(() => {});
  }
}

async function openBrowser(options: LoginCommandOptions): Promise<Browser> {
  try {
    return await launchBrowser({
      chromiumPath: options.chromiumPath,
      headless: !options.byHand,
      slowMoMs: options.slowMoMs ?? 0,
    });
  } catch (err) {
    if (options.byHand && /DISPLAY|X server|ozone/i.test((err as Error).message)) {
      throw new SetupError(
        'The browser window cannot open: there is no display (DISPLAY is not set). Run `pagepool login` on a desktop, over `ssh -X`, or under `xvfb-run` with a VNC viewer',
        { cause: err },
      );
    }
    throw err;
  }
}

/** The adapter's login() on a headless page, then the same check a run makes before it saves. */
async function loginAlone(context: BrowserContext, options: LoginCommandOptions): Promise<Page> {
  const { site } = options;
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const login = siteLogin(site, options.credentials, options.baseUrl);
  await login?.(page);
  if (site.loggedOut && (await site.loggedOut(page).catch(() => true))) {
    throw new LoginError(
      `After the adapter's login() the page still looks logged out (${new URL(page.url()).pathname}): nothing saved; check its login() and loggedOut()`,
    );
  }
  return page;
}

/**
 * Opens the login page in the window and waits for a person: the first page of the portal's origin on which
 * `loggedOut(page)` turns false, after it has been true (an empty session starts logged out; a loggedOut that
 * says "logged in" at once cannot tell, and must not get a logged-out state saved). Pages of other origins (a
 * single sign-on provider) are never looked at. Bounded by `waitMs`; closing the window gives up.
 */
async function waitForPerson(context: BrowserContext, options: LoginCommandOptions): Promise<Page> {
  const { site, signal } = options;
  const loggedOut = site.loggedOut!;
  const origin = new URL(options.baseUrl).origin;
  const start = new URL(site.loginUrl ?? '', `${options.baseUrl}/`).href;
  const page = await context.newPage();
  await page.goto(start, { waitUntil: 'domcontentloaded' });
  options.say(
    `Log in to ${origin} in the browser window. The session is saved as soon as the portal shows a logged-in page (close the window to give up).`,
  );
  const waitMs = options.waitMs ?? PERSON_WAIT_MS;
  const until = Date.now() + waitMs;
  let seenLoggedOut = false;
  while (Date.now() < until) {
    if (signal.aborted) throw new ShutdownError('stopped while waiting for the login');
    const pages = context.pages().filter((p) => !p.isClosed());
    if (pages.length === 0 || !context.browser()?.isConnected()) {
      throw new LoginError(
        'The browser window was closed before the portal showed a logged-in page: nothing saved',
      );
    }
    for (const p of pages) {
      if (!isOrigin(p.url(), origin)) continue;
      // A page between two documents cannot be read: look again on the next round.
      const out = await loggedOut(p).catch(() => null);
      if (out === true) seenLoggedOut = true;
      else if (out === false && seenLoggedOut) return p;
    }
    await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS));
  }
  const within = waitMs >= 60_000 ? `${Math.round(waitMs / 60_000)} min` : `${Math.round(waitMs / 1000)} s`;
  throw new LoginError(`Nobody logged in within ${within}: nothing saved`);
}

function isOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
