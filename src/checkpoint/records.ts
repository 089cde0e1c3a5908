// The on-disk shapes: journal events and snapshot item states, their validation and their JSON text.
import type { SavedFile } from '../files/types.js';
import { type CheckpointState, DONE, FAILED, type ItemRecord, sumBytes } from './checkpoint-state.js';

export const SNAPSHOT_VERSION = 1;

export type JournalEvent =
  | { t: 'started'; key: string; attempt: number; at: string }
  | { t: 'done'; key: string; attempt: number; at: string; files: SavedFile[] }
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
  | { status: 'done'; attempts: number; at: string; files: SavedFile[] }
  | { status: 'failed'; attempts: number; at: string; reason: string; code?: string; permanent: boolean };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Why `files` is not a SavedFile[], or null when it is. */
function checkFiles(files: unknown): string | null {
  if (!Array.isArray(files)) return '`files` is not an array';
  for (const f of files) {
    if (!isObj(f) || typeof f.path !== 'string' || !isCount(f.bytes) || typeof f.sha256 !== 'string') {
      return '`files` holds an entry that is not {path, bytes, sha256}';
    }
  }
  return null;
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
    case 'done': {
      const bad = checkFiles(ev.files);
      if (bad) return bad;
      const files = ev.files as SavedFile[];
      state.done(ev.key, ev.attempt, ev.at, sumBytes(files), loc, keepFiles ? files : null);
      return null;
    }
    case 'failed': {
      const bad = checkFailure(ev);
      if (bad) return bad;
      state.failed(ev.key, ev.attempt, ev.at, failureOf(ev));
      return null;
    }
    default:
      return '`t` is not started, done or failed';
  }
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
    case 'done': {
      const bad = checkFiles(v.files);
      if (bad) return bad;
      const files = v.files as SavedFile[];
      state.done(key, v.attempts, v.at, sumBytes(files), loc, keepFiles ? files : null);
      return null;
    }
    case 'failed': {
      const bad = checkFailure(v);
      if (bad) return bad;
      state.failed(key, v.attempts, v.at, failureOf(v));
      return null;
    }
    default:
      return '`status` is not started, done or failed';
  }
}

/** The snapshot state of an item whose files are known (in memory, or from its done record). */
export function itemStateOf(item: ItemRecord, done?: { at: string; files: SavedFile[] }): ItemState {
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
