// The library's entry: one pull of one site on this machine, with the in-process queue and the checkpoint file.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { PagePool } from './browser/page-pool.js';
import { Checkpoint } from './checkpoint/checkpoint.js';
import { limitSource, listWithRelogin, parseRefs, type SourceEntry } from './engine/item-source.js';
import {
  type AttemptContext,
  browserFor,
  defaultDownloads,
  type ItemWorkerOptions,
  openItemWorker,
} from './engine/item-worker.js';
import { readListingAhead } from './engine/listing-read-ahead.js';
import { itemWorkerProblems, show } from './engine/option-problems.js';
import { checkpointSkip, completeListing } from './engine/refresh-source.js';
import type { UploadStep } from './engine/upload-step.js';
import { ConfigError } from './errors.js';
import { type SessionHtml, sessionHtml } from './files/session-html.js';
import type { SavedFile } from './files/types.js';
import { QUEUE_EVENT_NAMES } from './queue/events.js';
import { checkQueueOptions, QUEUE_DEFAULTS, type QueueOptionsInput } from './queue/queue-options.js';
import { SingleFlightLogin } from './queue/single-flight-login.js';
import { AsyncTaskQueue, type BackoffOptions, type QueueSummary } from './queue/task-queue.js';
import type { RunEvents } from './run-events.js';
import { type PoolSession, poolSession } from './sessions/saved-session.js';
import { readRefs } from './sites/read-refs.js';

/** The worker's options (site, credentials, out, browser, blocking, recycling, file limits, trace...) plus the run's. */
export interface RunOptions<Ref> extends Omit<ItemWorkerOptions<Ref>, 'concurrency' | 'events'> {
  /** The checkpoint file (the CLI's is `<out>/.pagepool/checkpoint.json`); its journal and lock sit beside it. */
  checkpoint: string;
  /** Pages working at once. @default 8 */
  concurrency?: number;
  /** One item's deadline in ms; then it is abandoned and retried. @default 180_000 */
  taskTimeoutMs?: number;
  /** Retries of a transient failure. @default 2 */
  retries?: number;
  /** At most this many item starts per second (one run talks to one portal: a per-host rate); 0 = none. @default 0 */
  rate?: number;
  /**
   * An attempt still running this long after its deadline is abandoned (its page closed, the item retried); also
   * how long a shutdown waits for attempts that ignore their aborted signal before it cuts them loose.
   * @default 5_000
   */
  graceMs?: number;
  /**
   * After `signal` aborts (Ctrl+C), in-flight items get this long to finish and be recorded; then their signals
   * abort and they stay pending for the next run.
   * @default 10_000
   */
  shutdownGraceMs?: number;
  /** Delay between retries of one item. @default { minMs: 1000, maxMs: 30000, factor: 2, jitter: true } */
  backoff?: Partial<BackoffOptions>;
  /** Only the first N items of the source (0 = all). @default 0 */
  max?: number;
  /** JSONL/CSV file of refs ('-' = stdin) instead of `site.list`. @default null */
  refs?: string | null;
  /** Also retry items that failed permanently before. @default false */
  retryFailed?: boolean;
  /**
   * Refresh: done items recorded longer ago than this many ms (0: every done item) are pulled again, in listing
   * order with the new ones; each file is compared with its recorded copy (a conditional request for a fetched
   * one) and only what changed is written. @default null (done items are skipped)
   */
  refreshAfterMs?: number | null;
  /**
   * Upload every item's files (`openUploadStep`, preflighted by its opener, who also closes it): an item is done
   * once its files are whole on disk and in the bucket; a resumed item uploads what is missing without pulling.
   */
  upload?: UploadStep | null;
  /** Aborting it stops the run gracefully: in-flight items finish or stay pending. */
  signal?: AbortSignal;
  /** The emitter to tell what happens through (RunEvents): progress, files, failures. */
  events?: EventEmitter<RunEvents>;
}

/** What `run()` resolves with: the queue's summary, and the refs skipped as unworkable ('ref:bad' events). */
export interface RunSummary extends QueueSummary {
  /** Refs with no usable key (or `--refs` lines that are no ref): reported, skipped, not in the checkpoint. */
  badRefs: number;
}

/**
 * Pulls every item of `site` not yet done in the checkpoint. Resolves with the queue's summary. Every option is
 * checked before anything is launched or written: one ConfigError names each bad field.
 */
export async function run<Ref>(options: RunOptions<Ref>): Promise<RunSummary> {
  const { site, baseUrl } = options;
  const events = options.events ?? new EventEmitter<RunEvents>();
  const signal = options.signal ?? new AbortController().signal;
  const concurrency = options.concurrency ?? QUEUE_DEFAULTS.concurrency;
  const warn = (message: string) => events.emit('warning', { message });
  const workerOptions = { ...options, concurrency, events };
  const queueOptions: QueueOptionsInput<Ref, SavedFile[]> = {
    ...definedOf(options, ['taskTimeoutMs', 'retries', 'rate', 'graceMs', 'shutdownGraceMs']),
    ...(options.backoff ? { backoff: { ...QUEUE_DEFAULTS.backoff, ...options.backoff } } : {}),
    key: (ref: Ref) => site.key(ref),
  };
  checkRunOptions(workerOptions, queueOptions);

  // Logged in before anything is made in `out`: a refused login leaves no checkpoint, journal or manifest behind.
  const worker = await openItemWorker(workerOptions);
  try {
    const checkpoint = await Checkpoint.open({
      path: options.checkpoint,
      manifestPath: path.join(options.out, 'manifest.jsonl'),
      uploads: Boolean(options.upload),
      refreshAfterMs: options.refreshAfterMs ?? null,
      onWarning: warn,
    });
    try {
      const downloads = worker.downloads.limit;
      const queue = new AsyncTaskQueue<Ref, SavedFile[]>({
        ...queueOptions,
        // Both stages: the pool bounds the pages, the download stage the rest.
        concurrency: concurrency + downloads,
        // The workers and the listing share one browser context, so they share its re-login too.
        relogin: worker.login,
        gate: worker.pages,
        hold: worker.hold,
        commit: async (outcome) => {
          if (outcome.status === 'done') {
            await checkpoint.done(outcome.key, outcome.attempt, outcome.result);
            await options.upload
              ?.recorded(outcome.result)
              .catch((err: unknown) =>
                warn(`${outcome.key}: local copy not deleted: ${(err as Error).message}`),
              );
          } else {
            await checkpoint.failed(outcome.key, outcome.attempt, {
              reason: outcome.reason,
              ...(outcome.code ? { code: outcome.code } : {}),
              permanent: outcome.permanent,
            });
          }
        },
      });
      for (const name of QUEUE_EVENT_NAMES) {
        queue.on(name, (...args: unknown[]) =>
          (events.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args),
        );
      }
      queue.on('task:start', ({ key, attempt }) => {
        checkpoint
          .started(key, attempt)
          .catch((err: unknown) => warn(`checkpoint: ${(err as Error).message}`));
      });
      const retryFailed = options.retryFailed ?? false;
      let badRefs = 0;
      const onBadRef = () => {
        badRefs += 1;
      };
      events.on('ref:bad', onBadRef);
      const source = limitSource(
        options.refs
          ? parseRefs(site, readRefs(options.refs))
          : readListingAhead(
              completeListing(
                listWithRelogin(site, worker.pool, baseUrl, signal, events, worker.login, {
                  retries: options.retries ?? QUEUE_DEFAULTS.retries,
                  backoff: { ...QUEUE_DEFAULTS.backoff, ...options.backoff },
                  hold: worker.hold,
                }),
                checkpoint,
                signal,
                events,
              ),
              { max: options.max ?? 0, signal },
            ),
        { skip: checkpointSkip(checkpoint, retryFailed), max: options.max ?? 0, events },
      );
      events.emit('run:start', { site: site.name, concurrency, downloads, total: null, skipped: 0 });
      const { upload } = options;
      // A stale item's attempt is a refresh: its files are compared with the recorded ones.
      const refresh = (ctx: AttemptContext) => ({ ...ctx, previous: checkpoint.previousFiles(ctx.key) });
      const work = upload
        ? (ref: Ref, ctx: AttemptContext) =>
            upload.attempt({
              key: ctx.key,
              signal: ctx.signal,
              pull: () => worker.work(ref, refresh(ctx)),
              pending: checkpoint.pendingUploads(ctx.key),
              saved: (files) => checkpoint.saved(ctx.key, ctx.attempt, files),
            })
        : (ref: Ref, ctx: AttemptContext) => worker.work(ref, refresh(ctx));
      const summary = await queue.run(source, work, { signal }).finally(() => {
        events.off('ref:bad', onBadRef);
      });
      events.emit(
        'run:end',
        summary.error === undefined
          ? { reason: summary.reason }
          : { reason: summary.reason, error: summary.error },
      );
      return { ...summary, badRefs };
    } finally {
      await checkpoint.close();
    }
  } finally {
    await worker.close();
  }
}

/** The run's own fields, the item worker's and the queue's, all at once: throws one ConfigError naming each bad one. */
function checkRunOptions<Ref>(
  options: RunOptions<Ref> & ItemWorkerOptions<Ref>,
  queue: QueueOptionsInput<Ref, SavedFile[]>,
): void {
  const problems = itemWorkerProblems(options);
  const pages = options.concurrency;
  const downloads = options.downloads || (Number.isInteger(pages) ? defaultDownloads(pages) : 0);
  // The queue runs pages + downloads; each is checked on its own above.
  const tasks = Number.isInteger(pages + downloads) && pages + downloads > 0 ? pages + downloads : 1;
  problems.push(...checkQueueOptions({ ...queue, concurrency: tasks }).problems);
  if (typeof options.checkpoint !== 'string' || options.checkpoint === '')
    problems.push(`Expected \`checkpoint\` to be a file path, got \`${show(options.checkpoint)}\``);
  const { max } = options;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0))
    problems.push(`Expected \`max\` to be an integer from 0, got \`${show(max)}\``);
  const refresh = options.refreshAfterMs;
  if (refresh !== undefined && refresh !== null && !(Number.isSafeInteger(refresh) && refresh >= 0))
    problems.push(
      `Expected \`refreshAfterMs\` to be an integer from 0 (ms) or null, got \`${show(refresh)}\``,
    );
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
}

/** The fields of `options` named in `names` that are set. */
function definedOf<O extends object, K extends keyof O>(options: O, names: K[]): Partial<Pick<O, K>> {
  const out: Partial<Pick<O, K>> = {};
  for (const name of names) if (options[name] !== undefined) out[name] = options[name];
  return out;
}

export type ListOptions<Ref> = Pick<
  RunOptions<Ref>,
  | 'site'
  | 'baseUrl'
  | 'credentials'
  | 'chromiumPath'
  | 'headed'
  | 'slowMoMs'
  | 'signal'
  | 'browser'
  | 'max'
  | 'sessionFile'
  | 'freshSession'
  | 'proxy'
>;

/** The site's refs (and its bad refs), after one login, without downloading anything (`pagepool list`). */
export async function* listRefs<Ref>(options: ListOptions<Ref>): AsyncGenerator<SourceEntry<Ref>> {
  const { site, baseUrl } = options;
  const signal = options.signal ?? new AbortController().signal;
  const { browser, close: closeBrowser } = await browserFor(options);
  let pool: PagePool | undefined;
  let session: PoolSession | undefined;
  let http: SessionHtml | undefined;
  try {
    // Starts from the saved session and saves after a login, as a run does (src/sessions/saved-session.ts).
    session = await poolSession({ ...options, warn: () => {} });
    pool = await new PagePool({ browser, size: 1, ...session.pool }).open();
    const opened = pool;
    http = sessionHtml(() => opened.context, options.proxy);
    pool.readHtml = http.readHtml;
    let n = 0;
    const login = new SingleFlightLogin(() => pool!.relogin());
    for await (const entry of listWithRelogin(
      site,
      pool,
      baseUrl,
      signal,
      new EventEmitter<RunEvents>(),
      login,
    )) {
      yield entry;
      n += 1;
      if (options.max && n >= options.max) return;
    }
  } finally {
    if (pool) await session?.keep(pool);
    await http?.close();
    await pool?.close();
    await closeBrowser();
  }
}
