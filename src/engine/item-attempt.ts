// One attempt at one item: its browser part on a page from the pool, then the download stage it enters at
// `releasePage()`, its files collected as they are saved.
import type { EventEmitter } from 'node:events';
import type { Page } from 'playwright';
import { isTimeout, type PagePool } from '../browser/page-pool.js';
import type { FileStore } from '../files/file-store.js';
import type { Files, PreviousFile, SavedFile } from '../files/types.js';
import type { SingleFlightLogin } from '../queue/single-flight-login.js';
import type { RunEvents } from '../run-events.js';
import { adaptiveRead } from '../sites/adaptive-read.js';
import { checkResponseFor } from '../sites/check-response.js';
import type { HtmlPage } from '../sites/html-page.js';
import { httpReader } from '../sites/http-reader.js';
import type { ReadMemory } from '../sites/read-memory.js';
import type { Job, Site } from '../sites/site.js';
import { explainFailure, markFileFailure, type SessionLook } from './explain-failure.js';
import type { OnPageFailure } from './failure-capture.js';
import { inOutFolder, inSiteFolder } from './refresh-files.js';
import type { Stage } from './stage.js';

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

/** What every attempt of one machine shares. */
export interface AttemptDeps {
  pool: PagePool;
  downloads: Stage;
  store: FileStore;
  events: EventEmitter<RunEvents>;
  baseUrl: string;
  /** The machine's one login: a failure met after a login began or ended is not judged on the old session. */
  login: SingleFlightLogin;
  /** One shared look at the session, before a file's 401/403 can cost a re-login. */
  look: SessionLook;
  /** Which way each kind of `job.read` works on this site (shared by every item of the machine). */
  reads: ReadMemory;
}

/**
 * The browser part on a page from the pool, then the download stage: `releasePage()` waits for room in it (holding
 * the page), enters it and gives the page back; the files go on there until the item's work ends. `leavePages`
 * says the item left the browser stage; `onPageFailure` snapshots the page of an attempt that failed on it.
 */
export async function attemptItem<Ref>(
  site: Site<Ref>,
  ref: Ref,
  ctx: AttemptContext,
  deps: AttemptDeps,
  onPageFailure: OnPageFailure,
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
    await pool.withSlot(
      async (lease) => {
        const { slot } = lease;
        let holding = true;
        // The attempt's browser page once it has one: from the start, or (the site's `pageOnDemand`) when asked.
        let page: Page | null = null;
        let unblocked = false;
        // The last page read over HTTP, and the browser page's document at that moment (a later one is newer).
        let lastRead: { page: HtmlPage; after: unknown } | null = null;
        const openPage = async (): Promise<Page> => {
          if (!holding)
            throw new Error(`${ctx.key}: openPage() after releasePage(): the page went back to the pool`);
          const opened = await lease.page();
          if (unblocked) pool.unblock(opened);
          page = opened;
          return opened;
        };
        // After the page is released its slot belongs to another item: stages no longer show there.
        const stage = (name: string) => {
          if (holding) events.emit('task:stage', { key: ctx.key, attempt: ctx.attempt, slot, stage: name });
        };
        stage('start');
        if (!site.pageOnDemand) await openPage();
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
              lastUrl = (page && pool.lastDocument(page)?.url()) ?? lastUrl;
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
        const http = httpReader({
          site,
          baseUrl: deps.baseUrl,
          fetchHtml: (url, options) => store.readHtml(url, options),
          signal: ctx.signal,
          timeoutMs: pool.pageTimeoutMs,
          // A file's 401/403 later is looked into at the last page the item read.
          onRead: (read) => {
            events.emit('page:read', { key: ctx.key, url: read.url(), via: 'http' });
            lastUrl = read.url();
            lastRead = { page: read, after: page && pool.lastDocument(page) };
          },
        });
        const log = (message: string) => events.emit('warning', { message: `${ctx.key}: ${message}` });
        const job: Job<Ref> = {
          ref,
          key: ctx.key,
          baseUrl: deps.baseUrl,
          get page(): Page {
            if (page) return page;
            throw new TypeError(
              `site ${site.name} has pageOnDemand: take the item's page with \`await job.openPage()\` before using \`job.page\` (or give the site pageOnDemand: false)`,
            );
          },
          openPage,
          http,
          read: adaptiveRead({
            site,
            baseUrl: deps.baseUrl,
            http,
            openPage,
            memory: deps.reads,
            onSwitch: (message) => events.emit('warning', { message }),
            onPageRead: (url) => events.emit('page:read', { key: ctx.key, url, via: 'page' }),
          }),
          signal: ctx.signal,
          attempt: ctx.attempt,
          files: jobFiles,
          releasePage,
          unblock: () => {
            unblocked = true;
            if (page) pool.unblock(page);
          },
          stage,
          log,
          checkResponse: (response, what) => checkResponseFor(site, job.page)(response, what),
        };
        processing = site.process(job);
        // Awaited below, or left behind when the race fails first: either way never an unhandled rejection.
        processing.catch(() => {});
        try {
          await Promise.race([processing, released]);
        } catch (err) {
          // The page is read next (the site's loggedOut, the snapshot): after a timed-out navigation it would answer
          // nothing until that navigation stops, and each read would wait out its own timeout.
          const held = page as Page | null;
          if (holding && held && isTimeout(err)) await pool.stopLoading(held);
          const explained = await explain(err, held);
          // Only while this attempt still holds the page: after releasePage() it shows another item. What it read
          // over HTTP is the page to look at, unless the browser page opened a document since.
          const read = lastRead as { page: HtmlPage; after: unknown } | null;
          if (holding && read && (!page || pool.lastDocument(page) === read.after))
            await onPageFailure(explained, null, { url: read.page.url(), html: read.page.content() });
          else if (holding && page) await onPageFailure(explained, page);
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
