// The engine: wires checkpoint, browser pool, file store and queue for one pull, and reports through events.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Browser, Page } from 'playwright';
import { launchBrowser } from './browser/launch.js';
import { PagePool } from './browser/page-pool.js';
import { Checkpoint } from './checkpoint/checkpoint.js';
import { ConfigError, PagepoolError, SessionExpiredError } from './errors.js';
import { FileStore } from './files/file-store.js';
import type { Files, SavedFile } from './files/types.js';
import type { QueueEvents } from './queue/events.js';
import { AsyncTaskQueue, type QueueSummary, type TaskContext } from './queue/task-queue.js';
import type { RunEvents } from './run-events.js';
import { readRefs } from './sites/read-refs.js';
import type { Credentials, Job, Site } from './sites/site.js';

export interface RunOptions<Ref> {
  site: Site<Ref>;
  baseUrl: string;
  credentials: Credentials;
  /** Output folder; files go to `<out>/<site.name>/`. */
  out: string;
  checkpoint: string;
  /** @default 8 */
  concurrency?: number;
  /** @default 180_000 */
  taskTimeoutMs?: number;
  /** @default 2 */
  retries?: number;
  /** Only the first N items of the source (0 = all). @default 0 */
  max?: number;
  /** JSONL/CSV file of refs ('-' = stdin) instead of `site.list`. @default null */
  refs?: string | null;
  retryFailed?: boolean;
  /** @default true */
  block?: boolean;
  /** @default 200 */
  recycleAfter?: number;
  /** @default 10_000 */
  fileIdleTimeoutMs?: number;
  /** @default 100 MiB */
  diskMarginBytes?: number;
  chromiumPath?: string | null;
  headed?: boolean;
  slowMoMs?: number;
  /** Aborting it stops the run gracefully: in-flight items finish or stay pending. */
  signal?: AbortSignal;
  events?: EventEmitter<RunEvents>;
  /** A browser to use instead of launching one (tests share one per file). */
  browser?: Browser;
}

const QUEUE_EVENTS: Array<keyof QueueEvents> = [
  'task:start',
  'task:done',
  'task:retry',
  'task:failed',
  'task:abandoned',
  'task:interrupted',
  'task:duplicate',
  'backoff',
  'relogin',
  'idle',
];

/** Pulls every item of `site` not yet done in the checkpoint. Resolves with the queue's summary. */
export async function run<Ref>(options: RunOptions<Ref>): Promise<QueueSummary> {
  const { site, baseUrl, credentials } = options;
  const events = options.events ?? new EventEmitter<RunEvents>();
  const signal = options.signal ?? new AbortController().signal;
  const concurrency = options.concurrency ?? 8;
  const warn = (message: string) => events.emit('warning', { message });

  const checkpoint = await Checkpoint.open({
    path: options.checkpoint,
    manifestPath: path.join(options.out, 'manifest.jsonl'),
    onWarning: warn,
  });
  const browser =
    options.browser ??
    (await launchBrowser({
      chromiumPath: options.chromiumPath ?? null,
      headless: !options.headed,
      slowMoMs: options.slowMoMs ?? 0,
    }));
  let pool: PagePool | undefined;
  let files: FileStore | undefined;
  try {
    pool = await PagePool.open({
      browser,
      size: concurrency,
      login: (page) => site.login(page, credentials, baseUrl),
      block: options.block ?? true,
      recycleAfter: options.recycleAfter ?? 200,
      onReplaced: (slot, reason) => events.emit('page:replaced', { slot, reason }),
      onLogin: (count) => events.emit('login', { count }),
      onWarning: warn,
    });
    const openPool = pool;
    const userAgent = await openPool.context.pages()[0]?.evaluate(() => navigator.userAgent);
    files = new FileStore({
      outDir: path.join(options.out, site.name),
      connections: concurrency * 2,
      cookies: (url) => openPool.context.cookies(url),
      ...(userAgent ? { userAgent } : {}),
      bodyIdleTimeoutMs: options.fileIdleTimeoutMs ?? 10_000,
      diskMarginBytes: options.diskMarginBytes ?? 100 * 1024 * 1024,
    });
    const store = files;

    const queue = new AsyncTaskQueue<Ref, SavedFile[]>({
      concurrency,
      taskTimeoutMs: options.taskTimeoutMs ?? 180_000,
      retries: options.retries ?? 2,
      key: (ref) => site.key(ref),
      relogin: () => openPool.relogin(),
      commit: async (outcome) => {
        if (outcome.status === 'done') await checkpoint.done(outcome.key, outcome.attempt, outcome.result);
        else {
          await checkpoint.failed(outcome.key, outcome.attempt, {
            reason: outcome.reason,
            ...(outcome.code ? { code: outcome.code } : {}),
            permanent: outcome.permanent,
          });
        }
      },
    });
    for (const name of QUEUE_EVENTS) {
      queue.on(name, (...args: unknown[]) =>
        (events.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args),
      );
    }
    queue.on('task:start', ({ key, attempt }) => {
      checkpoint.started(key, attempt).catch((err: unknown) => warn(`checkpoint: ${(err as Error).message}`));
    });

    const work = (ref: Ref, ctx: TaskContext) =>
      processItem(site, ref, ctx, { pool: openPool, store, events, baseUrl });
    const source = limitSource(
      options.refs
        ? parseRefs(site, readRefs(options.refs))
        : listWithRelogin(site, openPool, baseUrl, signal, events),
      { site, checkpoint, max: options.max ?? 0, retryFailed: options.retryFailed ?? false, events },
    );
    events.emit('run:start', { site: site.name, concurrency, total: null, skipped: 0 });
    const summary = await queue.run(source, work, { signal });
    events.emit(
      'run:end',
      summary.error === undefined
        ? { reason: summary.reason }
        : { reason: summary.reason, error: summary.error },
    );
    return summary;
  } finally {
    await files?.close();
    await pool?.close();
    if (!options.browser) await browser.close().catch(() => {});
    await checkpoint.close();
  }
}

interface ItemDeps {
  pool: PagePool;
  store: FileStore;
  events: EventEmitter<RunEvents>;
  baseUrl: string;
}

/** One attempt at one item: a page from the pool for the browser part, the downloads may outlive it. */
async function processItem<Ref>(
  site: Site<Ref>,
  ref: Ref,
  ctx: TaskContext,
  deps: ItemDeps,
): Promise<SavedFile[]> {
  const { pool, store, events } = deps;
  const saved: SavedFile[] = [];
  const jobFiles = collecting(store.forJob({ key: ctx.key, signal: ctx.signal }), (inSite) => {
    // The store works inside <out>/<site>; the checkpoint and the manifest name files from <out>.
    const file = { ...inSite, path: `${site.name}/${inSite.path}` };
    saved.push(file);
    events.emit('file:saved', { key: ctx.key, path: file.path, bytes: file.bytes });
    return file;
  });
  let processing: Promise<void> | undefined;
  await pool.withPage(
    async (page, slot) => {
      let holding = true;
      // After the page is released its slot belongs to another item: stages no longer show there.
      const stage = (name: string) => {
        if (holding) events.emit('task:stage', { key: ctx.key, attempt: ctx.attempt, slot, stage: name });
      };
      stage('start');
      let releasePage = () => {};
      const released = new Promise<void>((resolve) => {
        releasePage = () => {
          if (!holding) return;
          holding = false;
          events.emit('page:released', { key: ctx.key, slot });
          resolve();
        };
      });
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
      };
      processing = site.process(job);
      try {
        await Promise.race([processing, released]);
      } catch (err) {
        throw await explain(site, page, err);
      }
    },
    { signal: ctx.signal, abandoned: ctx.abandoned },
  );
  await processing;
  return saved;
}

/** An unclassified error on a page that shows the login form is a session expiry. */
async function explain<Ref>(site: Site<Ref>, page: Page, err: unknown): Promise<unknown> {
  if (err instanceof PagepoolError || !site.loggedOut || page.isClosed()) return err;
  const loggedOut = await site.loggedOut(page).catch(() => false);
  return loggedOut ? new SessionExpiredError('the portal logged us out', { cause: err }) : err;
}

function collecting(files: Files, onSaved: (file: SavedFile) => SavedFile): Files {
  const keep = async (promise: Promise<SavedFile>) => onSaved(await promise);
  return {
    fetch: (url, opts) => keep(files.fetch(url, opts)),
    fromDownload: (download, opts) => keep(files.fromDownload(download, opts)),
    fromBytes: (bytes, opts) => keep(files.fromBytes(bytes, opts)),
    screenshot: (element, opts) => keep(files.screenshot(element, opts)),
  };
}

/**
 * The site's listing on a page of its own. If the portal logs us out mid-listing, log in again and list anew,
 * skipping what was already yielded (at most 3 times).
 */
async function* listWithRelogin<Ref>(
  site: Site<Ref>,
  pool: PagePool,
  baseUrl: string,
  signal: AbortSignal,
  events: EventEmitter<RunEvents>,
): AsyncGenerator<Ref> {
  const seen = new Set<string>();
  const page = await pool.extraPage();
  try {
    for (let restarts = 0; ; restarts++) {
      try {
        for await (const ref of site.list(page, signal, baseUrl)) {
          const key = site.key(ref);
          if (seen.has(key)) continue;
          seen.add(key);
          yield ref;
        }
        return;
      } catch (err) {
        if (!(err instanceof SessionExpiredError) || restarts >= 3) throw err;
        events.emit('warning', { message: 'logged out while listing; logging in again' });
        await pool.relogin();
      }
    }
  } finally {
    await page.close().catch(() => {});
  }
}

async function* parseRefs<Ref>(site: Site<Ref>, values: AsyncIterable<unknown>): AsyncGenerator<Ref> {
  let n = 0;
  for await (const value of values) {
    n += 1;
    let ref: Ref;
    try {
      ref = site.parseRef ? site.parseRef(value) : (value as Ref);
    } catch (err) {
      throw new ConfigError(
        `\`--refs\` item ${n} is not a ref of site ${site.name}: ${(err as Error).message}`,
      );
    }
    yield ref;
  }
}

/** Applies `--max` (first N of the source) and skips what the checkpoint says is finished. */
async function* limitSource<Ref>(
  source: AsyncIterable<Ref>,
  opts: {
    site: Site<Ref>;
    checkpoint: Checkpoint;
    max: number;
    retryFailed: boolean;
    events: EventEmitter<RunEvents>;
  },
): AsyncGenerator<Ref> {
  let seen = 0;
  let queued = 0;
  for await (const ref of source) {
    seen += 1;
    if (!opts.checkpoint.shouldSkip(opts.site.key(ref), { retryFailed: opts.retryFailed })) {
      queued += 1;
      opts.events.emit('run:total', { total: queued });
      yield ref;
    }
    if (opts.max > 0 && seen >= opts.max) return;
  }
}

export type ListOptions<Ref> = Pick<
  RunOptions<Ref>,
  'site' | 'baseUrl' | 'credentials' | 'chromiumPath' | 'headed' | 'slowMoMs' | 'signal' | 'browser' | 'max'
>;

/** The site's refs, after one login, without downloading anything (`pagepool list`). */
export async function* listRefs<Ref>(options: ListOptions<Ref>): AsyncGenerator<Ref> {
  const { site, baseUrl, credentials } = options;
  const signal = options.signal ?? new AbortController().signal;
  const browser =
    options.browser ??
    (await launchBrowser({
      chromiumPath: options.chromiumPath ?? null,
      headless: !options.headed,
      slowMoMs: options.slowMoMs ?? 0,
    }));
  let pool: PagePool | undefined;
  try {
    pool = await PagePool.open({ browser, size: 1, login: (page) => site.login(page, credentials, baseUrl) });
    let n = 0;
    for await (const ref of listWithRelogin(site, pool, baseUrl, signal, new EventEmitter<RunEvents>())) {
      yield ref;
      n += 1;
      if (options.max && n >= options.max) return;
    }
  } finally {
    await pool?.close();
    if (!options.browser) await browser.close().catch(() => {});
  }
}
