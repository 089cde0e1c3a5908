// Loads a checkpoint in one streaming pass over the snapshot, then the journal; finds torn and corrupt lines.
import { CheckpointCorruptError } from './checkpoint-corrupt-error.js';
import type { CheckpointFs } from './checkpoint-fs.js';
import {
  ALL_UPLOADED,
  CheckpointState,
  journalLoc,
  NO_FILES,
  NOT_UPLOADED,
  snapshotLoc,
} from './checkpoint-state.js';
import {
  KIND_DONE,
  KIND_SAVED,
  KIND_STARTED,
  ParsedLine,
  parseJournalLine,
  parseSnapshotLine,
} from './line-parser.js';
import { scanLines } from './line-reader.js';
import { applyItemState, applyJournalEvent, SNAPSHOT_VERSION } from './records.js';

export interface LoadedCheckpoint {
  state: CheckpointState;
  /** From the snapshot header, else the first event; null for an empty checkpoint. */
  createdAt: string | null;
  /** Good journal lines (the next appended line gets this number). */
  journalLines: number;
  /** Bytes of the good journal lines: the length to truncate a torn journal to. */
  journalGoodBytes: number;
  /** A torn last journal line was dropped (not yet truncated on disk). */
  tornJournal: boolean;
}

/** The command that fixes a corrupt journal, as printed in errors. */
export const repairCommand = (checkpointPath: string): string =>
  `pagepool repair --checkpoint ${checkpointPath}`;

function corruptJournal(
  journal: string,
  checkpoint: string,
  line: number,
  why: string,
): CheckpointCorruptError {
  return new CheckpointCorruptError(
    journal,
    line,
    `Checkpoint journal ${journal} is corrupt at line ${line} (${why}); nothing was changed. ` +
      `Run \`${repairCommand(checkpoint)}\` to keep the good records (the journal is backed up first).`,
  );
}

function corruptSnapshot(snapshot: string, line: number, why: string): CheckpointCorruptError {
  return new CheckpointCorruptError(
    snapshot,
    line,
    `Checkpoint snapshot ${snapshot} is corrupt at line ${line} (${why}); nothing was changed. ` +
      'It is written atomically, so something else damaged it: restore it from a backup, or move it aside to start over.',
  );
}

/**
 * Applies a line the fast parser recognised; it is valid by construction. Returns false when the line must be
 * parsed again with its files kept (a done item not all uploaded, when the run uploads).
 */
function applyParsed(
  state: CheckpointState,
  line: ParsedLine,
  loc: number,
  keepFiles: boolean,
  buf: Buffer,
): boolean {
  if (line.kind === KIND_STARTED) state.started(line.key, line.attempt, line.at);
  else if (line.kind === KIND_SAVED) state.saved(line.key, line.attempt, line.at, line.files ?? []);
  else if (line.kind === KIND_DONE) {
    const upload =
      line.fileCount === 0 ? NO_FILES : line.uploadedCount === line.fileCount ? ALL_UPLOADED : NOT_UPLOADED;
    const keep = keepFiles || (state.keepNotUploaded && upload === NOT_UPLOADED);
    if (keep && line.files === null) return false;
    state.done(line.key, line.attempt, line.at, line.bytes, loc, keep ? line.files : null, upload);
    state.noteDone(line.key, line.at, () => buf.toString('utf8', line.filesStart, line.filesEnd));
  } else {
    const failure: { reason: string; code?: string; permanent: boolean } = {
      reason: line.reason,
      permanent: line.permanent,
    };
    if (line.code !== undefined) failure.code = line.code;
    state.failed(line.key, line.attempt, line.at, failure);
  }
  return true;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads the snapshot into `state`. Our snapshots put the header on line 1, one item per line and `}}` last,
 * so each item is parsed alone and its line number is kept instead of its files; any other valid layout is
 * parsed whole.
 */
async function loadSnapshot(
  fs: CheckpointFs,
  path: string,
  keepFiles: boolean,
  keeps: Keeps,
): Promise<{ state: CheckpointState; createdAt: string | null }> {
  let state = newState(keeps);
  let createdAt: string | null = null;
  let ended = false;
  let foreign = false;
  let error: CheckpointCorruptError | null = null;
  const line = new ParsedLine();
  const scan = await scanLines(fs, path, (buf, start, end, lineNo) => {
    if (error || foreign) return;
    if (lineNo > 0 && !ended && parseSnapshotLine(buf, start, end, line, keepFiles)) {
      if (applyParsed(state, line, snapshotLoc(lineNo), keepFiles, buf)) return;
      parseSnapshotLine(buf, start, end, line, true);
      applyParsed(state, line, snapshotLoc(lineNo), keepFiles, buf);
      return;
    }
    const text = buf.toString('utf8', start, end);
    if (lineNo === 0) {
      const header = text.endsWith('"items":{') ? parse(`${text}}}`) : undefined;
      if (!header) {
        foreign = true;
        return;
      }
      const h = header as { version?: unknown; createdAt?: unknown; updatedAt?: unknown };
      if (h.version !== SNAPSHOT_VERSION)
        error = corruptSnapshot(path, 1, `unsupported version ${String(h.version)}`);
      createdAt = typeof h.createdAt === 'string' ? h.createdAt : null;
      touchHeader(state, h);
      return;
    }
    if (ended) {
      error = corruptSnapshot(path, lineNo + 1, 'text after the end');
      return;
    }
    if (text === '}}') {
      ended = true;
      return;
    }
    const body = text.endsWith(',') ? text.slice(0, -1) : text;
    // `":{"status":"` cannot occur inside a JSON string (its quotes would be escaped): it ends the key.
    const split = body.indexOf('":{"status":"');
    if (split > 0) {
      const key = parse(body.slice(0, split + 1));
      const value = parse(body.slice(split + 2));
      const why =
        typeof key !== 'string' || value === undefined
          ? 'invalid JSON'
          : applyItemState(state, key, value, snapshotLoc(lineNo), keepFiles);
      if (why) error = corruptSnapshot(path, lineNo + 1, why);
      return;
    }
    const entry = parse(`{${body}}`) as Record<string, unknown> | undefined;
    if (!entry) {
      error = corruptSnapshot(path, lineNo + 1, 'invalid JSON');
      return;
    }
    for (const key in entry) {
      const why = applyItemState(state, key, entry[key], snapshotLoc(lineNo), keepFiles);
      if (why) error = corruptSnapshot(path, lineNo + 1, why);
    }
  });
  if (!scan) return { state, createdAt };
  if (error) throw error;
  if (foreign || scan.trailingBytes > 0) {
    // Not our line layout (hand-edited, pretty-printed): parse the whole text; the files stay in memory.
    const chunks: Buffer[] = [];
    for await (const chunk of fs.read(path)) chunks.push(Buffer.from(chunk));
    state = newState(keeps);
    const doc = parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> | undefined;
    if (!doc || typeof doc.items !== 'object' || doc.items === null) {
      throw corruptSnapshot(path, 1, 'not a checkpoint snapshot');
    }
    if (doc.version !== SNAPSHOT_VERSION)
      throw corruptSnapshot(path, 1, `unsupported version ${String(doc.version)}`);
    touchHeader(state, doc);
    const items = doc.items as Record<string, unknown>;
    for (const key in items) {
      const why = applyItemState(state, key, items[key], 0, true);
      if (why) throw corruptSnapshot(path, 1, `item ${JSON.stringify(key)}: ${why}`);
    }
    return { state, createdAt: typeof doc.createdAt === 'string' ? doc.createdAt : null };
  }
  if (scan.lines > 0 && !ended) throw corruptSnapshot(path, scan.lines, 'it ends before `}}`');
  return { state, createdAt };
}

/** The header keeps the first and last event times, which compaction may have folded away from the items. */
function touchHeader(state: CheckpointState, header: { createdAt?: unknown; updatedAt?: unknown }): void {
  if (typeof header.createdAt === 'string') state.touch(header.createdAt);
  if (typeof header.updatedAt === 'string') state.touch(header.updatedAt);
}

/** Which done items keep their files in memory besides those asked for (see CheckpointState). */
interface Keeps {
  keepNotUploaded: boolean;
  staleBefore: string | null;
}

function newState(keeps: Keeps): CheckpointState {
  const state = new CheckpointState();
  state.keepNotUploaded = keeps.keepNotUploaded;
  state.staleBefore = keeps.staleBefore;
  return state;
}

export interface LoadOptions {
  /** Keep every done item's files in memory (status and repair tools); the checkpoint keeps line numbers. */
  keepFiles?: boolean;
  /** Keep in memory the files of done items not all uploaded, so a run that uploads can finish them. */
  keepNotUploaded?: boolean;
  /** Done items recorded before this ISO time are stale: their files stay in memory (see CheckpointState). */
  staleBefore?: string | null;
  onWarning?: (message: string) => void;
}

/** Loads snapshot + journal. A torn last journal line is dropped with a warning; a bad line before it throws. */
export async function loadCheckpoint(
  fs: CheckpointFs,
  snapshotPath: string,
  journalPath: string,
  options: LoadOptions = {},
): Promise<LoadedCheckpoint> {
  const keepFiles = options.keepFiles ?? false;
  const { state, createdAt } = await loadSnapshot(fs, snapshotPath, keepFiles, {
    keepNotUploaded: options.keepNotUploaded ?? false,
    staleBefore: options.staleBefore ?? null,
  });
  // A bad line is only corrupt if another line follows it; a bad last line is a torn append.
  let bad: { line: number; why: string; offset: number } | null = null;
  const line = new ParsedLine();
  const scan = await scanLines(fs, journalPath, (buf, start, end, lineNo, offset) => {
    if (bad) throw corruptJournal(journalPath, snapshotPath, bad.line, bad.why);
    if (parseJournalLine(buf, start, end, line, keepFiles)) {
      if (applyParsed(state, line, journalLoc(lineNo), keepFiles, buf)) return;
      parseJournalLine(buf, start, end, line, true);
      applyParsed(state, line, journalLoc(lineNo), keepFiles, buf);
      return;
    }
    const ev = start === end ? undefined : parse(buf.toString('utf8', start, end));
    const why =
      ev === undefined ? 'invalid JSON' : applyJournalEvent(state, ev, journalLoc(lineNo), keepFiles);
    if (why) bad = { line: lineNo + 1, why, offset };
  });
  let journalLines = scan?.lines ?? 0;
  let journalGoodBytes = scan?.completeBytes ?? 0;
  let tornJournal = false;
  const torn = bad as { line: number; why: string; offset: number } | null;
  if (torn && scan && scan.trailingBytes > 0)
    throw corruptJournal(journalPath, snapshotPath, torn.line, torn.why);
  if (torn) {
    journalLines--;
    journalGoodBytes = torn.offset;
    tornJournal = true;
  } else if (scan && scan.trailingBytes > 0) tornJournal = true;
  if (tornJournal) {
    options.onWarning?.(
      `Checkpoint journal ${journalPath}: dropped 1 incomplete record at line ${journalLines + 1} ` +
        '(the last write before a crash); that item will be processed again.',
    );
  }
  return {
    state,
    createdAt: createdAt ?? state.firstUpdate,
    journalLines,
    journalGoodBytes,
    tornJournal,
  };
}
