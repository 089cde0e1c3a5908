// Everything a run tells its listeners (progress UI, plain log, report, metrics): the queue's events plus the engine's.
import type { QueueEvents } from './queue/events.js';
import type { UploadEvents } from './sinks/upload-events.js';

export interface RunEvents extends QueueEvents, UploadEvents {
  /** The run starts; `total` is known when the source is a file or a listing was counted, else null. */
  'run:start': [
    {
      site: string;
      /** Pages: items in the browser stage at once. */
      concurrency: number;
      /** Items in the download stage at once (after `job.releasePage()`). */
      downloads?: number;
      total: number | null;
      skipped: number;
    },
  ];
  /** More items were found by the listing (total grows as the inventory is paged through). */
  'run:total': [{ total: number }];
  /** A page picked up an item, or the item moved to a new stage ("search", "detail", "download"). */
  'task:stage': [{ key: string; attempt: number; slot: number; stage: string }];
  /** The item gave its page back (`job.releasePage()`) and goes on downloading without it. */
  'page:released': [{ key: string; slot: number }];
  /** The item left the download stage (its work ended or was given up): its room goes to the next. */
  'download:left': [{ key: string }];
  /** A file is whole on disk. */
  'file:saved': [{ key: string; path: string; bytes: number }];
  /** A page was closed and replaced (recycled, crashed, or poisoned by an abandoned task). */
  'page:replaced': [{ slot: number; reason: string }];
  /** Logged in (first login or a shared re-login). */
  login: [{ count: number }];
  /** The saved session still worked: the run started without a login. */
  'session:restored': [];
  /** A non-fatal notice for the user (a dropped torn journal line, a slow page close). */
  warning: [{ message: string }];
  /** The run ended: `reason` is 'done', 'interrupted' or 'fatal'. */
  'run:end': [{ reason: 'done' | 'interrupted' | 'fatal'; error?: unknown }];
}
