// The in-memory checkpoint: one small record per key and the counters; every event applies idempotently.
import type { SavedFile } from '../files/types.js';

export const STARTED = 0;
export const FAILED = 1;
export const DONE = 2;
export type Status = typeof STARTED | typeof FAILED | typeof DONE;

export interface Failure {
  reason: string;
  code?: string;
  permanent: boolean;
}

/**
 * Where a done item's files are: to keep 1,000,000 items small in memory, the files of a done item stay on
 * disk and `loc` points at the line holding them (>= 0: snapshot line, < 0: journal line -loc-1); when the
 * line is unknown (a snapshot not written by us) `files` holds them.
 */
export class ItemRecord {
  status: Status;
  attempts: number;
  bytes = 0;
  loc = 0;
  files: SavedFile[] | null = null;
  failure: Failure | null = null;
  at: string;
  constructor(status: Status, attempts: number, at: string) {
    this.status = status;
    this.attempts = attempts;
    this.at = at;
  }
}

export const snapshotLoc = (line: number): number => line;
export const journalLoc = (line: number): number => -line - 1;

export class CheckpointState {
  readonly items = new Map<string, ItemRecord>();
  doneCount = 0;
  /** Permanent failures. */
  failedCount = 0;
  /** Started and not finished, plus transient failures. */
  pendingCount = 0;
  bytes = 0;
  firstUpdate: string | null = null;
  lastUpdate: string | null = null;

  /** Widens firstUpdate..lastUpdate to include `at`. */
  touch(at: string): void {
    if (this.firstUpdate === null || at < this.firstUpdate) this.firstUpdate = at;
    if (this.lastUpdate === null || at > this.lastUpdate) this.lastUpdate = at;
  }

  private leave(item: ItemRecord): void {
    if (item.status === DONE) {
      this.doneCount--;
      this.bytes -= item.bytes;
    } else if (item.status === FAILED && item.failure?.permanent) this.failedCount--;
    else this.pendingCount--;
  }

  private enter(item: ItemRecord): void {
    if (item.status === DONE) {
      this.doneCount++;
      this.bytes += item.bytes;
    } else if (item.status === FAILED && item.failure?.permanent) this.failedCount++;
    else this.pendingCount++;
  }

  // Idempotence: each event sets a key's state from the event alone (attempts: max), and nothing after done
  // but another done changes it; so replaying a journal over a snapshot that already holds it is harmless.

  started(key: string, attempt: number, at: string): void {
    this.touch(at);
    const item = this.items.get(key);
    if (!item) {
      const created = new ItemRecord(STARTED, attempt, at);
      this.items.set(key, created);
      this.enter(created);
      return;
    }
    if (item.status === DONE) return;
    this.leave(item);
    item.status = STARTED;
    item.attempts = Math.max(item.attempts, attempt);
    item.failure = null;
    item.at = at;
    this.enter(item);
  }

  done(
    key: string,
    attempt: number,
    at: string,
    bytes: number,
    loc: number,
    files: SavedFile[] | null,
  ): void {
    this.touch(at);
    let item = this.items.get(key);
    if (item) this.leave(item);
    else {
      item = new ItemRecord(DONE, attempt, '');
      this.items.set(key, item);
    }
    item.status = DONE;
    item.attempts = Math.max(item.attempts, attempt);
    item.bytes = bytes;
    item.loc = loc;
    item.files = files;
    item.failure = null;
    // A done item's time is on its line on disk; 1,000,000 ISO strings would cost ~40 MB.
    item.at = files ? at : '';
    this.enter(item);
  }

  failed(key: string, attempt: number, at: string, failure: Failure): void {
    this.touch(at);
    let item = this.items.get(key);
    if (item?.status === DONE) return;
    if (item) this.leave(item);
    else {
      item = new ItemRecord(FAILED, attempt, at);
      this.items.set(key, item);
    }
    item.status = FAILED;
    item.attempts = Math.max(item.attempts, attempt);
    item.failure = failure;
    item.at = at;
    this.enter(item);
  }
}

export function sumBytes(files: readonly SavedFile[]): number {
  let total = 0;
  for (const file of files) total += file.bytes;
  return total;
}
