// A fleet machine set up: its item worker (browser, logged-in pool, files) and, with --upload, the upload step,
// as the work a FleetWorker runs on the queue's jobs.
import type { RecordedFile } from '../checkpoint/recorded-file.js';
import type { AttemptContext } from '../engine/item-attempt.js';
import { type ItemWorkerOptions, openItemWorker } from '../engine/item-worker.js';
import type { UploadStep } from '../engine/upload-step.js';
import type { RateHold } from '../queue/rate-hold.js';
import type { SingleFlightLogin } from '../queue/single-flight-login.js';
import type { Capacity } from '../queue/start-gate.js';
import type { FleetQueueOptions } from './fleet-options.js';
import { FleetWorker } from './fleet-worker.js';

/** The item worker's options (site, credentials, out, pool, files, browser...) plus the fleet's. */
export interface FleetWorkerOptions<Ref> extends ItemWorkerOptions<Ref>, FleetQueueOptions {
  /** Upload each item's files before its job completes; the job's outcome names the objects. */
  upload?: UploadStep | null;
}

/** What the fleet runs: one attempt at one item, the machine's one login, and how to close it. */
export interface FleetWork<Ref> {
  work(ref: Ref, ctx: AttemptContext): Promise<RecordedFile[]>;
  login: SingleFlightLogin;
  /**
   * The browser stage as the start gate's capacity: an attempt starts (and its deadline runs) only when a page is
   * free for it, as in the in-process queue. Without it (plain work) every job BullMQ hands over may start.
   */
  pages?: Capacity;
  /** The machine's 429 hold, shared with its file store. @default a hold of its own */
  hold?: RateHold;
  close(): Promise<void>;
  /** After the job completed: e.g. the upload step deletes local copies (`--no-keep-local`). */
  completed?(files: readonly RecordedFile[]): Promise<void>;
}

/** Launches (or borrows) the browser and logs in once; the BullMQ worker starts with `run()`. */
export async function openFleetWorker<Ref>(options: FleetWorkerOptions<Ref>): Promise<FleetWorker<Ref>> {
  const item = await openItemWorker(options);
  const { upload } = options;
  const withDownloads = { ...options, downloads: item.downloads.limit };
  if (!upload) return new FleetWorker(withDownloads, item, item.pool);
  // No checkpoint here: a job taken again after a crash is pulled again, and the sink skips objects already
  // in the bucket with the same sha256.
  const work: FleetWork<Ref> = {
    login: item.login,
    pages: item.pages,
    hold: item.hold,
    close: () => item.close(),
    work: (ref, ctx) => upload.attempt({ key: ctx.key, signal: ctx.signal, pull: () => item.work(ref, ctx) }),
    completed: (files) => upload.recorded(files),
  };
  return new FleetWorker(withDownloads, work, item.pool);
}
