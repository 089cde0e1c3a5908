// One machine's workers, set up: a browser, its logged-in page pool, the stages and a file store, and the function
// that runs one attempt at one item on them. Used by the in-process run and by the fleet worker.
import type { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Browser } from 'playwright';
import { FailureSnapshots } from '../browser/failure-snapshot.js';
import { launchBrowser } from '../browser/launch.js';
import { PagePool } from '../browser/page-pool.js';
import { SessionCookies } from '../browser/session-cookies.js';
import { TraceRecorder } from '../browser/trace-recorder.js';
import { readManifestClaims } from '../checkpoint/manifest-claims.js';
import { LIBRARY_DEFAULTS } from '../defaults.js';
import { ConfigError, describe } from '../errors.js';
import { captureBrowserHeaders } from '../files/browser-headers.js';
import { FileStore } from '../files/file-store.js';
import type { SavedFile } from '../files/types.js';
import { proxySecrets } from '../proxy/proxy-settings.js';
import { MAX_FREE_RETRIES } from '../queue/attempt-policy.js';
import { RateHold } from '../queue/rate-hold.js';
import { SingleFlightLogin } from '../queue/single-flight-login.js';
import type { RunEvents } from '../run-events.js';
import { poolSession } from '../sessions/saved-session.js';
import type { SessionSettings } from '../sessions/session-settings.js';
import { ReadMemory } from '../sites/read-memory.js';
import type { Credentials, Site } from '../sites/site.js';
import { SessionLook } from './explain-failure.js';
import { FailureCapture } from './failure-capture.js';
import { type AttemptContext, type AttemptDeps, attemptItem } from './item-attempt.js';
import { itemWorkerProblems } from './option-problems.js';
import { attemptWithRefresh } from './refresh-files.js';
import { PageGate, Stage } from './stage.js';

export type { AttemptContext } from './item-attempt.js';

/** Items in the download stage by default: twice the pages (swept at 8 pages: README, "Speed and benchmarks"). */
export function defaultDownloads(concurrency: number): number {
  return 2 * concurrency;
}

/** With the saved session (`sessionFile`, `freshSession`) and the proxy of SessionSettings. */
export interface ItemWorkerOptions<Ref> extends SessionSettings {
  /** The adapter: `defineSite({...})`, or `await loadSite(pathOrName)`. */
  site: Site<Ref>;
  /** The portal's URL, handed to `login`, `list` and each job. */
  baseUrl: string;
  /** `{ username, password, totpSecret? }` for the site's `login`. */
  credentials: Credentials;
  /** Output folder; files go to `<out>/<site.name>/`. */
  out: string;
  /** Pages in the pool: items in the browser stage at once. */
  concurrency: number;
  /**
   * Items in the download stage at once: past `job.releasePage()`, their files still coming. An item that releases
   * its page while the stage is full waits for room holding its page, so the browser stage waits too.
   * @default 2 × concurrency
   */
  downloads?: number;
  events: EventEmitter<RunEvents>;
  /** Block images, fonts, media and stylesheets on listing and detail pages. @default true */
  block?: boolean;
  /** Replace a page after this many items. @default 200 */
  recycleAfter?: number;
  /**
   * Move to a fresh browser context (carrying the session: no new login) after this many items; 0 keeps one
   * context. With `trace`, always 0 (a trace records one context).
   * @default 1000
   */
  contextRecycleAfter?: number;
  /** Default timeout of every navigation and wait on a pool page; the item deadline still bounds the whole item. @default 30_000 */
  pageTimeoutMs?: number;
  /** Ms a file download may stall (no byte) before it is aborted and resumed. @default 10_000 */
  fileIdleTimeoutMs?: number;
  /** Bytes/s a file body must average over 10 s, else it is aborted and resumed; 0 is off. @default 512 */
  minSpeedBytesPerSec?: number;
  /** Free disk (bytes) to keep; below it the run stops. @default 100 MiB */
  diskMarginBytes?: number;
  /** The Chromium to launch. @default found (CHROMIUM_PATH, the headless shell, Playwright's, chromium) */
  chromiumPath?: string | null;
  /** Show the browser. @default false */
  headed?: boolean;
  /** Milliseconds between browser actions. @default 0 */
  slowMoMs?: number;
  /** A browser to use instead of launching one (closed by its owner, not here). */
  browser?: Browser;
  /**
   * Save a screenshot, the HTML and the error chain of each failed attempt in `<failuresDir>/<key>/`, scrubbed
   * of the password and the session's cookie values; the folder goes when the item later succeeds.
   * @default true
   */
  failureSnapshots?: boolean;
  /** Where failure snapshots go. @default `<out>/.pagepool/failures` */
  failuresDir?: string;
  /**
   * Also keep a Playwright trace (trace.zip) of each failed attempt in its failure folder, with the password
   * and cookie values scrubbed from every entry. Slower; exact per item only with `concurrency` 1.
   * @default false
   */
  trace?: boolean;
  /** A refresh that replaces a file keeps the version there beside it as `NAME.<saved at>.EXT`. @default false */
  keepVersions?: boolean;
}

export interface ItemWorker<Ref> {
  pool: PagePool;
  /** The download stage; its queue must run `concurrency + downloads.limit` items at once to fill both stages. */
  downloads: Stage;
  /** The browser stage as the queue's start gate (`gate`): a task starts only when a page is free for it. */
  pages: PageGate;
  /** The machine's one 429 hold: its file store moves it, the queue (`hold`) holds every start on it. */
  hold: RateHold;
  /** One attempt at one item; resolves with the files it saved (paths relative to `out`). */
  work(ref: Ref, ctx: AttemptContext): Promise<SavedFile[]>;
  /** The one re-login of this machine: the queue, the listing and the fleet worker share it. */
  login: SingleFlightLogin;
  close(): Promise<void>;
}

/** The browser of `options`: borrowed (`browser`, closed by its owner) or launched here (closed by `close`). */
export async function browserFor(
  options: Pick<ItemWorkerOptions<unknown>, 'browser' | 'chromiumPath' | 'headed' | 'slowMoMs'>,
): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (options.browser) return { browser: options.browser, close: async () => {} };
  const browser = await launchBrowser({
    chromiumPath: options.chromiumPath ?? null,
    headless: !options.headed,
    slowMoMs: options.slowMoMs ?? 0,
  });
  return { browser, close: () => browser.close().catch(() => {}) };
}

/**
 * Checks every option (one ConfigError naming each bad field), then launches (or borrows) the browser, logs in once
 * and opens the file store. What was acquired before a failure is closed before the error goes on.
 */
export async function openItemWorker<Ref>(options: ItemWorkerOptions<Ref>): Promise<ItemWorker<Ref>> {
  const problems = itemWorkerProblems(options);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  // Closed in reverse order by close(), or on a failure below.
  const acquired: Array<() => Promise<unknown>> = [];
  const release = async () => {
    for (const close of acquired.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    return await setUp(options, acquired, release);
  } catch (err) {
    await release();
    throw err;
  }
}

async function setUp<Ref>(
  options: ItemWorkerOptions<Ref>,
  acquired: Array<() => Promise<unknown>>,
  release: () => Promise<void>,
): Promise<ItemWorker<Ref>> {
  const { site, baseUrl, events } = options;
  const warn = (message: string) => events.emit('warning', { message });
  // The saved session to start from, the login that replaces it, the proxy (src/sessions/saved-session.ts).
  const session = await poolSession({ ...options, warn });
  const { browser, close: closeBrowser } = await browserFor(options);
  acquired.push(closeBrowser);
  const pool = new PagePool({
    browser,
    size: options.concurrency,
    ...session.pool,
    block: options.block ?? true,
    scripts: site.scripts ?? true,
    pageOnDemand: site.pageOnDemand ?? false,
    recycleAfter: options.recycleAfter ?? LIBRARY_DEFAULTS.recycleAfter,
    ...(options.pageTimeoutMs === undefined ? {} : { pageTimeoutMs: options.pageTimeoutMs }),
    // A trace records one context: keep the first one for the whole run when tracing.
    ...(options.trace
      ? { contextRecycleAfter: 0 }
      : options.contextRecycleAfter === undefined
        ? {}
        : { contextRecycleAfter: options.contextRecycleAfter }),
  });
  acquired.push(() => pool.close());
  pool.on('page:replaced', (replaced) => events.emit('page:replaced', replaced));
  pool.on('login', (login) => events.emit('login', login));
  pool.on('warning', (warning) => events.emit('warning', warning));
  pool.on('session:restored', () => events.emit('session:restored'));
  // File requests carry the browser's own headers (one local navigation reads them, while the login runs), and
  // cookies they are given go back to the browser: the portal sees one browser and one session.
  let headers: Record<string, string> = {};
  await pool.open(async (context) => {
    headers = await captureBrowserHeaders(context).catch((err: unknown) => {
      warn(`file requests will not carry the browser's headers: ${(err as Error).message}`);
      return {};
    });
  });
  // The session as it is at the end (a portal may rotate it under the run) is kept before the pool closes.
  acquired.push(() => session.keep(pool));
  // One reading of the session's cookies serves many requests while no page is open to change them.
  const cookies = new SessionCookies(() => pool.context);
  const downloads = new Stage('downloads', options.downloads || defaultDownloads(options.concurrency));
  const pages = new PageGate(options.concurrency);
  const hold = new RateHold();
  const store = new FileStore({
    outDir: path.join(options.out, site.name),
    connections: options.concurrency + downloads.limit,
    cookies: (url) => cookies.cookies(url),
    addCookies: (set) => cookies.add(set),
    headers,
    bodyIdleTimeoutMs: options.fileIdleTimeoutMs ?? LIBRARY_DEFAULTS.fileIdleTimeoutMs,
    ...(options.minSpeedBytesPerSec === undefined
      ? {}
      : { minSpeedBytesPerSec: options.minSpeedBytesPerSec }),
    diskMarginBytes: options.diskMarginBytes ?? LIBRARY_DEFAULTS.diskMarginBytes,
    // A file's 429s are free as the queue's are (then the queue holds every start).
    rateLimitRetries: MAX_FREE_RETRIES,
    // While a file waits out a 429, new items wait too: their pages would spend the same limit. One hold for
    // pages and files; the queue reports it ('backoff') once.
    onRateLimited: (error, retryAfterMs) => {
      const now = Date.now();
      hold.hold(now + retryAfterMs, now, describe(error));
    },
    session: site.login !== undefined,
    // Names other keys already own (from earlier runs) stay theirs, whatever order this run goes in.
    claims: await readManifestClaims(path.join(options.out, 'manifest.jsonl'), options.out),
    // Files leave from the same address as the pages.
    ...(options.proxy ? { proxy: options.proxy } : {}),
    keepVersions: options.keepVersions ?? false,
  });
  acquired.push(() => store.close());
  // The listing (an extra page of the pool) reads pages over HTTP the way items do.
  pool.readHtml = (url, options) => store.readHtml(url, options);
  // The secrets a snapshot must not contain: the password, and every cookie value the context has held
  // (a trace can span a re-login, so the cookies of the session before it count too).
  const cookieValues = new Set<string>();
  const secrets = async () => {
    for (const cookie of await pool.context.cookies().catch(() => [])) cookieValues.add(cookie.value);
    return [
      options.credentials.password,
      options.credentials.totpSecret ?? '',
      ...proxySecrets(options.proxy),
      ...cookieValues,
    ];
  };
  const snapshots =
    (options.failureSnapshots ?? true)
      ? new FailureSnapshots({
          dir: options.failuresDir ?? path.join(options.out, '.pagepool', 'failures'),
          secrets,
        })
      : null;
  let trace: TraceRecorder | null = null;
  if (options.trace && snapshots) {
    trace = await TraceRecorder.start(() => pool.context, warn).catch((err: unknown) => {
      warn(`--trace: tracing did not start: ${(err as Error).message}`);
      return null;
    });
  }
  if (trace) acquired.push(() => trace.stop());
  const capture = new FailureCapture({ snapshots, trace, secrets, warn });
  const login = new SingleFlightLogin(async () => {
    if (trace) await secrets();
    await pool.relogin();
  });
  const look = new SessionLook(pool, site);
  const deps: AttemptDeps = { pool, downloads, store, events, baseUrl, login, look, reads: new ReadMemory() };
  return {
    pool,
    downloads,
    pages,
    hold,
    // A refresh of a site with stable file URLs asks them first, without a page (refresh-files.ts).
    work: (ref, ctx) =>
      attemptWithRefresh(site, ctx, { store, events, pages, downloads }, (leavePages) =>
        capture.around(ctx, (onPageFailure) => attemptItem(site, ref, ctx, deps, onPageFailure, leavePages)),
      ),
    login,
    close: release,
  };
}
