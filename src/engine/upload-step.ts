// The upload step of one item (`--upload`): its saved files go to the bucket through the bounded upload stage
// before the item counts as done; a resumed item uploads what the checkpoint says is missing instead of pulling.
import type { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { RecordedFile } from '../checkpoint/recorded-file.js';
import { PagepoolError } from '../errors.js';
import type { SavedFile } from '../files/types.js';
import type { RunEvents } from '../run-events.js';
import { S3Sink, type S3SinkOptions, type UploadRecord } from '../sinks/s3-sink.js';
import type { UploadEvents } from '../sinks/upload-events.js';
import { openUploadStage, type UploadStats } from '../sinks/upload-stage.js';

export interface UploadStepOptions {
  sink: S3SinkOptions;
  /** Files uploading at once, across all items (`--uploads`). @default 8 */
  uploads?: number;
  /** Keep each local file after its item is recorded done (`--no-keep-local` turns it off). @default true */
  keepLocal?: boolean;
  /** The output folder saved files' paths are relative to (`--out`). */
  outDir: string;
  events?: EventEmitter<RunEvents>;
  signal?: AbortSignal;
}

/** What an attempt with uploads is given: how to pull the item, and what the checkpoint knows of it. */
export interface UploadAttempt {
  key: string;
  signal: AbortSignal;
  /**
   * Pulls the item (the browser and download stages); resolves with its files whole on disk (in a refresh, an
   * unchanged file keeps its recorded `object`).
   */
  pull(): Promise<RecordedFile[]>;
  /** Files whole on disk from an earlier attempt whose uploads did not all finish; null: pull. */
  pending?: readonly RecordedFile[] | null;
  /** Records the pulled files as whole on disk before their uploads start (`checkpoint.saved`). */
  saved?(files: readonly SavedFile[]): Promise<void>;
}

export interface UploadStep {
  readonly bucket: string;
  /**
   * Uploads the item's files: the pending ones when they are all still whole on disk (a file missing or changed
   * is FILE_INVALID: the item is pulled again), else the pulled ones once `saved` recorded them.
   * Resolves with the files as the checkpoint records them (each with its object and ETag).
   */
  attempt(item: UploadAttempt): Promise<RecordedFile[]>;
  /** After the item is recorded done: deletes its local copies unless `keepLocal`. */
  recorded(files: readonly SavedFile[]): Promise<void>;
  stats(): UploadStats;
  close(): void;
}

/**
 * Checks the bucket (HeadBucket, then a test object put, read back and deleted) and opens the stage. A bucket that
 * cannot be used throws a ConfigError naming it and what to fix, before anything is pulled.
 */
export async function openUploadStep(options: UploadStepOptions): Promise<UploadStep> {
  const sink = new S3Sink(options.sink);
  try {
    await sink.preflight(options.signal ? { signal: options.signal } : {});
  } catch (err) {
    sink.close();
    throw err;
  }
  const stage = openUploadStage({
    sink,
    outDir: options.outDir,
    ...(options.uploads !== undefined ? { uploads: options.uploads } : {}),
    // The stage emits only upload:* events, which RunEvents includes.
    ...(options.events ? { events: options.events as unknown as EventEmitter<UploadEvents> } : {}),
  });
  const keepLocal = options.keepLocal ?? true;
  const upload = async (files: readonly SavedFile[], key: string, signal: AbortSignal) =>
    (await stage.upload(files, { key, signal })).map(toRecorded);
  /**
   * Files recorded before a crash, to the bucket: they come back as they were recorded (their validators
   * included: a refresh asks with them, and the manifest line a crash left behind is matched only by the same
   * line) with their objects.
   */
  const uploadPending = async (
    files: readonly RecordedFile[],
    key: string,
    signal: AbortSignal,
  ): Promise<RecordedFile[]> => {
    const sent = new Map((await upload(files, key, signal)).map((r) => [r.path, r]));
    return files.map((f) => {
      const record = sent.get(f.path);
      return record ? { ...f, ...record } : { ...f };
    });
  };
  /**
   * A pulled item's files to the bucket: in a refresh, an unchanged file whose record names its object is there
   * already (nothing sent); an updated one replaces its object (same key); a version --keep-versions kept goes to
   * a key of its own, so the bucket keeps the versions the folder keeps. The files come back with what they had
   * (validators, change, the kept version) and their objects.
   */
  const uploadPulled = async (
    files: readonly RecordedFile[],
    key: string,
    signal: AbortSignal,
  ): Promise<RecordedFile[]> => {
    const toSend = [
      ...files.filter((f) => !(f.change === 'unchanged' && f.object !== undefined)),
      ...files.flatMap((f) => (f.kept ? [f.kept] : [])),
    ];
    const sent = new Map((await upload(toSend, key, signal)).map((r) => [r.path, r]));
    const withObject = <F extends SavedFile>(file: F): F => {
      const record = sent.get(file.path);
      return record ? { ...file, object: record.object, etag: record.etag } : file;
    };
    return files.map((f) => {
      const out = withObject(f);
      if (f.kept) out.kept = withObject(f.kept);
      return out;
    });
  };
  return {
    bucket: sink.bucket,
    async attempt(item) {
      if (item.pending && item.pending.length > 0) {
        try {
          return await uploadPending(item.pending, item.key, item.signal);
        } catch (err) {
          // A recorded file no longer whole on disk: pull the item again, as if nothing had been saved.
          if (!(err instanceof PagepoolError && err.code === 'FILE_INVALID')) throw err;
          options.events?.emit('warning', {
            message: `${item.key}: ${err.message}; pulling the item again`,
          });
        }
      }
      const files = await item.pull();
      await item.saved?.(files);
      return uploadPulled(files, item.key, item.signal);
    },
    async recorded(files) {
      if (keepLocal) return;
      const paths = files.flatMap((f) => (f.kept ? [f.path, f.kept.path] : [f.path]));
      await Promise.all(paths.map((p) => rm(path.join(options.outDir, ...p.split('/')), { force: true })));
    },
    stats: () => stage.stats(),
    close: () => stage.close(),
  };
}

function toRecorded(r: UploadRecord): RecordedFile {
  return { path: r.path, bytes: r.bytes, sha256: r.sha256, object: r.object, etag: r.etag };
}
