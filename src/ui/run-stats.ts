// Live counters of one run (done, failed, retrying, bytes, what each page is doing), fed by run events only.
import type { EventEmitter } from 'node:events';
import { RunCounts } from '../metrics/run-counts.js';
import type { RunEvents } from '../run-events.js';

/** What one page slot is doing right now. */
export interface SlotState {
  key: string;
  stage: string;
  /** When the slot entered this stage (clock of `now`). */
  since: number;
}

export type EndReason = 'done' | 'interrupted' | 'fatal';

type Listeners = { [E in keyof RunEvents]?: (...args: RunEvents[E]) => void };

/**
 * Counts what the run's events say. State is O(pages + tasks in flight or waiting to retry), never
 * O(items), so it holds for runs of any length.
 *
 * `total` is the number of items this run will try (the checkpoint's skipped items are not in it);
 * it never shows less than what is already finished.
 */
export class RunStats {
  site = '';
  concurrency = 0;
  /** The download stage's bound (0 when the run has none). */
  downloads = 0;
  skipped = 0;
  /** The outcome counts, taken the way the metrics take them (metrics/run-counts.ts). */
  readonly counts: RunCounts;
  /** Refs skipped as unworkable ('ref:bad'). */
  badRefs = 0;
  /** Done items the last complete listing no longer showed ('list:gone'); null until a listing ends complete. */
  gone: string[] | null = null;
  /** The source's progress: listing pages opened (null for `--refs`), refs seen, how many new; null before any. */
  listing: { pages: number | null; seen: number; fresh: number; done: boolean } | null = null;
  /** `--upload`: files sent to the store, files already there (same sha256), failed uploads, bytes sent. */
  readonly uploads = { uploaded: 0, skipped: 0, failed: 0, bytes: 0 };
  startedAt: number;
  endedAt: number | null = null;
  reason: EndReason | null = null;
  error: unknown = undefined;
  readonly slots: Array<SlotState | null> = [];

  private announcedTotal: number | null = null;
  /** Items still open when the run ended: they stay pending, counted with the interrupted. */
  private leftOpen = 0;
  /** Keys started and not yet finished (running or waiting to retry). */
  private readonly open = new Set<string>();
  private readonly waitingRetry = new Set<string>();
  /** When each attempt running now started (its 'task:start'). */
  private readonly startedAtOf = new Map<string, number>();
  /** Keys in the download stage: their page released, their outcome not in yet. */
  private readonly downloading = new Set<string>();
  /** Where each running key is, so its slot goes idle when the key finishes. */
  private readonly slotOf = new Map<string, number>();
  private readonly listeners: Listeners;

  constructor(
    private readonly events: EventEmitter<RunEvents>,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    // First: every listener below (and every renderer) reads counts that already include the event.
    this.counts = new RunCounts(events);
    this.listeners = {
      'run:start': ({ site, concurrency, downloads, total, skipped }) => {
        this.site = site;
        this.concurrency = concurrency;
        this.downloads = downloads ?? 0;
        this.announcedTotal = total;
        this.skipped = skipped;
        this.startedAt = this.now();
        this.ensureSlots(concurrency);
      },
      'run:total': ({ total }) => {
        this.announcedTotal = total;
      },
      'task:start': ({ key }) => {
        this.open.add(key);
        this.waitingRetry.delete(key);
        this.startedAtOf.set(key, this.now());
      },
      'task:stage': ({ key, slot, stage }) => {
        this.open.add(key);
        this.waitingRetry.delete(key);
        const previous = this.slotOf.get(key);
        if (previous !== undefined && previous !== slot) this.freeSlot(key);
        this.ensureSlots(slot + 1);
        const current = this.slots[slot];
        // A new stage restarts the clock; a repeated stage event for the same work does not.
        if (!current || current.key !== key || current.stage !== stage) {
          this.slots[slot] = { key, stage, since: this.now() };
        }
        this.slotOf.set(key, slot);
      },
      'page:released': ({ key, slot }) => {
        this.downloading.add(key);
        if (this.slots[slot]?.key === key) {
          this.slots[slot] = null;
          this.slotOf.delete(key);
        }
      },
      'download:left': ({ key }) => {
        this.downloading.delete(key);
      },
      'task:done': ({ key }) => {
        this.close(key);
      },
      'task:failed': ({ key }) => {
        this.close(key);
      },
      'task:retry': ({ key }) => {
        this.open.add(key);
        this.waitingRetry.add(key);
        this.startedAtOf.delete(key);
        this.freeSlot(key);
      },
      'task:abandoned': ({ key }) => {
        this.startedAtOf.delete(key);
        this.freeSlot(key);
      },
      'task:interrupted': ({ key }) => {
        this.close(key);
      },
      'ref:bad': () => {
        this.badRefs += 1;
      },
      'list:progress': (progress) => {
        this.listing = progress;
      },
      'list:gone': ({ keys }) => {
        this.gone = keys;
      },
      'upload:progress': ({ bytes }) => {
        this.uploads.bytes += bytes;
      },
      'upload:done': ({ skipped }) => {
        if (skipped) this.uploads.skipped += 1;
        else this.uploads.uploaded += 1;
      },
      'upload:failed': () => {
        this.uploads.failed += 1;
      },
      'page:replaced': ({ slot }) => {
        const current = this.slots[slot];
        if (current) this.slotOf.delete(current.key);
        if (slot < this.slots.length) this.slots[slot] = null;
      },
      'run:end': ({ reason, error }) => {
        this.endedAt = this.now();
        this.reason = reason;
        this.error = error;
        // Whatever never reached an outcome stays pending in the checkpoint: count it as interrupted.
        this.leftOpen += this.open.size;
        this.open.clear();
        this.waitingRetry.clear();
        this.startedAtOf.clear();
        this.downloading.clear();
        this.slotOf.clear();
        this.slots.fill(null);
      },
    };
    for (const [name, fn] of Object.entries(this.listeners)) {
      events.on(name as keyof RunEvents, fn as (...args: unknown[]) => void);
    }
  }

  get done(): number {
    return this.counts.done;
  }

  /** Done items a refresh found changed, and found the same (nothing written). */
  get updated(): number {
    return this.counts.updated;
  }

  get unchanged(): number {
    return this.counts.unchanged;
  }

  /** Done items pulled the first time (no recorded copy). */
  get saved(): number {
    return this.counts.saved;
  }

  /** Whether any done item was a refresh: the display then shows saved, updated and unchanged. */
  get refreshing(): boolean {
    return this.updated + this.unchanged > 0;
  }

  /** Failed for good in this run, permanent ones included. */
  get failed(): number {
    return this.counts.failed;
  }

  get permanent(): number {
    return this.counts.permanent;
  }

  /** Every 'task:retry' event (one item can retry several times). */
  get retries(): number {
    return this.counts.retries;
  }

  get abandoned(): number {
    return this.counts.abandoned;
  }

  /** Items stopped by shutdown, plus those still open when the run ended: all stay pending. */
  get interrupted(): number {
    return this.counts.interrupted + this.leftOpen;
  }

  get duplicates(): number {
    return this.counts.duplicates;
  }

  get bytes(): number {
    return this.counts.bytes;
  }

  /** Stops listening. */
  dispose(): void {
    this.counts.dispose();
    for (const [name, fn] of Object.entries(this.listeners)) {
      this.events.off(name as keyof RunEvents, fn as (...args: unknown[]) => void);
    }
  }

  /** Items known for this run, never less than those already finished; null while unknown. */
  get total(): number | null {
    if (this.announcedTotal === null) return null;
    return Math.max(this.announcedTotal, this.finished);
  }

  /** Done or failed: the items that will not be tried again in this run. */
  get finished(): number {
    return this.done + this.failed;
  }

  /** Items waiting in the retry queue right now. */
  get retrying(): number {
    return this.waitingRetry.size;
  }

  /** How long the oldest attempt running now has run; 0 when none is. O(attempts in flight). */
  oldestInFlightMs(now = this.now()): number {
    let oldest = now;
    for (const startedAt of this.startedAtOf.values()) oldest = Math.min(oldest, startedAt);
    return Math.max(0, now - oldest);
  }

  /** Pages working on an item right now. */
  get pagesBusy(): number {
    return this.slots.reduce((n, slot) => (slot ? n + 1 : n), 0);
  }

  /** Items in the download stage right now. */
  get downloadsInFlight(): number {
    return this.downloading.size;
  }

  /** Re-logins after the first login, from whichever of the two events the engine sends. */
  get relogins(): number {
    return Math.max(this.counts.relogins, this.counts.logins - 1);
  }

  elapsedMs(now = this.now()): number {
    return Math.max(0, (this.endedAt ?? now) - this.startedAt);
  }

  itemsPerSec(now = this.now()): number {
    const seconds = this.elapsedMs(now) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }

  bytesPerSec(now = this.now()): number {
    const seconds = this.elapsedMs(now) / 1000;
    return seconds > 0 ? this.bytes / seconds : 0;
  }

  /** Bytes sent to the store per second of the run. */
  uploadBytesPerSec(now = this.now()): number {
    const seconds = this.elapsedMs(now) / 1000;
    return seconds > 0 ? this.uploads.bytes / seconds : 0;
  }

  /** Whether anything was uploaded or tried (the display shows uploads only then). */
  get uploading(): boolean {
    const u = this.uploads;
    return u.uploaded + u.skipped + u.failed > 0;
  }

  /** Time left at the pace so far; null while the total or the pace is unknown. */
  etaMs(now = this.now()): number | null {
    const total = this.total;
    const elapsed = this.elapsedMs(now);
    if (total === null || this.finished === 0 || elapsed <= 0) return null;
    return ((total - this.finished) * elapsed) / this.finished;
  }

  /** Items a next run would still have to try: not done and not failed (all that is known of them if the total is not). */
  pending(): number {
    const total = this.total;
    const open = this.interrupted + this.open.size;
    return total === null ? open : Math.max(total - this.finished, open);
  }

  private ensureSlots(count: number): void {
    while (this.slots.length < count) this.slots.push(null);
  }

  private close(key: string): void {
    this.open.delete(key);
    this.startedAtOf.delete(key);
    this.waitingRetry.delete(key);
    this.freeSlot(key);
  }

  private freeSlot(key: string): void {
    this.downloading.delete(key);
    const slot = this.slotOf.get(key);
    if (slot === undefined) return;
    this.slotOf.delete(key);
    if (this.slots[slot]?.key === key) this.slots[slot] = null;
  }
}
