// One machine's workers, set up: a browser, its logged-in page pool, the stages and a file store, and the function
// that runs one attempt at one item on them. Used by the in-process run and by the fleet worker.
import type { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Browser } from 'playwright';
import { FailureSnapshots } from '../browser/failure-snapshot.js';
import { launchBrowser } from '../browser/launch.js';
import { PagePool } from '../browser/page-pool.js';
import { TraceRecorder } from '../browser/trace-recorder.js';
import { readManifestClaims } from '../checkpoint/manifest-claims.js';
import { ConfigError, describe } from '../errors.js';
import { FileStore } from '../files/file-store.js';
import type { SavedFile } from '../files/types.js';
import { MAX_FREE_RETRIES } from '../queue/attempt-policy.js';
import { RateHold } from '../queue/rate-hold.js';
import { SingleFlightLogin } from '../queue/single-flight-login.js';
import type { RunEvents } from '../run-events.js';
import { type Credentials, type Site, siteLogin } from '../sites/site.js';
import { FailureCapture } from './failure-capture.js';
import { type AttemptContext, type AttemptDeps, attemptItem } from './item-attempt.js';
import { itemWorkerProblems } from './option-problems.js';
import { PageGate, Stage } from './stage.js';

export type { AttemptContext } from './item-attempt.js';

/** Items in the download stage by default: twice the pages (swept at 8 pages: README, "Speed and benchmarks"). */
export function defaultDownloads(concurrency: number): number {
  return 2 * concurrency;
}

export interface ItemWorkerOptions<Ref> {
  site: Site<Ref>;
  baseUrl: string;
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
  /** @default true */
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
  /** @default 10_000 */
  fileIdleTimeoutMs?: number;
  /** Bytes/s a file body must average over 10 s, else it is aborted and resumed; 0 is off. @default 512 */
  minSpeedBytesPerSec?: number;
  /** @default 100 MiB */
  diskMarginBytes?: number;
  chromiumPath?: string | null;
  headed?: boolean;
  slowMoMs?: number;
  /** A browser to use instead of launching one (closed by its owner, not here). */
  browser?: Browser;
  /**
   * Save a screenshot, the HTML and the error chain of each failed attempt in `<failuresDir>/<key>/`, scrubbed
   * of the password and the session's cookie values; the folder goes when the item later succeeds.
   * @default true
   */
  failureSnapshots?: boolean;
  /** @default `<out>/.pagepool/failures` */
  failuresDir?: string;
  /**
   * Also keep a Playwright trace (trace.zip) of each failed attempt in its failure folder, with the password
   * and cookie values scrubbed from every entry. Slower; exact per item only with `concurrency` 1.
   * @default false
   */
  trace?: boolean;
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
  const { site, baseUrl, credentials, events } = options;
  const warn = (message: string) => events.emit('warning', { message });
  const { browser, close: closeBrowser } = await browserFor(options);
  acquired.push(closeBrowser);
  const pool = new PagePool({
    browser,
    size: options.concurrency,
    login: siteLogin(site, credentials, baseUrl),
    block: options.block ?? true,
    recycleAfter: options.recycleAfter ?? 200,
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
  await pool.open();
  const userAgent = await pool.context.pages()[0]?.evaluate(() => navigator.userAgent);
  const downloads = new Stage('downloads', options.downloads || defaultDownloads(options.concurrency));
  const pages = new PageGate(options.concurrency);
  const hold = new RateHold();
  const store = new FileStore({
    outDir: path.join(options.out, site.name),
    connections: options.concurrency + downloads.limit,
    cookies: (url) => pool.context.cookies(url),
    ...(userAgent ? { userAgent } : {}),
    bodyIdleTimeoutMs: options.fileIdleTimeoutMs ?? 10_000,
    ...(options.minSpeedBytesPerSec === undefined
      ? {}
      : { minSpeedBytesPerSec: options.minSpeedBytesPerSec }),
    diskMarginBytes: options.diskMarginBytes ?? 100 * 1024 * 1024,
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
  });
  acquired.push(() => store.close());
  // The secrets a snapshot must not contain: the password, and every cookie value the context has held
  // (a trace can span a re-login, so the cookies of the session before it count too).
  const cookieValues = new Set<string>();
  const secrets = async () => {
    for (const cookie of await pool.context.cookies().catch(() => [])) cookieValues.add(cookie.value);
    return [options.credentials.password, ...cookieValues];
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
  const deps: AttemptDeps = { pool, downloads, store, events, baseUrl };
  return {
    pool,
    downloads,
    pages,
    hold,
    work: (ref, ctx) => {
      const leavePages = pages.take();
      return capture
        .around(ctx, (onPageFailure) => attemptItem(site, ref, ctx, deps, onPageFailure, leavePages))
        .finally(leavePages);
    },
    login: new SingleFlightLogin(async () => {
      if (trace) await secrets();
      await pool.relogin();
    }),
    close: release,
  };
}
