// `pagepool repair`: sets aside what is corrupt in a checkpoint so a run can resume. A corrupt journal keeps its
// valid records; a corrupt snapshot keeps its valid items (the others are pulled again). Each file is backed up
// before it is rewritten, and a healthy file is neither backed up nor rewritten.
import { copyFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { CheckpointCorruptError } from './checkpoint-corrupt-error.js';
import { nodeCheckpointFs } from './checkpoint-fs.js';
import { loadCheckpoint } from './checkpoint-loader.js';
import { journalPathFor, timestamp } from './checkpoint-paths.js';
import { CheckpointState } from './checkpoint-state.js';
import { scanLines } from './line-reader.js';
import { applyItemState, applyJournalEvent, SNAPSHOT_VERSION } from './records.js';
import { writeSnapshot } from './snapshot-writer.js';

/** What one file's repair did: records kept and set aside, and where the original went (null: untouched). */
export interface FileRepair {
  kept: number;
  dropped: number;
  backup: string | null;
}

export interface RepairResult extends FileRepair {
  /** The snapshot's repair, when it needed one. */
  snapshot: FileRepair | null;
  /** One line for the user. */
  message: string;
}

/**
 * Repairs the journal of the checkpoint at `path` (its valid lines kept, atomically), then the snapshot when it does
 * not load (its valid items kept). Throws a ConfigError when there is nothing to repair from, or when the snapshot
 * is not a snapshot at all (it cannot say which items it held).
 */
export async function repairCheckpoint(path: string): Promise<RepairResult> {
  const fs = nodeCheckpointFs;
  const journal = journalPathFor(path);
  const hasJournal = (await fs.size(journal)) !== null;
  const hasSnapshot = (await fs.size(path)) !== null;
  if (!hasJournal && !hasSnapshot) {
    throw new ConfigError(`No checkpoint at ${path}: nothing to repair`);
  }
  const journalRepair = hasJournal ? await repairJournal(journal) : { kept: 0, dropped: 0, backup: null };
  let snapshot: FileRepair | null = null;
  try {
    await loadCheckpoint(fs, path, journal);
  } catch (err) {
    if (!(err instanceof CheckpointCorruptError) || err.file !== path) throw err;
    snapshot = await repairSnapshot(path, journal, err);
  }
  const parts: string[] = [];
  if (journalRepair.backup) {
    parts.push(
      `journal: kept ${journalRepair.kept} records, set aside ${journalRepair.dropped}; the old journal is in ${journalRepair.backup}`,
    );
  }
  if (snapshot) {
    parts.push(
      `snapshot: kept ${snapshot.kept} items, set aside ${snapshot.dropped} (they will be pulled again); the old snapshot is in ${snapshot.backup}`,
    );
  }
  const message =
    parts.length === 0
      ? `Nothing to repair: the checkpoint ${path} is healthy (${journalRepair.kept} journal records); nothing was changed`
      : `Repaired ${path}: ${parts.join('; ')}`;
  return { ...journalRepair, snapshot, message };
}

/** The journal's valid lines, written atomically in its place after a backup; untouched when all are valid. */
async function repairJournal(journal: string): Promise<FileRepair> {
  const fs = nodeCheckpointFs;
  // Validation only: the scratch state checks each event's shape the way a load would.
  const scratch = new CheckpointState();
  const good: Buffer[] = [];
  let kept = 0;
  let dropped = 0;
  const scan = await scanLines(fs, journal, (buf, start, end, lineNo) => {
    let ev: unknown;
    try {
      ev = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      ev = undefined;
    }
    if (ev === undefined || applyJournalEvent(scratch, ev, -lineNo - 1, false) !== null) {
      dropped++;
      return;
    }
    kept++;
    good.push(Buffer.from(buf.subarray(start, end + 1)));
  });
  if (scan && scan.trailingBytes > 0) dropped++;
  if (dropped === 0) return { kept, dropped, backup: null };
  const backup = `${journal}.corrupt-${timestamp()}`;
  await copyFile(journal, backup);
  const tmp = `${journal}.repair`;
  const out = await fs.openWrite(tmp);
  try {
    for (const data of good) await out.write(data);
    await out.sync();
  } finally {
    await out.close();
  }
  await fs.rename(tmp, journal);
  await fs.syncDir(dirname(journal));
  return { kept, dropped, backup };
}

/**
 * The snapshot's valid items, item by item (one per line, as pagepool writes them; a whole JSON document otherwise),
 * written as a new snapshot after a backup. The journal stays as it is and still applies on top.
 */
async function repairSnapshot(
  path: string,
  journal: string,
  why: CheckpointCorruptError,
): Promise<FileRepair> {
  const fs = nodeCheckpointFs;
  const state = new CheckpointState();
  let kept = 0;
  let dropped = 0;
  let createdAt: string | null = null;
  const take = (key: string, value: unknown) => {
    if (applyItemState(state, key, value, 0, true) === null) kept++;
    else dropped++;
  };
  let header: Record<string, unknown> | null = null;
  await scanLines(fs, path, (buf, start, end, lineNo) => {
    const text = buf.toString('utf8', start, end);
    if (lineNo === 0) {
      header = parseJson(text.endsWith('"items":{') ? `${text}}}` : text) as Record<string, unknown> | null;
      return;
    }
    if (text === '}}' || text === '') return;
    const entry = parseJson(`{${text.endsWith(',') ? text.slice(0, -1) : text}}`);
    if (entry === null || typeof entry !== 'object') {
      dropped++;
      return;
    }
    for (const [key, value] of Object.entries(entry)) take(key, value);
  });
  const h = header as Record<string, unknown> | null;
  if (h !== null && typeof h.items === 'object' && h.items !== null && Object.keys(h.items).length > 0) {
    // A whole document on its first line (not pagepool's layout): its items are all in the header.
    for (const [key, value] of Object.entries(h.items as Record<string, unknown>)) take(key, value);
  }
  if (h === null || h.version !== SNAPSHOT_VERSION || (kept === 0 && dropped === 0)) {
    throw new ConfigError(
      `Cannot repair ${path}: ${why.message.split(';')[0]}, and it is not a pagepool snapshot whose items can be read one by one. Move it aside (or run with --fresh) to start over.`,
      { cause: why },
    );
  }
  createdAt = typeof h.createdAt === 'string' ? h.createdAt : null;
  const backup = `${path}.corrupt-${timestamp()}`;
  await copyFile(path, backup);
  await writeSnapshot(fs, state, { snapshotPath: path, journalPath: journal, createdAt });
  return { kept, dropped, backup };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
