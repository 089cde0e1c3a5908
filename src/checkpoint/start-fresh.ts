// `--fresh`: moves the old snapshot, journal, last listing and manifest aside into a timestamped backup folder.
import { copyFile, mkdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isErrno } from '../errors.js';
import { nodeCheckpointFs } from './checkpoint-fs.js';
import { journalPathFor, timestamp } from './checkpoint-paths.js';
import { lastListingPathFor } from './last-listing.js';

async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (!isErrno(err, 'EXDEV')) throw err;
    // The manifest may sit on another file system than the checkpoint folder.
    await copyFile(from, to);
    await unlink(from);
  }
}

/**
 * Moves the checkpoint at `path` (snapshot, journal, and the manifest when given) into
 * `<checkpoint folder>/backup-<timestamp>/`. Returns that folder, or null when nothing existed.
 */
export async function startFresh(path: string, manifestPath?: string): Promise<string | null> {
  const fs = nodeCheckpointFs;
  const candidates = [path, journalPathFor(path), `${path}.tmp`, lastListingPathFor(path)];
  if (manifestPath) candidates.push(manifestPath);
  const present: string[] = [];
  for (const file of candidates) if ((await fs.size(file)) !== null) present.push(file);
  if (present.length === 0) return null;
  const folder = join(dirname(path), `backup-${timestamp()}`);
  await mkdir(folder, { recursive: true });
  for (const file of present) await move(file, join(folder, basename(file)));
  await fs.syncDir(folder);
  await fs.syncDir(dirname(path));
  if (manifestPath) await fs.syncDir(dirname(manifestPath));
  return folder;
}
