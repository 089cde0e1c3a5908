// The crash-safe checkpoint: snapshot + append-only journal + manifest, every write under one mutex.
import { dirname } from 'node:path';
import { Mutex } from 'async-mutex';
import { ConfigError, isErrno } from '../errors.js';
import type { CheckpointFile, CheckpointFs } from './checkpoint-fs.js';
import { nodeCheckpointFs } from './checkpoint-fs.js';
import { type LoadedCheckpoint, loadCheckpoint } from './checkpoint-loader.js';
import { CheckpointLock } from './checkpoint-lock.js';
import { journalPathFor } from './checkpoint-paths.js';
import type { CheckpointState } from './checkpoint-state.js';
import {
  ALL_UPLOADED,
  DONE,
  FAILED,
  journalLoc,
  NOT_UPLOADED,
  SAVED,
  sumBytes,
  uploadStateOf,
} from './checkpoint-state.js';
import { type CheckpointSummary, summarize } from './checkpoint-summary.js';
import { JournalWriter } from './journal-writer.js';
import { writeLastListing } from './last-listing.js';
import { scanLines } from './line-reader.js';
import type { RecordedFile } from './recorded-file.js';
import { journalLine, recordedFile } from './records.js';
import { writeSnapshot } from './snapshot-writer.js';

export { CheckpointCorruptError } from './checkpoint-corrupt-error.js';
export type { CheckpointFile, CheckpointFs } from './checkpoint-fs.js';
export type { CheckpointSummary } from './checkpoint-summary.js';
export { repairCheckpoint } from './repair.js';
export { startFresh } from './start-fresh.js';
export { formatStatus, readStatus, statusCounts } from './status.js';

export interface CheckpointOptions {
  /** The snapshot file, e.g. `downloads/.pagepool/checkpoint.json`; the journal is `<path>l` beside it. */
  path: string;
  /**
   * Where to append one `{key, path, bytes, sha256[, object, etag]}` line per file of a done item, e.g.
   * `downloads/manifest.jsonl`.
   */
  manifestPath?: string;
  /**
   * The run uploads (`--upload`): a done item counts as done only once all its files are uploaded, and the
   * files of done items not all uploaded are kept in memory so `pendingUploads()` can hand them out. @default false
   */
  uploads?: boolean;
  /**
   * `--refresh-after`: done items recorded longer ago than this many ms (0: every item done before now) are stale
   * (`isStale`), pulled again against their recorded files (`previousFiles`), kept in memory (as JSON text) until
   * then.
   * @default null (none are)
   */
  refreshAfterMs?: number | null;
  /** Compact (new snapshot, empty journal) after this many journal records. @default 100_000 */
  compactEvery?: number;
  /** Non-fatal notices, such as a dropped torn journal line. */
  onWarning?: (message: string) => void;
  /** The file layer; swap it to simulate crashes. @default node:fs */
  fs?: CheckpointFs;
}

export interface FailureInput {
  reason: string;
  code?: string;
  permanent: boolean;
}

function validate(options: CheckpointOptions): void {
  if (typeof options.path !== 'string' || options.path.length === 0) {
    throw new ConfigError(`Expected \`path\` to be a non-empty string, got \`${String(options.path)}\``);
  }
  const refresh = options.refreshAfterMs;
  if (refresh !== undefined && refresh !== null && (!Number.isSafeInteger(refresh) || refresh < 0)) {
    throw new ConfigError(
      `Expected \`refreshAfterMs\` to be a whole number of ms or null, got \`${String(refresh)}\``,
    );
  }
  const every = options.compactEvery;
  if (every !== undefined && (!Number.isSafeInteger(every) || every < 1)) {
    throw new ConfigError(`Expected \`compactEvery\` to be a positive integer, got \`${String(every)}\``);
  }
}

function checkKey(key: string, attempt: number): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(`Expected \`key\` to be a non-empty string, got \`${String(key)}\``);
  }
  if (!Number.isSafeInteger(attempt) || attempt < 0) {
    throw new TypeError(`Expected \`attempt\` to be a whole number, got \`${String(attempt)}\``);
  }
}

export class Checkpoint {
  readonly path: string;
  readonly journalPath: string;
  readonly manifestPath: string | null;
  private readonly fs: CheckpointFs;
  private readonly state: CheckpointState;
  private readonly mutex = new Mutex();
  private readonly writer: JournalWriter;
  private readonly compactEvery: number;
  private readonly uploads: boolean;
  private createdAt: string | null;
  private closing: Promise<void> | null = null;

  private constructor(
    options: CheckpointOptions,
    fs: CheckpointFs,
    loaded: LoadedCheckpoint,
    private readonly journal: CheckpointFile,
    private readonly manifest: CheckpointFile | null,
    /** Manifest lines of keys not done here, by key: see `orphanLines`. */
    private readonly orphans: Map<string, Set<string>>,
    /** One writer per checkpoint: held from open to close. */
    private readonly lock: CheckpointLock | null,
  ) {
    this.path = options.path;
    this.journalPath = journalPathFor(options.path);
    this.manifestPath = options.manifestPath ?? null;
    this.fs = fs;
    this.state = loaded.state;
    this.createdAt = loaded.createdAt;
    this.compactEvery = options.compactEvery ?? 100_000;
    this.uploads = options.uploads ?? false;
    this.writer = new JournalWriter({
      mutex: this.mutex,
      journal,
      manifest,
      nextLine: loaded.journalLines,
      afterBatch: () => this.maybeCompact(),
    });
  }

  /**
   * Creates the folder, takes the checkpoint's lock (CheckpointInUseError while another process writes it), loads
   * snapshot + journal in one pass, and opens the journal for appending.
   */
  static async open(options: CheckpointOptions): Promise<Checkpoint> {
    validate(options);
    const fs = options.fs ?? nodeCheckpointFs;
    const journalPath = journalPathFor(options.path);
    await fs.mkdir(dirname(options.path));
    // A swapped file layer (crash simulation) lives in this process alone: there is no other writer to keep out.
    const lock = options.fs ? null : await CheckpointLock.acquire(options.path, 'run');
    let loaded: LoadedCheckpoint;
    let journal: CheckpointFile;
    try {
      const refresh = options.refreshAfterMs ?? null;
      loaded = await loadCheckpoint(fs, options.path, journalPath, {
        keepNotUploaded: options.uploads ?? false,
        staleBefore: refresh === null ? null : new Date(Date.now() - refresh).toISOString(),
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      });
      loaded.state.live = true;
      journal = await fs.openAppend(journalPath);
    } catch (err) {
      await lock?.release();
      throw err;
    }
    let manifest: CheckpointFile | null = null;
    let orphans = new Map<string, Set<string>>();
    try {
      if (loaded.tornJournal) {
        await journal.truncate(loaded.journalGoodBytes);
        await journal.sync();
      }
      if (options.manifestPath) {
        await fs.mkdir(dirname(options.manifestPath));
        await dropTornTail(fs, options.manifestPath, options.onWarning);
        const uploads = options.uploads ?? false;
        const final = (key: string) =>
          loaded.state.statusOf(key) === DONE && (!uploads || loaded.state.uploadOf(key) !== NOT_UPLOADED);
        orphans = await orphanLines(fs, options.manifestPath, final);
        manifest = await fs.openAppend(options.manifestPath);
        await fs.syncDir(dirname(options.manifestPath));
      }
      // The journal may have just been created: its folder entry must be durable before any fsynced record.
      await fs.syncDir(dirname(journalPath));
    } catch (err) {
      await journal.close().catch(() => {});
      await manifest?.close().catch(() => {});
      await lock?.release();
      throw err;
    }
    return new Checkpoint(options, fs, loaded, journal, manifest, orphans, lock);
  }

  /** Done: whole on disk and, when the checkpoint was opened with `uploads`, every file uploaded. */
  isDone(key: string): boolean {
    if (this.state.statusOf(key) !== DONE) return false;
    return !this.uploads || this.state.uploadOf(key) !== NOT_UPLOADED;
  }

  /** true when the key should be skipped: done, or failed permanently (unless retryFailed). */
  shouldSkip(key: string, opts: { retryFailed?: boolean } = {}): boolean {
    if (this.isDone(key)) return true;
    const status = this.state.statusOf(key);
    return status === FAILED && this.state.failureOf(key)?.permanent === true && opts.retryFailed !== true;
  }

  /** Every file of a done item is recorded as uploaded (an item without files is not). */
  isUploaded(key: string): boolean {
    return this.state.uploadOf(key) === ALL_UPLOADED;
  }

  /**
   * The recorded files of an item whose files are whole on disk but not all uploaded (saved before a crash, or
   * done by a run without `uploads`): upload these (those with an `object` already are) instead of pulling the
   * item again, after checking each is still on disk with its size and sha256. null when there are none: the
   * item is pulled as usual. Done items' files are only known here when the checkpoint was opened with `uploads`.
   */
  pendingUploads(key: string): RecordedFile[] | null {
    const status = this.state.statusOf(key);
    if (status !== SAVED && !(status === DONE && this.state.uploadOf(key) === NOT_UPLOADED)) return null;
    return this.state.filesOf(key)?.map((f) => ({ ...f })) ?? null;
  }

  /** A done item recorded before `refreshAfterMs` ago: pulled again in this run. */
  isStale(key: string): boolean {
    return this.state.stale.has(key) && this.isDone(key);
  }

  /**
   * The recorded files of a stale item (copies), which its refresh compares with: each has its validators when
   * it was fetched, its `object` when it was uploaded. null for an item that is not stale.
   */
  previousFiles(key: string): RecordedFile[] | null {
    return this.isStale(key) ? this.state.staleFiles(key) : null;
  }

  /** This run's listing showed `key` (the items it does not show by its end are `unlisted`). */
  markListed(key: string): void {
    this.state.markListed(key);
  }

  /**
   * A listing ended complete, having given `listed` keys: the done items it did not give (marked by
   * `markListed`) are written beside the checkpoint as what left the portal (`status` shows them), and returned.
   */
  async recordListing(listed: number): Promise<string[]> {
    const gone = this.state.unlisted();
    await writeLastListing(this.path, { at: new Date().toISOString(), listed, gone });
    return gone;
  }

  /** Records that an attempt began; appended without fsync (losing it only loses a "pending" mark). */
  started(key: string, attempt: number): Promise<void> {
    checkKey(key, attempt);
    const at = new Date().toISOString();
    return this.append(journalLine({ t: 'started', key, attempt, at }), null, false, () =>
      this.state.started(key, attempt, at),
    );
  }

  /**
   * Records the item done with its files (each with its `object` and `etag` once uploaded); resolves once the
   * record (and its manifest lines) are fsynced. The manifest gets a line per file version new on disk: none for a
   * refresh's `unchanged` file; a version `--keep-versions` kept (`kept`) gets its own line before the file's.
   */
  done(key: string, attempt: number, files: readonly RecordedFile[]): Promise<void> {
    checkKey(key, attempt);
    const at = new Date().toISOString();
    const recorded = files.map(recordedFile);
    const written = this.orphans.get(key);
    this.orphans.delete(key);
    const manifest = this.manifest
      ? files
          .filter((f) => f.change !== 'unchanged')
          .flatMap((f) => (f.kept ? [recordedFile(f.kept), recordedFile(f)] : [recordedFile(f)]))
          .map((f) => `${JSON.stringify({ key, ...f })}\n`)
          .filter((line) => !written?.has(line))
          .join('')
      : null;
    const bytes = sumBytes(recorded);
    const upload = uploadStateOf(recorded);
    const keep = this.uploads && upload === NOT_UPLOADED ? recorded : null;
    return this.append(
      journalLine({ t: 'done', key, attempt, at, files: recorded }),
      manifest,
      true,
      (lineNo) => this.state.done(key, attempt, at, bytes, journalLoc(lineNo), keep, upload),
    );
  }

  /**
   * Records that the item's files are whole on disk while their uploads are still to do: a resume uploads them
   * (`pendingUploads`) instead of pulling the item again. Resolves once fsynced. Ignored for an item already done.
   */
  saved(key: string, attempt: number, files: readonly RecordedFile[]): Promise<void> {
    checkKey(key, attempt);
    const at = new Date().toISOString();
    const recorded = files.map(recordedFile);
    return this.append(journalLine({ t: 'saved', key, attempt, at, files: recorded }), null, true, () =>
      this.state.saved(key, attempt, at, recorded),
    );
  }

  /** Records a failed attempt; resolves once it is fsynced. Ignored for an item already done. */
  failed(key: string, attempt: number, failure: FailureInput): Promise<void> {
    checkKey(key, attempt);
    const at = new Date().toISOString();
    const f: FailureInput = { reason: failure.reason, permanent: failure.permanent };
    if (failure.code !== undefined) f.code = failure.code;
    return this.append(journalLine({ t: 'failed', key, attempt, at, ...f }), null, true, () =>
      this.state.failed(key, attempt, at, f),
    );
  }

  summary(): CheckpointSummary {
    return summarize(this.state);
  }

  /** Writes a new snapshot and empties the journal. */
  async compact(): Promise<void> {
    if (this.closing) throw new Error('Checkpoint is closed');
    await this.writer.idle();
    await this.mutex.runExclusive(() => this.compactLocked());
  }

  /**
   * Waits for queued writes, compacts, closes the files. Idempotent. A compaction the disk has no room for is
   * skipped: the journal already holds every record, and the next open replays it.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.writer.idle();
        await this.mutex
          .runExclusive(() => this.compactLocked())
          .catch((err: unknown) => {
            if (!isErrno(err, 'ENOSPC') && !isErrno(err, 'EDQUOT')) throw err;
          });
      } finally {
        await this.journal.close().catch(() => {});
        await this.manifest?.close().catch(() => {});
        await this.lock?.release();
      }
    })();
    return this.closing;
  }

  private append(journal: string, manifest: string | null, sync: boolean, apply: (lineNo: number) => void) {
    if (this.closing) return Promise.reject(new Error('Checkpoint is closed'));
    return this.writer.append(journal, manifest, sync, apply);
  }

  private async maybeCompact(): Promise<void> {
    if (this.writer.nextLine < this.compactEvery) return;
    await this.mutex.runExclusive(() => this.compactLocked());
  }

  /**
   * Crash windows: before the rename the old snapshot + full journal load as before; after it, the new
   * snapshot + the old journal load the same state because replaying events is idempotent.
   */
  private async compactLocked(): Promise<void> {
    if (this.writer.nextLine === 0 && this.createdAt !== null) return;
    this.createdAt ??= this.state.firstUpdate ?? new Date().toISOString();
    await writeSnapshot(this.fs, this.state, {
      snapshotPath: this.path,
      journalPath: this.journalPath,
      createdAt: this.createdAt,
    });
    await this.journal.truncate(0);
    await this.journal.sync();
    this.writer.nextLine = 0;
  }
}

/**
 * The manifest lines of keys that may be done again (not `final`), by key. A crash between a done item's
 * manifest lines (written first) and its journal line leaves such lines; when the item is done again with the
 * same files, `done()` skips the lines already there, so the manifest keeps one line per file. Lines of another
 * checkpoint sharing the manifest land here too and are only ever compared against.
 */
async function orphanLines(
  fs: CheckpointFs,
  path: string,
  final: (key: string) => boolean,
): Promise<Map<string, Set<string>>> {
  const orphans = new Map<string, Set<string>>();
  await scanLines(fs, path, (buf, start, end) => {
    const line = buf.toString('utf8', start, end);
    let key: unknown;
    try {
      key = (JSON.parse(line) as { key?: unknown } | null)?.key;
    } catch {
      return;
    }
    if (typeof key !== 'string' || final(key)) return;
    const lines = orphans.get(key) ?? new Set<string>();
    lines.add(`${line}\n`);
    orphans.set(key, lines);
  });
  return orphans;
}

/** A manifest line torn by a crash is cut off, so the next appended line starts on its own line. */
async function dropTornTail(
  fs: CheckpointFs,
  path: string,
  onWarning?: (message: string) => void,
): Promise<void> {
  const size = await fs.size(path);
  if (!size) return;
  const from = Math.max(0, size - (1 << 20));
  const parts: Buffer[] = [];
  for await (const chunk of fs.read(path, from)) parts.push(Buffer.from(chunk));
  const tail = Buffer.concat(parts);
  if (tail[tail.length - 1] === 10) return;
  const nl = tail.lastIndexOf(10);
  const keep = nl === -1 ? (from === 0 ? 0 : null) : from + nl + 1;
  if (keep === null) return;
  const file = await fs.openAppend(path);
  try {
    await file.truncate(keep);
    await file.sync();
  } finally {
    await file.close();
  }
  onWarning?.(`Manifest ${path}: dropped 1 incomplete line (the last write before a crash).`);
}
