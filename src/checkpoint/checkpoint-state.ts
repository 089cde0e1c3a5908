// The in-memory checkpoint: one small entry per key and the counters; every event applies idempotently.
import type { RecordedFile } from './recorded-file.js';

export const STARTED = 0;
export const FAILED = 1;
export const DONE = 2;
/** Files whole on disk (recorded), their uploads not all done: pending, but a resume need not download again. */
export const SAVED = 3;
export type Status = typeof STARTED | typeof FAILED | typeof DONE | typeof SAVED;

/** A done item's files and the bucket: none, every file uploaded, or some not uploaded. */
export const NO_FILES = 0;
export const ALL_UPLOADED = 1;
export const NOT_UPLOADED = 2;
export type UploadState = typeof NO_FILES | typeof ALL_UPLOADED | typeof NOT_UPLOADED;

export function uploadStateOf(files: readonly RecordedFile[]): UploadState {
  if (files.length === 0) return NO_FILES;
  for (const f of files) if (f.object === undefined) return NOT_UPLOADED;
  return ALL_UPLOADED;
}

export interface Failure {
  reason: string;
  code?: string;
  permanent: boolean;
}

/**
 * An item that is not a done item with its files on disk: started, failed, or done with its files in memory
 * (read from a snapshot not written by us, or loaded for the status and repair tools).
 */
export class ItemRecord {
  status: Status;
  attempts: number;
  at: string;
  bytes = 0;
  files: RecordedFile[] | null = null;
  failure: Failure | null = null;
  /** This run's listing showed the key (see `CheckpointState.markListed`). */
  listed = false;
  constructor(status: Status, attempts: number, at: string) {
    this.status = status;
    this.attempts = attempts;
    this.at = at;
  }
}

export const snapshotLoc = (line: number): number => line;
export const journalLoc = (line: number): number => -line - 1;

/**
 * Done items whose files are on disk are nearly all of a large checkpoint, so they are not objects: the map
 * holds a slot number into typed arrays (attempts, bytes, `loc`, the line holding the files: >= 0 snapshot
 * line, < 0 journal line -loc-1, and the upload state). 21 bytes an item instead of ~100 for an object.
 */
class DoneTable {
  size = 0;
  attempts = new Float64Array(1024);
  bytes = new Float64Array(1024);
  loc = new Int32Array(1024);
  upload = new Uint8Array(1024);
  /** 1 when this run's listing showed the key: one byte an item, for the report of what left the portal. */
  listed = new Uint8Array(1024);

  add(attempts: number, bytes: number, loc: number, upload: UploadState, listed: boolean): number {
    if (this.size === this.loc.length) this.grow();
    const slot = this.size++;
    this.set(slot, attempts, bytes, loc, upload);
    this.listed[slot] = listed ? 1 : 0;
    return slot;
  }

  set(slot: number, attempts: number, bytes: number, loc: number, upload: UploadState): void {
    this.attempts[slot] = attempts;
    this.bytes[slot] = bytes;
    this.loc[slot] = loc;
    this.upload[slot] = upload;
  }

  private grow(): void {
    const n = this.loc.length * 2;
    const attempts = new Float64Array(n);
    attempts.set(this.attempts);
    const bytes = new Float64Array(n);
    bytes.set(this.bytes);
    const loc = new Int32Array(n);
    loc.set(this.loc);
    const upload = new Uint8Array(n);
    upload.set(this.upload);
    const listed = new Uint8Array(n);
    listed.set(this.listed);
    this.attempts = attempts;
    this.bytes = bytes;
    this.loc = loc;
    this.upload = upload;
    this.listed = listed;
  }
}

/** One item as the snapshot writer and the tools see it. */
export type ItemView =
  | { status: typeof DONE; slot: number; attempts: number; bytes: number; loc: number; record: null }
  | { status: Status; slot: -1; attempts: number; bytes: number; loc: 0; record: ItemRecord };

export class CheckpointState {
  /** A number is a slot of a done item whose files are on disk; an ItemRecord is anything else. */
  readonly items = new Map<string, ItemRecord | number>();
  readonly table = new DoneTable();
  doneCount = 0;
  /** Permanent failures. */
  failedCount = 0;
  /** Started and not finished, plus transient failures, plus saved items whose uploads are not done. */
  pendingCount = 0;
  /** Done items with files, every one of them uploaded. */
  uploadedCount = 0;
  bytes = 0;
  firstUpdate: string | null = null;
  lastUpdate: string | null = null;
  /**
   * `--refresh-after`: done items recorded before this time (ISO 8601, as the records write it, so strings compare
   * as times) are stale: pulled again, compared with their recorded files. null: none are.
   */
  staleBefore: string | null = null;
  /**
   * The recorded files of each stale done item, as the JSON text of its record's `files` (a third of the memory of
   * the parsed objects: ~330 bytes an item with one fetched file), until it is done again. The item itself stays a
   * slot of the done table.
   */
  readonly stale = new Map<string, string>();
  /**
   * Set once the checkpoint is loaded: an item done from then on came from this run's source, so it counts as
   * listed.
   */
  live = false;

  statusOf(key: string): Status | undefined {
    const item = this.items.get(key);
    return typeof item === 'number' ? DONE : item?.status;
  }

  /** The upload state of a done item; undefined for any other. */
  uploadOf(key: string): UploadState | undefined {
    const item = this.items.get(key);
    if (typeof item === 'number') return this.table.upload[item] as UploadState;
    return item?.status === DONE ? uploadStateOf(item.files ?? []) : undefined;
  }

  /** The recorded files of a saved item, or of a done item kept in memory; null otherwise. */
  filesOf(key: string): RecordedFile[] | null {
    const item = this.items.get(key);
    return typeof item === 'number' || item === undefined ? null : item.files;
  }

  /** The recorded files of a stale done item (see `staleBefore`); null for any other. */
  staleFiles(key: string): RecordedFile[] | null {
    const text = this.stale.get(key);
    return text === undefined || this.statusOf(key) !== DONE ? null : (JSON.parse(text) as RecordedFile[]);
  }

  isStale(at: string): boolean {
    return this.staleBefore !== null && at < this.staleBefore;
  }

  /** After a done record was loaded: a stale one keeps its files' JSON text (`filesText`, read only then). */
  noteDone(key: string, at: string, filesText: () => string): void {
    if (this.isStale(at)) this.stale.set(key, filesText());
  }

  /** The listing showed `key` in this run; a key not in the checkpoint has nothing to mark. */
  markListed(key: string): void {
    const item = this.items.get(key);
    if (typeof item === 'number') this.table.listed[item] = 1;
    else if (item !== undefined) item.listed = true;
  }

  /** Done items this run's listing did not show, sorted (the checkpoint's order is the order items finished in). */
  unlisted(): string[] {
    const keys: string[] = [];
    for (const [key, item] of this.items) {
      const listed = typeof item === 'number' ? this.table.listed[item] === 1 : item.listed;
      if (!listed && this.statusOf(key) === DONE) keys.push(key);
    }
    return keys.sort();
  }

  failureOf(key: string): Failure | null {
    const item = this.items.get(key);
    return typeof item === 'number' || item === undefined ? null : item.failure;
  }

  /** Every item, in insertion order. */
  *entries(): IterableIterator<[string, ItemView]> {
    const t = this.table;
    for (const [key, item] of this.items) {
      if (typeof item === 'number') {
        const view = {
          status: DONE,
          slot: item,
          attempts: t.attempts[item]!,
          bytes: t.bytes[item]!,
          loc: t.loc[item]!,
          record: null,
        } as const;
        yield [key, view];
      } else {
        yield [
          key,
          { status: item.status, slot: -1, attempts: item.attempts, bytes: item.bytes, loc: 0, record: item },
        ];
      }
    }
  }

  /** Widens firstUpdate..lastUpdate to include `at`. */
  touch(at: string): void {
    if (this.firstUpdate === null || at < this.firstUpdate) this.firstUpdate = at;
    if (this.lastUpdate === null || at > this.lastUpdate) this.lastUpdate = at;
  }

  private leave(item: ItemRecord): void {
    if (item.status === DONE) {
      this.doneCount--;
      this.bytes -= item.bytes;
      if (uploadStateOf(item.files ?? []) === ALL_UPLOADED) this.uploadedCount--;
    } else if (item.status === FAILED && item.failure?.permanent) this.failedCount--;
    else this.pendingCount--;
  }

  private enter(item: ItemRecord): void {
    if (item.status === DONE) {
      this.doneCount++;
      this.bytes += item.bytes;
      if (uploadStateOf(item.files ?? []) === ALL_UPLOADED) this.uploadedCount++;
    } else if (item.status === FAILED && item.failure?.permanent) this.failedCount++;
    else this.pendingCount++;
  }

  // Idempotence: each event sets a key's state from the event alone (attempts: max), and nothing after done
  // but another done changes it; so replaying a journal over a snapshot that already holds it is harmless.

  started(key: string, attempt: number, at: string): void {
    this.touch(at);
    const item = this.items.get(key);
    if (item === undefined) {
      const created = new ItemRecord(STARTED, attempt, at);
      this.items.set(key, created);
      this.enter(created);
      return;
    }
    if (typeof item === 'number' || item.status === DONE) return;
    // A saved item keeps its files (and stays saved) while its uploads are tried again.
    if (item.status === SAVED) {
      item.attempts = Math.max(item.attempts, attempt);
      item.at = at;
      return;
    }
    this.leave(item);
    item.status = STARTED;
    item.attempts = Math.max(item.attempts, attempt);
    item.failure = null;
    item.at = at;
    this.enter(item);
  }

  /**
   * `files` null: they stay on the line `loc` points at (`upload` says whether they were all uploaded);
   * otherwise they are kept in memory.
   */
  done(
    key: string,
    attempt: number,
    at: string,
    bytes: number,
    loc: number,
    files: RecordedFile[] | null,
    upload: UploadState,
  ): void {
    this.touch(at);
    // A newer record (this run's, or a later line of the journal) is no longer what a refresh compares with.
    if (this.stale.size > 0 && !this.isStale(at)) this.stale.delete(key);
    const item = this.items.get(key);
    let attempts = attempt;
    const listed =
      this.live || (typeof item === 'number' ? this.table.listed[item] === 1 : (item?.listed ?? false));
    if (typeof item === 'number') {
      attempts = Math.max(this.table.attempts[item]!, attempt);
      this.bytes -= this.table.bytes[item]!;
      this.doneCount--;
      if (this.table.upload[item] === ALL_UPLOADED) this.uploadedCount--;
      if (files === null) {
        this.table.set(item, attempts, bytes, loc, upload);
        this.table.listed[item] = listed ? 1 : 0;
        this.doneCount++;
        this.bytes += bytes;
        if (upload === ALL_UPLOADED) this.uploadedCount++;
        return;
      }
    } else if (item !== undefined) {
      attempts = Math.max(item.attempts, attempt);
      this.leave(item);
    }
    if (files === null) {
      this.doneCount++;
      this.bytes += bytes;
      if (upload === ALL_UPLOADED) this.uploadedCount++;
      // A done item's time is on its line on disk; 1,000,000 ISO strings would cost ~40 MB.
      this.items.set(key, this.table.add(attempts, bytes, loc, upload, listed));
      return;
    }
    const record = new ItemRecord(DONE, attempts, at);
    record.bytes = bytes;
    record.files = files;
    record.listed = listed;
    this.items.set(key, record);
    this.enter(record);
  }

  /** The item's files are whole on disk and recorded; their uploads are still to do. Ignored once done. */
  saved(key: string, attempt: number, at: string, files: RecordedFile[]): void {
    this.touch(at);
    let item = this.items.get(key);
    if (typeof item === 'number' || item?.status === DONE) return;
    if (item) this.leave(item);
    else {
      item = new ItemRecord(SAVED, attempt, at);
      this.items.set(key, item);
    }
    item.status = SAVED;
    item.attempts = Math.max(item.attempts, attempt);
    item.failure = null;
    item.files = files;
    item.bytes = sumBytes(files);
    item.at = at;
    this.enter(item);
  }

  /** A done item whose files were kept in memory now has them on snapshot line `loc`: drop the copy. */
  movedToDisk(key: string, loc: number): void {
    const item = this.items.get(key);
    if (typeof item === 'number') this.table.loc[item] = loc;
    else if (item?.status === DONE && !this.keepInMemory(item)) {
      const upload = uploadStateOf(item.files ?? []);
      this.items.set(key, this.table.add(item.attempts, item.bytes, loc, upload, item.listed));
    }
  }

  /** Done items whose uploads are not all done keep their files in memory when the run uploads. */
  keepNotUploaded = false;

  private keepInMemory(item: ItemRecord): boolean {
    return this.keepNotUploaded && uploadStateOf(item.files ?? []) === NOT_UPLOADED;
  }

  /** A saved item whose upload failed stays saved (its files are still whole on disk): only the reason is kept. */
  failed(key: string, attempt: number, at: string, failure: Failure): void {
    this.touch(at);
    let item = this.items.get(key);
    if (typeof item === 'number' || item?.status === DONE) return;
    if (item?.status === SAVED && !failure.permanent) {
      item.attempts = Math.max(item.attempts, attempt);
      item.at = at;
      return;
    }
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

export function sumBytes(files: readonly RecordedFile[]): number {
  let total = 0;
  for (const file of files) total += file.bytes;
  return total;
}
