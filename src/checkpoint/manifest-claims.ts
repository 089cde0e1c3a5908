// Which key saved which file, read back from the manifest: the file layer reserves these names so a later
// run, claiming names in another order, never gives one item's file name to another.
import path from 'node:path';
import { type CheckpointFs, nodeCheckpointFs } from './checkpoint-fs.js';
import { scanLines } from './line-reader.js';

/**
 * `[absolute path, key]` for every file in the manifest at `manifestPath` (paths in it are relative to
 * `baseDir`); the last line for a path wins. A missing manifest gives none; a torn or foreign line is
 * skipped, since this only steers names and the checkpoint stays the record of what is done.
 */
export async function readManifestClaims(
  manifestPath: string,
  baseDir: string,
  fs: CheckpointFs = nodeCheckpointFs,
): Promise<Array<[string, string]>> {
  const owners = new Map<string, string>();
  await scanLines(fs, manifestPath, (buf, start, end) => {
    let entry: unknown;
    try {
      entry = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      return;
    }
    const { key, path: file } = (entry ?? {}) as { key?: unknown; path?: unknown };
    if (typeof key === 'string' && key !== '' && typeof file === 'string' && file !== '') {
      owners.set(path.resolve(baseDir, file), key);
    }
  });
  return [...owners];
}
