// `pagepool repair`: backs up a corrupt journal and rewrites it with only its valid records.
import { copyFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { nodeCheckpointFs } from './checkpoint-fs.js';
import { journalPathFor, timestamp } from './checkpoint-paths.js';
import { CheckpointState } from './checkpoint-state.js';
import { scanLines } from './line-reader.js';
import { applyJournalEvent } from './records.js';

/**
 * Copies the journal of the checkpoint at `path` to `<journal>.corrupt-<timestamp>`, then replaces it
 * (atomically) with its valid lines. A torn last line counts as dropped.
 */
export async function repairCheckpoint(
  path: string,
): Promise<{ kept: number; dropped: number; backup: string }> {
  const fs = nodeCheckpointFs;
  const journal = journalPathFor(path);
  if ((await fs.size(journal)) === null)
    throw new ConfigError(`No checkpoint journal at ${journal}: nothing to repair`);
  const backup = `${journal}.corrupt-${timestamp()}`;
  await copyFile(journal, backup);
  const tmp = `${journal}.repair`;
  const out = await fs.openWrite(tmp);
  let kept = 0;
  let dropped = 0;
  try {
    // Validation only: the scratch state checks each event's shape the way a load would.
    const scratch = new CheckpointState();
    let parts: Buffer[] = [];
    let size = 0;
    const writes: Buffer[] = [];
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
      parts.push(buf.subarray(start, end + 1));
      size += end + 1 - start;
      if (size >= 1 << 20) {
        writes.push(Buffer.concat(parts, size));
        parts = [];
        size = 0;
      }
    });
    writes.push(Buffer.concat(parts, size));
    for (const data of writes) await out.write(data);
    if (scan && scan.trailingBytes > 0) dropped++;
    await out.sync();
  } finally {
    await out.close();
  }
  await fs.rename(tmp, journal);
  await fs.syncDir(dirname(journal));
  return { kept, dropped, backup };
}
