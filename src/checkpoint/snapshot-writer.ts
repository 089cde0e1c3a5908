// Compaction: writes a new snapshot atomically (temp file, fsync, rename, fsync folder) from the live records.
import { dirname } from 'node:path';
import type { SavedFile } from '../files/types.js';
import type { CheckpointFile, CheckpointFs } from './checkpoint-fs.js';
import { type CheckpointState, DONE, type ItemRecord, snapshotLoc } from './checkpoint-state.js';
import { itemStateOf, SNAPSHOT_VERSION } from './records.js';

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
  const fromSnapshot: Array<ItemRecord | undefined> = [];
  const fromJournal: Array<ItemRecord | undefined> = [];
  const inMemory: Array<[string, ItemRecord]> = [];
  for (const entry of state.items) {
    const item = entry[1];
    if (item.status !== DONE || item.files !== null) inMemory.push(entry);
    else if (item.loc >= 0) fromSnapshot[item.loc] = item;
    else fromJournal[-item.loc - 1] = item;
  }
  const movedItems: ItemRecord[] = [];
  const movedLocs: number[] = [];
  const tmp = `${src.snapshotPath}.tmp`;
  const file = await fs.openWrite(tmp);
  let renamed = false;
  try {
    const out = new BufferedOut(file);
    const header = { version: SNAPSHOT_VERSION, createdAt: src.createdAt, updatedAt: state.lastUpdate };
    await out.add(Buffer.from(`${JSON.stringify(header).slice(0, -1)},"items":{`));
    let line = 1;
    const sep = Buffer.from(',\n');
    const first = Buffer.from('\n');
    const emit = async (item: ItemRecord, text: Buffer): Promise<void> => {
      await out.add(line === 1 ? first : sep);
      await out.add(text);
      movedItems.push(item);
      movedLocs.push(snapshotLoc(line));
      line++;
    };
    // The scan callbacks are synchronous: gather each chunk's lines, then write them.
    const queued: Array<[ItemRecord, Buffer]> = [];
    const drain = async (): Promise<void> => {
      for (const [item, text] of queued) await emit(item, text);
      queued.length = 0;
    };
    if (fromSnapshot.length > 0) {
      for await (const _ of sequential(fs, src.snapshotPath, (buf, start, end, lineNo) => {
        const item = fromSnapshot[lineNo];
        if (!item) return;
        const stop = buf[end - 1] === 0x2c ? end - 1 : end;
        queued.push([item, Buffer.from(buf.subarray(start, stop))]);
      }))
        await drain();
    }
    if (fromJournal.length > 0) {
      for await (const _ of sequential(fs, src.journalPath, (buf, start, end, lineNo) => {
        const item = fromJournal[lineNo];
        if (!item) return;
        const ev = JSON.parse(buf.toString('utf8', start, end)) as {
          key: string;
          at: string;
          files: SavedFile[];
        };
        queued.push([
          item,
          Buffer.from(`${JSON.stringify(ev.key)}:${JSON.stringify(itemStateOf(item, ev))}`),
        ]);
      }))
        await drain();
    }
    for (const [key, item] of inMemory) {
      await emit(item, Buffer.from(`${JSON.stringify(key)}:${JSON.stringify(itemStateOf(item))}`));
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
  for (let i = 0; i < movedItems.length; i++) {
    const item = movedItems[i]!;
    item.loc = movedLocs[i]!;
    // Its files are now on a snapshot line; drop the in-memory copy.
    if (item.status === DONE) item.files = null;
  }
}

/** Runs a line scan, yielding after each chunk so the caller can do async writes between chunks. */
async function* sequential(
  fs: CheckpointFs,
  path: string,
  onLine: (buf: Buffer, start: number, end: number, lineNo: number) => void,
): AsyncGenerator<void> {
  // scanLines is callback-based; re-implement its loop here with a yield per chunk.
  let lineNo = 0;
  let rest: Buffer | null = null;
  for await (const chunk of fs.read(path)) {
    const buf: Buffer = rest
      ? Buffer.concat([rest, chunk])
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let start = 0;
    let nl = buf.indexOf(10, start);
    while (nl !== -1) {
      onLine(buf, start, nl, lineNo++);
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    rest = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
    yield;
  }
}
