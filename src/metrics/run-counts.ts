// The counts of one run's outcomes, taken from its events in one place: the progress display, the run summary,
// report.json and the Prometheus metrics all read these, so they cannot disagree.
import type { EventEmitter } from 'node:events';
import type { RunEvents } from '../run-events.js';

type Listeners = { [E in keyof RunEvents]?: (...args: RunEvents[E]) => void };

/** Listens from construction; O(1) state. Make it before any listener that reads it, so it is never behind. */
export class RunCounts {
  /** Items done (every file whole, and uploaded with --upload). */
  done = 0;
  /**
   * Of `done`, by what a refresh found: `updated` (some file changed or was added), `unchanged` (every file the
   * same as recorded: nothing written), `saved` (pulled without a recorded copy: the first time).
   */
  saved = 0;
  updated = 0;
  unchanged = 0;
  /** Items failed for good in this run (permanent, or out of retries). */
  failed = 0;
  /** Of `failed`, those that failed permanently (never retried, even by the next run). */
  permanent = 0;
  /** Retries scheduled ('task:retry'; one item may retry several times). */
  retries = 0;
  /** Attempts abandoned past their deadline (the item is retried or failed after). */
  abandoned = 0;
  /** Items stopped by a shutdown before they finished ('task:interrupted'). */
  interrupted = 0;
  /** Keys seen again in this run's source. */
  duplicates = 0;
  /** Files written to disk, and their bytes (a refresh's unchanged files are not written). */
  filesWritten = 0;
  bytes = 0;
  /** Logins, the first included. */
  logins = 0;
  /** Shared re-logins started. */
  relogins = 0;
  readonly #listeners: Listeners;

  constructor(private readonly events: EventEmitter<RunEvents>) {
    this.#listeners = {
      'task:done': ({ result }) => {
        this.done += 1;
        this[refreshOutcome(result)] += 1;
      },
      'task:failed': ({ permanent }) => {
        this.failed += 1;
        if (permanent) this.permanent += 1;
      },
      'task:retry': () => {
        this.retries += 1;
      },
      'task:abandoned': () => {
        this.abandoned += 1;
      },
      'task:interrupted': () => {
        this.interrupted += 1;
      },
      'task:duplicate': () => {
        this.duplicates += 1;
      },
      'file:saved': ({ bytes, change }) => {
        if (change === 'unchanged') return;
        this.filesWritten += 1;
        this.bytes += bytes;
      },
      login: ({ count }) => {
        this.logins = Math.max(this.logins, count);
      },
      relogin: ({ done }) => {
        if (!done) this.relogins += 1;
      },
    };
    for (const [name, fn] of Object.entries(this.#listeners)) {
      events.on(name as keyof RunEvents, fn as (...args: unknown[]) => void);
    }
  }

  /** Stops listening; the counts stay as they are. */
  dispose(): void {
    for (const [name, fn] of Object.entries(this.#listeners)) {
      this.events.off(name as keyof RunEvents, fn as (...args: unknown[]) => void);
    }
  }
}

/**
 * What a done item's files (the 'task:done' result) say a refresh found: a file compared with a recorded copy has a
 * `change`; none has one when the item had no recorded copy.
 */
export function refreshOutcome(result: unknown): 'saved' | 'updated' | 'unchanged' {
  const changes = Array.isArray(result)
    ? result.map((f) => (f as { change?: unknown } | null)?.change).filter((c) => c !== undefined)
    : [];
  if (changes.length === 0) return 'saved';
  return changes.every((c) => c === 'unchanged') ? 'unchanged' : 'updated';
}
