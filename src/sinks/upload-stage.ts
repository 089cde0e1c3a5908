// The bounded upload stage: at most M files in flight to the store, callers wait when it is full, so memory
// stays at M uploads' buffers whatever the browser stage produces.
import type { EventEmitter } from 'node:events';
import path from 'node:path';
import { LIBRARY_DEFAULTS, LIMITS } from '../defaults.js';
import { ConfigError } from '../errors.js';
import type { SavedFile } from '../files/types.js';
import type { LocalFile, UploadRecord } from './s3-sink.js';
import type { UploadEvents } from './upload-events.js';
import { UploadSlots } from './upload-slots.js';

/** What the stage needs of a sink (S3Sink is one). */
export interface Uploader {
  urlOf(path: string): string;
  upload(
    file: LocalFile,
    options: { signal?: AbortSignal; onProgress?: (bytes: number) => void },
  ): Promise<UploadRecord>;
  close(): void;
}

export interface UploadStageOptions {
  sink: Uploader;
  /** The folder saved files' paths are relative to (`--out`). */
  outDir: string;
  /** Files uploading at once, across all items (`--uploads`). @default 8 */
  uploads?: number;
  /** Where progress goes. */
  events?: EventEmitter<UploadEvents>;
}

export interface UploadStats {
  inFlight: number;
  /** Files waiting for a slot. */
  waiting: number;
  /** Files sent to the store. */
  uploaded: number;
  /** Files already in the bucket with the same sha256. */
  skipped: number;
  failed: number;
  /** Bytes sent. */
  bytes: number;
}

export interface UploadStage {
  /**
   * Uploads one item's saved files (each waits for a slot). Resolves with one record per file, in order;
   * rejects with the first failure once the item's other uploads have stopped (they are aborted).
   */
  upload(
    files: readonly SavedFile[],
    options: { key: string; signal?: AbortSignal },
  ): Promise<UploadRecord[]>;
  stats(): UploadStats;
  /** Closes the sink's connections; uploads still running fail. */
  close(): void;
}

export function openUploadStage(options: UploadStageOptions): UploadStage {
  const uploads = options.uploads ?? LIBRARY_DEFAULTS.uploads;
  const { min, max } = LIMITS.uploads;
  if (!Number.isSafeInteger(uploads) || uploads < min || uploads > max) {
    throw new ConfigError(
      `Expected \`uploads\` to be an integer from ${min} to ${max}, got \`${String(uploads)}\``,
    );
  }
  const { sink, events } = options;
  const outDir = path.resolve(options.outDir);
  const slots = new UploadSlots(uploads);
  const counts = { uploaded: 0, skipped: 0, failed: 0, bytes: 0 };

  const one = async (file: SavedFile, key: string, signal: AbortSignal): Promise<UploadRecord> => {
    const release = await slots.acquire(signal);
    const object = sink.urlOf(file.path);
    const started = Date.now();
    try {
      events?.emit('upload:start', { key, path: file.path, object, bytes: file.bytes });
      const local: LocalFile = { ...file, file: path.join(outDir, ...file.path.split('/')) };
      const record = await sink.upload(local, {
        signal,
        onProgress: (bytes) => {
          counts.bytes += bytes;
          events?.emit('upload:progress', { key, path: file.path, bytes });
        },
      });
      if (record.skipped) counts.skipped++;
      else counts.uploaded++;
      events?.emit('upload:done', {
        key,
        path: file.path,
        object,
        bytes: file.bytes,
        skipped: record.skipped,
        ms: Date.now() - started,
      });
      return record;
    } catch (error) {
      if (!signal.aborted) {
        counts.failed++;
        events?.emit('upload:failed', { key, path: file.path, object, error });
      }
      throw error;
    } finally {
      release();
    }
  };

  return {
    async upload(files, { key, signal }) {
      signal?.throwIfAborted();
      // One failure stops the item's other uploads: the item is retried (or the run stops) as a whole.
      const item = new AbortController();
      const linked = signal ? AbortSignal.any([signal, item.signal]) : item.signal;
      let first: { error: unknown } | null = null;
      const results = await Promise.all(
        files.map((file) =>
          one(file, key, linked).catch((error: unknown) => {
            first ??= { error };
            item.abort(error);
            return null;
          }),
        ),
      );
      const failure = first as { error: unknown } | null;
      if (failure) throw signal?.aborted ? signal.reason : failure.error;
      return results as UploadRecord[];
    },
    stats: () => ({ inFlight: slots.inUse, waiting: slots.waiting, ...counts }),
    close: () => sink.close(),
  };
}
