// The on-disk shapes: journal events and snapshot item states, their validation and their JSON text.

import type { HttpSource } from '../files/types.js';
import {
  type CheckpointState,
  DONE,
  FAILED,
  type ItemRecord,
  NOT_UPLOADED,
  SAVED,
  sumBytes,
  uploadStateOf,
} from './checkpoint-state.js';
import type { RecordedFile } from './recorded-file.js';

export const SNAPSHOT_VERSION = 1;

export type JournalEvent =
  | { t: 'started'; key: string; attempt: number; at: string }
  | { t: 'done'; key: string; attempt: number; at: string; files: RecordedFile[] }
  /** The files are whole on disk; their uploads are still to do (only written when the run uploads). */
  | { t: 'saved'; key: string; attempt: number; at: string; files: RecordedFile[] }
  | {
      t: 'failed';
      key: string;
      attempt: number;
      at: string;
      reason: string;
      code?: string;
      permanent: boolean;
    };

export type ItemState =
  | { status: 'started'; attempts: number; at: string }
  | { status: 'done'; attempts: number; at: string; files: RecordedFile[] }
  | { status: 'saved'; attempts: number; at: string; files: RecordedFile[] }
  | { status: 'failed'; attempts: number; at: string; reason: string; code?: string; permanent: boolean };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Why `files` is not a RecordedFile[], or null when it is. */
function checkFiles(files: unknown): string | null {
  if (!Array.isArray(files)) return '`files` is not an array';
  for (const f of files) {
    if (!isObj(f) || typeof f.path !== 'string' || !isCount(f.bytes) || typeof f.sha256 !== 'string') {
      return '`files` holds an entry that is not {path, bytes, sha256}';
    }
    if (
      (f.object !== undefined && typeof f.object !== 'string') ||
      (f.etag !== undefined && typeof f.etag !== 'string')
    )
      return '`files` holds an entry whose `object` or `etag` is not a string';
    if (f.http !== undefined && !isHttpSource(f.http))
      return '`files` holds an entry whose `http` is not {url, etag?, lastModified?}';
  }
  return null;
}

function isHttpSource(v: unknown): v is HttpSource {
  return (
    isObj(v) &&
    typeof v.url === 'string' &&
    (v.etag === undefined || typeof v.etag === 'string') &&
    (v.lastModified === undefined || typeof v.lastModified === 'string')
  );
}

/** The files as kept: only the known fields, so nothing foreign is carried into a new snapshot. */
function filesOf(files: unknown): RecordedFile[] {
  return (files as RecordedFile[]).map((f) => recordedFile(f));
}

/**
 * A RecordedFile with its fields in the order the fast line parser reads them; a refresh's `change` is not
 * recorded (it describes one run, not the file).
 */
export function recordedFile(f: RecordedFile): RecordedFile {
  const out: RecordedFile = { path: f.path, bytes: f.bytes, sha256: f.sha256 };
  if (f.object !== undefined) out.object = f.object;
  if (f.etag !== undefined) out.etag = f.etag;
  if (f.http !== undefined) out.http = httpSource(f.http);
  return out;
}

/** The validators in the order the fast line parser reads them. */
export function httpSource(h: HttpSource): HttpSource {
  const out: HttpSource = { url: h.url };
  if (h.etag !== undefined) out.etag = h.etag;
  if (h.lastModified !== undefined) out.lastModified = h.lastModified;
  return out;
}

function checkFailure(v: Obj): string | null {
  if (typeof v.reason !== 'string') return '`reason` is not a string';
  if (v.code !== undefined && typeof v.code !== 'string') return '`code` is not a string';
  if (typeof v.permanent !== 'boolean') return '`permanent` is not a boolean';
  return null;
}

/**
 * Applies one parsed journal line; returns why it is invalid, or null.
 * `loc` is where a done record's files can be read back from.
 */
export function applyJournalEvent(
  state: CheckpointState,
  ev: unknown,
  loc: number,
  keepFiles: boolean,
): string | null {
  if (!isObj(ev)) return 'not a JSON object';
  if (typeof ev.key !== 'string') return '`key` is not a string';
  if (!isCount(ev.attempt)) return '`attempt` is not a whole number';
  if (typeof ev.at !== 'string') return '`at` is not a string';
  switch (ev.t) {
    case 'started':
      state.started(ev.key, ev.attempt, ev.at);
      return null;
    case 'done':
    case 'saved': {
      const bad = checkFiles(ev.files);
      if (bad) return bad;
      const files = filesOf(ev.files);
      if (ev.t === 'saved') state.saved(ev.key, ev.attempt, ev.at, files);
      else doneOf(state, ev.key, ev.attempt, ev.at, files, loc, keepFiles);
      return null;
    }
    case 'failed': {
      const bad = checkFailure(ev);
      if (bad) return bad;
      state.failed(ev.key, ev.attempt, ev.at, failureOf(ev));
      return null;
    }
    default:
      return '`t` is not started, saved, done or failed';
  }
}

/**
 * A done record; its files stay in memory when asked, or when they are not all uploaded and the run uploads (a
 * stale item's as text, for its refresh: `noteDone`).
 */
function doneOf(
  state: CheckpointState,
  key: string,
  attempt: number,
  at: string,
  files: RecordedFile[],
  loc: number,
  keepFiles: boolean,
): void {
  const upload = uploadStateOf(files);
  const keep = keepFiles || (state.keepNotUploaded && upload === NOT_UPLOADED);
  state.done(key, attempt, at, sumBytes(files), loc, keep ? files : null, upload);
  state.noteDone(key, at, () => JSON.stringify(files));
}

function failureOf(v: Obj): { reason: string; code?: string; permanent: boolean } {
  const failure: { reason: string; code?: string; permanent: boolean } = {
    reason: v.reason as string,
    permanent: v.permanent as boolean,
  };
  if (typeof v.code === 'string') failure.code = v.code;
  return failure;
}

/** Applies one snapshot item; returns why it is invalid, or null. */
export function applyItemState(
  state: CheckpointState,
  key: string,
  v: unknown,
  loc: number,
  keepFiles: boolean,
): string | null {
  if (!isObj(v)) return 'the item state is not a JSON object';
  if (!isCount(v.attempts)) return '`attempts` is not a whole number';
  if (typeof v.at !== 'string') return '`at` is not a string';
  switch (v.status) {
    case 'started':
      state.started(key, v.attempts, v.at);
      return null;
    case 'done':
    case 'saved': {
      const bad = checkFiles(v.files);
      if (bad) return bad;
      const files = filesOf(v.files);
      if (v.status === 'saved') state.saved(key, v.attempts, v.at, files);
      else doneOf(state, key, v.attempts, v.at, files, loc, keepFiles);
      return null;
    }
    case 'failed': {
      const bad = checkFailure(v);
      if (bad) return bad;
      state.failed(key, v.attempts, v.at, failureOf(v));
      return null;
    }
    default:
      return '`status` is not started, saved, done or failed';
  }
}

/** The snapshot state of an item whose files are known (in memory, or from its done record). */
export function itemStateOf(item: ItemRecord, done?: { at: string; files: RecordedFile[] }): ItemState {
  if (item.status === SAVED) {
    return { status: 'saved', attempts: item.attempts, at: item.at, files: item.files ?? [] };
  }
  if (item.status === DONE) {
    return {
      status: 'done',
      attempts: item.attempts,
      at: done?.at ?? item.at,
      files: done?.files ?? item.files ?? [],
    };
  }
  if (item.status === FAILED && item.failure) {
    const state: ItemState = {
      status: 'failed',
      attempts: item.attempts,
      at: item.at,
      reason: item.failure.reason,
      permanent: item.failure.permanent,
    };
    if (item.failure.code !== undefined) state.code = item.failure.code;
    return state;
  }
  return { status: 'started', attempts: item.attempts, at: item.at };
}

/** One journal line, newline included; `files` comes last so a done line stays easy to read back. */
export function journalLine(ev: JournalEvent): string {
  return `${JSON.stringify(ev)}\n`;
}
