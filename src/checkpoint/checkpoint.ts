// The crash-safe checkpoint: snapshot + append-only journal + manifest, every write under one mutex.
import { dirname } from 'node:path';
import { Mutex } from 'async-mutex';
import { ConfigError } from '../errors.js';
import type { SavedFile } from '../files/types.js';
import type { CheckpointFile, CheckpointFs } from './checkpoint-fs.js';
import { nodeCheckpointFs } from './checkpoint-fs.js';
import { type LoadedCheckpoint, loadCheckpoint } from './checkpoint-loader.js';
import { journalPathFor } from './checkpoint-paths.js';
import type { CheckpointState } from './checkpoint-state.js';
import { DONE, FAILED, journalLoc, sumBytes } from './checkpoint-state.js';
import { type CheckpointSummary, summarize } from './checkpoint-summary.js';
import { JournalWriter } from './journal-writer.js';
import { journalLine } from './records.js';
import { writeSnapshot } from './snapshot-writer.js';

export { CheckpointCorruptError } from './checkpoint-corrupt-error.js';
export type { CheckpointFile, CheckpointFs } from './checkpoint-fs.js';
export type { CheckpointSummary } from './checkpoint-summary.js';
export { repairCheckpoint } from './repair.js';
export { startFresh } from './start-fresh.js';
export { formatStatus, readStatus } from './status.js';

export interface CheckpointOptions {
  /** The snapshot file, e.g. `downloads/.pagepool/checkpoint.json`; the journal is `<path>l` beside it. */
  path: string;
  /** Where to append one `{key, path, bytes, sha256}` line per saved file, e.g. `downloads/manifest.jsonl`. */
  manifestPath?: string;
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
  private createdAt: string | null;
  private closing: Promise<void> | null = null;

  private constructor(
    options: CheckpointOptions,
    fs: CheckpointFs,
    loaded: LoadedCheckpoint,
    private readonly journal: CheckpointFile,
    private readonly manifest: CheckpointFile | null,
  ) {
    this.path = options.path;
    this.journalPath = journalPathFor(options.path);
    this.manifestPath = options.manifestPath ?? null;
    this.fs = fs;
    this.state = loaded.state;
    this.createdAt = loaded.createdAt;
    this.compactEvery = options.compactEvery ?? 100_000;
    this.writer = new JournalWriter({
      mutex: this.mutex,
      journal,
      manifest,
      nextLine: loaded.journalLines,
      afterBatch: () => this.maybeCompact(),
    });
  }

  /** Creates the folder, loads snapshot + journal in one pass, and opens the journal for appending. */
  static async open(options: CheckpointOptions): Promise<Checkpoint> {
    validate(options);
    const fs = options.fs ?? nodeCheckpointFs;
    const journalPath = journalPathFor(options.path);
    await fs.mkdir(dirname(options.path));
    const loaded = await loadCheckpoint(
      fs,
      options.path,
      journalPath,
      options.onWarning ? { onWarning: options.onWarning } : {},
    );
    const journal = await fs.openAppend(journalPath);
    let manifest: CheckpointFile | null = null;
    try {
      if (loaded.tornJournal) {
        await journal.truncate(loaded.journalGoodBytes);
        await journal.sync();
      }
      if (options.manifestPath) {
        await fs.mkdir(dirname(options.manifestPath));
        await dropTornTail(fs, options.manifestPath, options.onWarning);
        manifest = await fs.openAppend(options.manifestPath);
        await fs.syncDir(dirname(options.manifestPath));
      }
      // The journal may have just been created: its folder entry must be durable before any fsynced record.
      await fs.syncDir(dirname(journalPath));
    } catch (err) {
      await journal.close().catch(() => {});
      await manifest?.close().catch(() => {});
      throw err;
    }
    return new Checkpoint(options, fs, loaded, journal, manifest);
  }

  isDone(key: string): boolean {
    return this.state.statusOf(key) === DONE;
  }

  /** true when the key should be skipped: done, or failed permanently (unless retryFailed). */
  shouldSkip(key: string, opts: { retryFailed?: boolean } = {}): boolean {
    const status = this.state.statusOf(key);
    if (status === DONE) return true;
    return status === FAILED && this.state.failureOf(key)?.permanent === true && opts.retryFailed !== true;
  }

  /** Records that an attempt began; appended without fsync (losing it only loses a "pending" mark). */
  started(key: string, attempt: number): Promise<void> {
    checkKey(key, attempt);
    const at = new Date().toISOString();
    return this.append(journalLine({ t: 'started', key, attempt, at }), null, false, () =>
      this.state.started(key, attempt, at),
    );
  }

  /** Records the item done with its files; resolves once the record (and its manifest lines) are fsynced. */
  done(key: string, attempt: number, files: SavedFile[]): Promise<void> {
    checkKey(key, attempt);
    const at = new Date().toISOString();
    const saved = files.map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }));
    const manifest = this.manifest
      ? saved
          .map((f) => `${JSON.stringify({ key, path: f.path, bytes: f.bytes, sha256: f.sha256 })}\n`)
          .join('')
      : null;
    const bytes = sumBytes(saved);
    return this.append(journalLine({ t: 'done', key, attempt, at, files: saved }), manifest, true, (lineNo) =>
      this.state.done(key, attempt, at, bytes, journalLoc(lineNo), null),
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

  /** Waits for queued writes, compacts, closes the files. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.writer.idle();
        await this.mutex.runExclusive(() => this.compactLocked());
      } finally {
        await this.journal.close().catch(() => {});
        await this.manifest?.close().catch(() => {});
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
