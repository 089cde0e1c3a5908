// Group commit: appends that arrive while a write+fsync is in progress share the next write and fsync.
import type { Mutex } from 'async-mutex';
import type { CheckpointFile } from './checkpoint-fs.js';

interface Entry {
  journal: string;
  manifest: string | null;
  /** done/failed must be on disk before the caller goes on; started need not. */
  sync: boolean;
  /** Updates the in-memory state once the line is written, with the line's number in the journal. */
  apply: (lineNo: number) => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface JournalWriterOptions {
  mutex: Mutex;
  journal: CheckpointFile;
  manifest: CheckpointFile | null;
  /** The number the next journal line gets. */
  nextLine: number;
  /** Called (outside the mutex) after each batch; compaction hooks in here. */
  afterBatch: () => Promise<void>;
}

/**
 * Each caller's promise resolves only after the fsync that covers its line. Lines are written in call order,
 * the manifest's before the journal's and fsynced first, so a done record on disk implies its manifest lines.
 */
export class JournalWriter {
  nextLine: number;
  private queue: Entry[] = [];
  private draining: Promise<void> | null = null;
  /** After a failed write or fsync nothing on disk can be trusted to follow memory: every later call fails. */
  private broken: unknown = null;
  constructor(private readonly options: JournalWriterOptions) {
    this.nextLine = options.nextLine;
  }

  append(
    journal: string,
    manifest: string | null,
    sync: boolean,
    apply: (lineNo: number) => void,
  ): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ journal, manifest, sync, apply, resolve, reject });
      this.draining ??= this.drain().finally(() => {
        this.draining = null;
      });
    });
  }

  /** Resolves when every queued append is written (or failed). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    // Let the callers of this tick join the first batch.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        if (this.broken) throw this.broken;
        await this.options.mutex.runExclusive(() => this.write(batch));
      } catch (err) {
        this.broken ??= err;
        for (const entry of batch) entry.reject(err);
        continue;
      }
      for (const entry of batch) entry.resolve();
      try {
        await this.options.afterBatch();
      } catch (err) {
        this.broken ??= err;
      }
    }
  }

  private async write(batch: Entry[]): Promise<void> {
    let journal = '';
    let manifest = '';
    let sync = false;
    for (const entry of batch) {
      journal += entry.journal;
      if (entry.manifest) manifest += entry.manifest;
      if (entry.sync) sync = true;
    }
    const manifestFile = this.options.manifest;
    if (manifestFile && manifest.length > 0) await manifestFile.write(Buffer.from(manifest));
    await this.options.journal.write(Buffer.from(journal));
    for (const entry of batch) entry.apply(this.nextLine++);
    if (sync) {
      if (manifestFile && manifest.length > 0) await manifestFile.sync();
      await this.options.journal.sync();
    }
  }
}
