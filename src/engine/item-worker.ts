// One machine's workers: a browser, its logged-in page pool and a file store, and the function that runs one
// attempt at one item. Used by the in-process run and by any other queue backend.
import type { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Browser, Page } from 'playwright';
import { FailureSnapshots } from '../browser/failure-snapshot.js';
import { launchBrowser } from '../browser/launch.js';
import { PagePool } from '../browser/page-pool.js';
import { TraceRecorder } from '../browser/trace-recorder.js';
import { readManifestClaims } from '../checkpoint/manifest-claims.js';
import { LIBRARY_DEFAULTS } from '../defaults.js';
import { classify, describe } from '../errors.js';
import { captureBrowserHeaders } from '../files/browser-headers.js';
import { FileStore } from '../files/file-store.js';
import type { Files, PreviousFile, SavedFile } from '../files/types.js';
import { proxySecrets } from '../proxy/proxy-settings.js';
import { MAX_FREE_RETRIES } from '../queue/attempt-policy.js';
import { SingleFlightLogin } from '../queue/single-flight-login.js';
import type { RunEvents } from '../run-events.js';
import { poolSession } from '../sessions/saved-session.js';
import type { SessionSettings } from '../sessions/session-settings.js';
import { checkResponseFor } from '../sites/check-response.js';
import type { Credentials, Job, Site } from '../sites/site.js';
import { explainFailure, markFileFailure, SessionLook } from './explain-failure.js';
import { attemptWithRefresh, inOutFolder, inSiteFolder } from './refresh-files.js';
import { PageGate, Stage } from './stage.js';

/** Items in the download stage by default: twice the pages (swept at 8 pages: README, "Speed and benchmarks"). */
export function defaultDownloads(concurrency: number): number {
  return 2 * concurrency;
}

/** What an attempt is given by its queue: the key, the attempt number and the signals. */
export interface AttemptContext {
  key: string;
  attempt: number;
  /** Aborted at the deadline or on shutdown. */
  signal: AbortSignal;
  /** Aborted when the queue gives up on this attempt: its page is poisoned. */
  abandoned: AbortSignal;
  /** A refresh: the files an earlier run recorded for the item (paths from `out`), each file compared with its own. */
  previous?: readonly PreviousFile[] | null;
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

/** Launches (or borrows) the browser, logs in once and opens the file store. */
export async function openItemWorker<Ref>(options: ItemWorkerOptions<Ref>): Promise<ItemWorker<Ref>> {
  const { site, baseUrl, events } = options;
  const warn = (message: string) => events.emit('warning', { message });
  const { browser, close: closeBrowser } = await browserFor(options);
  // The saved session to start from, the login that replaces it, the proxy (src/sessions/saved-session.ts).
  const session = await poolSession({ ...options, warn });
  const pool = new PagePool({
    browser,
    size: options.concurrency,
    ...session.pool,
    block: options.block ?? true,
    recycleAfter: options.recycleAfter ?? LIBRARY_DEFAULTS.recycleAfter,
    ...(options.pageTimeoutMs === undefined ? {} : { pageTimeoutMs: options.pageTimeoutMs }),
    // A trace records one context: keep the first one for the whole run when tracing.
    ...(options.trace ? { contextRecycleAfter: 0 } : {}),
  });
  pool.on('page:replaced', (replaced) => events.emit('page:replaced', replaced));
  pool.on('login', (login) => events.emit('login', login));
  pool.on('session:restored', () => events.emit('session:restored'));
  pool.on('warning', (warning) => events.emit('warning', warning));
  try {
    await pool.open();
  } catch (err) {
    await closeBrowser();
    throw err;
  }
  // File requests carry the browser's own headers (one local navigation reads them), and cookies they are
  // given go back to the browser: the portal sees one browser and one session.
  const headers = await captureBrowserHeaders(pool.context).catch((err: unknown) => {
    warn(`file requests will not carry the browser's headers: ${(err as Error).message}`);
    return {};
  });
  const downloads = new Stage('downloads', options.downloads || defaultDownloads(options.concurrency));
  const pages = new PageGate(options.concurrency);
  const store = new FileStore({
    outDir: path.join(options.out, site.name),
    connections: options.concurrency + downloads.limit,
    cookies: (url) => pool.context.cookies(url),
    addCookies: (cookies) => pool.context.addCookies(cookies),
    headers,
    bodyIdleTimeoutMs: options.fileIdleTimeoutMs ?? LIBRARY_DEFAULTS.fileIdleTimeoutMs,
    ...(options.minSpeedBytesPerSec === undefined
      ? {}
      : { minSpeedBytesPerSec: options.minSpeedBytesPerSec }),
    diskMarginBytes: options.diskMarginBytes ?? LIBRARY_DEFAULTS.diskMarginBytes,
    // A file's 429s are free as the queue's are (then the queue holds every start).
    rateLimitRetries: MAX_FREE_RETRIES,
    // While a file waits out a 429, new items wait too: their pages would spend the same limit.
    onRateLimited: (error, retryAfterMs) => {
      const untilMs = Date.now() + retryAfterMs;
      if (pages.holdUntil(untilMs)) events.emit('backoff', { untilMs, reason: describe(error) });
    },
    session: site.login !== undefined,
    // Files leave from the same address as the pages.
    ...(options.proxy ? { proxy: options.proxy } : {}),
    // Names other keys already own (from earlier runs) stay theirs, whatever order this run goes in.
    claims: await readManifestClaims(path.join(options.out, 'manifest.jsonl'), options.out),
    keepVersions: options.keepVersions ?? false,
  });
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
  const login = new SingleFlightLogin(async () => {
    if (trace) await secrets();
    await pool.relogin();
  });
  const look = new SessionLook(pool, site);
  const deps: ItemDeps = { pool, downloads, store, events, baseUrl, snapshots, trace, secrets, login, look };
  return {
    pool,
    downloads,
    pages,
    // A refresh of a site with stable file URLs asks them first, without a page (refresh-files.ts).
    work: (ref, ctx) =>
      attemptWithRefresh(site, ctx, { store, events, pages, downloads }, (leavePages) =>
        processItem(site, ref, ctx, deps, leavePages),
      ),
    login,
    async close() {
      await trace?.stop();
      await store.close();
      await session.keep(pool);
      await pool.close();
      await closeBrowser();
    },
  };
}

interface ItemDeps {
  pool: PagePool;
  downloads: Stage;
  store: FileStore;
  events: EventEmitter<RunEvents>;
  baseUrl: string;
  snapshots: FailureSnapshots | null;
  trace: TraceRecorder | null;
  secrets(): Promise<string[]>;
  login: SingleFlightLogin;
  look: SessionLook;
}

/**
 * One attempt at one item, with its failure snapshot: written when the attempt fails (over an earlier
 * attempt's), removed when it succeeds. A snapshot that cannot be written never hides the item's own error.
 */
async function processItem<Ref>(
  site: Site<Ref>,
  ref: Ref,
  ctx: AttemptContext,
  deps: ItemDeps,
  leavePages: () => void,
): Promise<SavedFile[]> {
  const { snapshots, trace } = deps;
  if (trace) {
    await deps.secrets();
    await trace.begin();
  }
  const snapped = { done: false };
  let saved: SavedFile[];
  try {
    saved = await attemptItem(site, ref, ctx, deps, snapped, leavePages);
  } catch (err) {
    if (snapshots && worthSnapshot(err, ctx)) {
      const snapshotError = (e: unknown) =>
        deps.events.emit('warning', {
          message: `${ctx.key}: failure snapshot not saved: ${(e as Error).message}`,
        });
      if (!snapped.done) {
        await snapshots
          .save({ key: ctx.key, attempt: ctx.attempt, error: err, page: null })
          .catch(snapshotError);
      }
      if (trace) await trace.end(path.join(snapshots.folder(ctx.key), 'trace.zip'), await deps.secrets());
    } else await trace?.end(null, []);
    throw err;
  }
  await trace?.end(null, []);
  await snapshots?.clear(ctx.key).catch(() => {});
  return saved;
}

/**
 * Shutdown, a full disk, a 429, an expired session or an abandoned attempt is not the item's failure: nothing to
 * look at, and a snapshot (a screenshot and the HTML, ~0.3 s) would only delay the hold or the re-login.
 */
function worthSnapshot(err: unknown, ctx: AttemptContext): boolean {
  // Stopped by the run (a full disk, Ctrl+C): its error is the stop's ("Target page ... closed"), not the item's.
  if (ctx.signal.aborted && classify(ctx.signal.reason) === 'fatal') return false;
  const decision = classify(err);
  return decision !== 'fatal' && decision !== 'backoff' && decision !== 'relogin' && !ctx.abandoned.aborted;
}

/**
 * The browser part on a page from the pool, then the download stage: `releasePage()` waits for room in it (holding
 * the page), enters it and gives the page back; the files go on there until the item's work ends.
 */
async function attemptItem<Ref>(
  site: Site<Ref>,
  ref: Ref,
  ctx: AttemptContext,
  deps: ItemDeps,
  snapped: { done: boolean },
  leavePages: () => void,
): Promise<SavedFile[]> {
  const { pool, store, events } = deps;
  const saved: SavedFile[] = [];
  // Set at releasePage(): settles once the item is in the download stage (or could not get in).
  let entered: Promise<void> | null = null;
  let leave: (() => void) | null = null;
  let over = false;
  const before = async () => {
    // A file started after releasePage() is a download: it waits for its room in the stage.
    if (entered) await entered;
  };
  const previous = ctx.previous ? inSiteFolder(site.name, ctx.previous) : null;
  const forJob = store.forJob({ key: ctx.key, signal: ctx.signal, previous });
  const jobFiles = collecting(forJob, before, (inSite) => {
    // The store works inside <out>/<site>; the checkpoint and the manifest name files from <out>.
    const file = inOutFolder(site.name, inSite);
    saved.push(file);
    const change = file.change ? { change: file.change } : {};
    events.emit('file:saved', { key: ctx.key, path: file.path, bytes: file.bytes, ...change });
    return file;
  });
  // What the portal says about a failure is read before the queue acts on it (explain-failure.ts).
  const loginEpoch = deps.login.epoch;
  let lastUrl: string | undefined;
  const explain = (err: unknown, page: Page | null) =>
    explainFailure(err, {
      site,
      baseUrl: deps.baseUrl,
      pool,
      look: deps.look,
      page,
      lastUrl: (page && pool.lastDocument(page)?.url()) ?? lastUrl,
      sessionChanged: () => deps.login.inFlight !== null || deps.login.epoch > loginEpoch,
    });
  let processing: Promise<void> | undefined;
  try {
    await pool.withPage(
      async (page, slot) => {
        let holding = true;
        // After the page is released its slot belongs to another item: stages no longer show there.
        const stage = (name: string) => {
          if (holding) events.emit('task:stage', { key: ctx.key, attempt: ctx.attempt, slot, stage: name });
        };
        stage('start');
        let settleReleased: (entry: Promise<void>) => void = () => {};
        const released = new Promise<void>((resolve, reject) => {
          settleReleased = (entry) => void entry.then(resolve, reject);
        });
        const releasePage = (): Promise<void> => {
          if (!entered) {
            if (deps.downloads.inside >= deps.downloads.limit) stage('wait slot');
            entered = deps.downloads.enter(ctx.signal).then((leaveStage) => {
              // The attempt ended or was given up while it waited: the room goes to the next at once.
              let inside = true;
              const leaveOnce = () => {
                if (!inside) return;
                inside = false;
                leaveStage();
                events.emit('download:left', { key: ctx.key });
              };
              holding = false;
              lastUrl = pool.lastDocument(page)?.url();
              leavePages();
              events.emit('page:released', { key: ctx.key, slot });
              if (over || ctx.abandoned.aborted) leaveOnce();
              else {
                leave = leaveOnce;
                // An abandoned attempt's download is poisoned and may never end: it does not keep the room.
                ctx.abandoned.addEventListener('abort', leaveOnce, { once: true });
              }
            });
            settleReleased(entered);
            entered.catch(() => {});
          }
          // Never rejects (a site may not await it): a failed entry fails the item's next file, and the race below.
          return entered.catch(() => {});
        };
        const job: Job<Ref> = {
          ref,
          key: ctx.key,
          baseUrl: deps.baseUrl,
          page,
          signal: ctx.signal,
          attempt: ctx.attempt,
          files: jobFiles,
          releasePage,
          unblock: () => pool.unblock(page),
          stage,
          log: (message) => events.emit('warning', { message: `${ctx.key}: ${message}` }),
          checkResponse: checkResponseFor(site, page),
        };
        processing = site.process(job);
        // Awaited below, or left behind when the race fails first: either way never an unhandled rejection.
        processing.catch(() => {});
        try {
          await Promise.race([processing, released]);
        } catch (err) {
          const explained = await explain(err, page);
          // Only while this attempt still holds the page: after releasePage() it shows another item.
          if (holding && deps.snapshots && worthSnapshot(explained, ctx)) {
            await deps.snapshots
              .save({ key: ctx.key, attempt: ctx.attempt, error: explained, page })
              .then(() => {
                snapped.done = true;
              })
              .catch((e: unknown) =>
                events.emit('warning', {
                  message: `${ctx.key}: failure snapshot not saved: ${(e as Error).message}`,
                }),
              );
          }
          throw explained;
        }
      },
      { signal: ctx.signal, abandoned: ctx.abandoned },
    );
    // A file that failed after releasePage(): no page of the attempt's is left to read.
    await processing?.catch(async (err: unknown) => {
      throw await explain(err, null);
    });
  } finally {
    over = true;
    (leave as (() => void) | null)?.();
  }
  return saved;
}

/** `files` whose every operation first awaits `before()`, and whose every saved file goes through `onSaved`. */
function collecting(
  files: Files,
  before: () => Promise<void>,
  onSaved: (file: SavedFile) => SavedFile,
): Files {
  const keep = async (start: () => Promise<SavedFile>) => {
    await before();
    return onSaved(await start());
  };
  return {
    fetch: (url, opts) => keep(() => markFileFailure(files.fetch(url, opts))),
    fromDownload: (download, opts) => keep(() => files.fromDownload(download, opts)),
    fromBytes: (bytes, opts) => keep(() => files.fromBytes(bytes, opts)),
    screenshot: (element, opts) => keep(() => files.screenshot(element, opts)),
  };
}
