// Compaction: writes a new snapshot atomically (temp file, fsync, rename, fsync folder) from the live records.
import { dirname } from 'node:path';
import type { SavedFile } from '../files/types.js';
import type { CheckpointFile, CheckpointFs } from './checkpoint-fs.js';
import { type CheckpointState, type ItemRecord, snapshotLoc } from './checkpoint-state.js';
import { KIND_DONE, ParsedLine, parseJournalLine } from './line-parser.js';
import { lineChunks } from './line-reader.js';
import { type ItemState, itemStateOf, SNAPSHOT_VERSION } from './records.js';

const FLUSH_BYTES = 1 << 20;

/** Buffers small writes into ~1 MB ones. */
class BufferedOut {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly file: CheckpointFile) {}
  async add(part: Buffer): Promise<void> {
    this.parts.push(part);
    this.size += part.length;
    if (this.size >= FLUSH_BYTES) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const data = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    await this.file.write(data);
  }
}

export interface SnapshotSources {
  snapshotPath: string;
  journalPath: string;
  createdAt: string | null;
}

/**
 * Writes every item of `state` to a new snapshot at `snapshotPath`. A done item's files are copied from the
 * line `loc` points at in the current snapshot or journal, read in one sequential pass each; afterwards every
 * done item points into the new snapshot. The journal is not touched: the caller resets it after this.
 */
export async function writeSnapshot(
  fs: CheckpointFs,
  state: CheckpointState,
  src: SnapshotSources,
): Promise<void> {
  // Per line of the old snapshot / journal: the key whose files are there (the last done record wins).
  const fromSnapshot: Array<string | undefined> = [];
  const fromJournal: Array<string | undefined> = [];
  const inMemory: string[] = [];
  for (const [key, item] of state.entries()) {
    if (item.record !== null) inMemory.push(key);
    else if (item.loc >= 0) fromSnapshot[item.loc] = key;
    else fromJournal[-item.loc - 1] = key;
  }
  const movedKeys: string[] = [];
  const tmp = `${src.snapshotPath}.tmp`;
  const file = await fs.openWrite(tmp);
  let renamed = false;
  try {
    const out = new BufferedOut(file);
    const header = { version: SNAPSHOT_VERSION, createdAt: src.createdAt, updatedAt: state.lastUpdate };
    await out.add(Buffer.from(`${JSON.stringify(header).slice(0, -1)},"items":{`));
    const sep = Buffer.from(',\n');
    const first = Buffer.from('\n');
    const emit = async (key: string, text: Buffer): Promise<void> => {
      await out.add(movedKeys.length === 0 ? first : sep);
      await out.add(text);
      movedKeys.push(key);
    };
    // The scan callbacks are synchronous: gather each chunk's lines, then write them.
    const queued: Array<[string, Buffer]> = [];
    const drain = async (): Promise<void> => {
      for (const [key, text] of queued) await emit(key, text);
      queued.length = 0;
    };
    if (fromSnapshot.length > 0) {
      for await (const _ of lineChunks(fs, src.snapshotPath, (buf, start, end, lineNo) => {
        const key = fromSnapshot[lineNo];
        if (key === undefined) return;
        const stop = buf[end - 1] === 0x2c ? end - 1 : end;
        queued.push([key, Buffer.from(buf.subarray(start, stop))]);
      }))
        await drain();
    }
    if (fromJournal.length > 0) {
      const line = new ParsedLine();
      for await (const _ of lineChunks(fs, src.journalPath, (buf, start, end, lineNo) => {
        const key = fromJournal[lineNo];
        if (key === undefined) return;
        const slot = state.items.get(key) as number;
        const attempts = state.table.attempts[slot]!;
        queued.push([key, doneItemText(buf, start, end, line, attempts)]);
      }))
        await drain();
    }
    for (const key of inMemory) {
      const record = state.items.get(key) as ItemRecord;
      await emit(key, Buffer.from(`${JSON.stringify(key)}:${JSON.stringify(itemStateOf(record))}`));
    }
    await out.add(Buffer.from('\n}}\n'));
    await out.flush();
    await file.sync();
    await file.close();
    await fs.rename(tmp, src.snapshotPath);
    renamed = true;
    await fs.syncDir(dirname(src.snapshotPath));
  } finally {
    if (!renamed) {
      await file.close().catch(() => {});
      await fs.unlink(tmp).catch(() => {});
    }
  }
  // Line 0 is the header: items start on line 1. In-memory done items drop their copy of the files.
  for (let i = 0; i < movedKeys.length; i++) state.movedToDisk(movedKeys[i]!, snapshotLoc(i + 1));
}

const DONE_PREFIX = Buffer.from(':{"status":"done","attempts":');
const AT_PART = Buffer.from(',"at":');
const FILES_PART = Buffer.from(',"files":');
const CLOSE = Buffer.from('}');

/** The snapshot line of a done item from its journal line: byte ranges copied when the shape is ours. */
function doneItemText(buf: Buffer, start: number, end: number, line: ParsedLine, attempts: number): Buffer {
  if (parseJournalLine(buf, start, end, line, false) && line.kind === KIND_DONE) {
    return Buffer.concat([
      buf.subarray(line.keyStart, line.keyEnd),
      DONE_PREFIX,
      Buffer.from(String(attempts)),
      AT_PART,
      buf.subarray(line.atStart, line.atEnd),
      FILES_PART,
      buf.subarray(line.filesStart, line.filesEnd),
      CLOSE,
    ]);
  }
  const ev = JSON.parse(buf.toString('utf8', start, end)) as { key: string; at: string; files: SavedFile[] };
  const item: ItemState = { status: 'done', attempts, at: ev.at, files: ev.files };
  return Buffer.from(`${JSON.stringify(ev.key)}:${JSON.stringify(item)}`);
}
