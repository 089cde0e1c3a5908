// Everything a run tells its listeners (progress UI, plain log, report, metrics): the queue's events plus the engine's.
import type { FileChange } from './files/types.js';
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
  /**
   * The source gave one more ref: `pages` the listing has opened so far (null for `--refs`), refs `seen` so far
   * (bad ones included), how many of them are `fresh` (to be pulled: not done in the checkpoint); `done` once the
   * source has no more.
   */
  'list:progress': [{ pages: number | null; seen: number; fresh: number; done: boolean }];
  /**
   * A ref that cannot be worked was skipped: `ref` as JSON (cut to 120 characters), `where` it came from (`the
   * listing page URL`, `` `--refs` FILE line N ``), and why (`site.key() gave an empty string`). It is no item:
   * no checkpoint record, but the run exits 1.
   */
  'ref:bad': [{ ref: string; where: string; reason: string }];
  /** A page picked up an item, or the item moved to a new stage ("search", "detail", "download"). */
  'task:stage': [{ key: string; attempt: number; slot: number; stage: string }];
  /** The item gave its page back (`job.releasePage()`) and goes on downloading without it. */
  'page:released': [{ key: string; slot: number }];
  /** The item left the download stage (its work ended or was given up): its room goes to the next. */
  'download:left': [{ key: string }];
  /**
   * A file is whole on disk. In a refresh, `change` says how it compares with the recorded copy: `unchanged` (a 304
   * or the same bytes: nothing written), `updated` (replaced), `added` (new for the item).
   */
  'file:saved': [{ key: string; path: string; bytes: number; change?: FileChange }];
  /**
   * A listing ended complete (its last page read, not stopped, not cut by `--max`): it gave `listed` keys, and `keys`
   * are the items done before that it no longer gave. They left the portal; their files are kept, never deleted.
   */
  'list:gone': [{ keys: string[]; listed: number }];
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
