// What a failed attempt leaves behind to look at: a snapshot (screenshot, HTML, error chain) and, with --trace, a
// Playwright trace, in the item's failure folder; removed when the item later succeeds.
import path from 'node:path';
import type { Page } from 'playwright';
import type { FailureSnapshots } from '../browser/failure-snapshot.js';
import type { TraceRecorder } from '../browser/trace-recorder.js';
import { classify } from '../errors.js';
import type { AttemptContext } from './item-attempt.js';

export interface FailureCaptureOptions {
  snapshots: FailureSnapshots | null;
  trace: TraceRecorder | null;
  /** The password and every cookie value the context has held: scrubbed from what is kept. */
  secrets(): Promise<string[]>;
  warn(message: string): void;
}

/**
 * Saves the snapshot of an attempt that failed while it still held its page: the browser page, or without one
 * the page it last read over HTTP.
 */
export type OnPageFailure = (
  error: unknown,
  page: Page | null,
  read?: { url: string; html: string },
) => Promise<void>;

export class FailureCapture {
  readonly #o: FailureCaptureOptions;

  constructor(options: FailureCaptureOptions) {
    this.#o = options;
  }

  /**
   * Runs one attempt with its capture: a snapshot written when it fails (over an earlier attempt's), removed when
   * it succeeds. `attempt` is given the function that snapshots its page; a failure past its page is snapshotted
   * without one. A snapshot that cannot be written never hides the item's own error.
   */
  async around<T>(ctx: AttemptContext, attempt: (onPageFailure: OnPageFailure) => Promise<T>): Promise<T> {
    const { snapshots, trace, secrets } = this.#o;
    if (trace) {
      await secrets();
      await trace.begin();
    }
    let snapped = false;
    const onPageFailure: OnPageFailure = async (error, page, read) => {
      if (!snapshots || !worthSnapshot(error, ctx)) return;
      await snapshots
        .save({ key: ctx.key, attempt: ctx.attempt, error, page, read: read ?? null, signal: ctx.signal })
        .then(() => {
          snapped = true;
        })
        .catch((e: unknown) => this.#notSaved(ctx, e));
    };
    let result: T;
    try {
      result = await attempt(onPageFailure);
    } catch (err) {
      if (snapshots && worthSnapshot(err, ctx)) {
        if (!snapped) {
          await snapshots
            .save({ key: ctx.key, attempt: ctx.attempt, error: err, page: null })
            .catch((e: unknown) => this.#notSaved(ctx, e));
        }
        if (trace) await trace.end(path.join(snapshots.folder(ctx.key), 'trace.zip'), await secrets());
      } else await trace?.end(null, []);
      throw err;
    }
    await trace?.end(null, []);
    await snapshots?.clear(ctx.key).catch(() => {});
    return result;
  }

  #notSaved(ctx: AttemptContext, e: unknown): void {
    this.#o.warn(`${ctx.key}: failure snapshot not saved: ${(e as Error).message}`);
  }
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
