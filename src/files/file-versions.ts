// `--keep-versions`: before a refresh replaces a file, the version on disk gets a second name of its own,
// `NAME.<when it was saved>.EXT`, so a folder listing shows an item's versions oldest first and the current last.
import { copyFile, link, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isErrno } from '../errors.js';
import { fsyncDir, fsyncFile, inspectFile } from './atomic-write.js';
import { capBytes, splitExtension } from './safe-name.js';
import type { SavedFile } from './types.js';

/** Tries of `NAME.<stamp>-N.EXT` when another version already holds the name with other bytes. */
const MAX_SAME_SECOND = 100;

/**
 * `2026-12-07T031500Z`: UTC to the second, without `:` (refused by Windows, escaped by many tools) or the
 * milliseconds. It sorts as it reads: after the base name and its dot, digits come before any extension's
 * letters, so `S00010-window-sticker.2026-12-07T031500Z.pdf` lists before `S00010-window-sticker.pdf`.
 */
export function versionStamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '');
}

/** `sticker.pdf` -> `sticker.<stamp>.pdf` (`-N` added for the Nth name of one second), within `maxBytes`. */
export function versionName(name: string, stamp: string, maxBytes: number, n = 1): string {
  const { base, ext } = splitExtension(name);
  const tag = `.${stamp}${n > 1 ? `-${n}` : ''}`;
  const room = maxBytes - Buffer.byteLength(tag) - Buffer.byteLength(ext);
  return `${capBytes(base, Math.max(1, room)) || 'file'}${tag}${ext}`;
}

/**
 * Gives the file at `file` (whose sha256 is `sha256`) its version name beside it, stamped with when its bytes were
 * written (its mtime: a rerun after a crash finds the same name, not a second copy). A hard link, so the file is
 * never without a name; copied (`.part`, fsync, rename) where links are not possible. `claim` makes a wanted name
 * one the item owns. Resolves with the kept version, path relative to the folder.
 */
export async function keepVersion(
  file: string,
  sha256: string,
  claim: (wanted: string) => string,
  maxBytes: number,
): Promise<SavedFile> {
  const dir = path.dirname(file);
  const { size, mtimeMs } = await stat(file);
  const stamp = versionStamp(mtimeMs);
  for (let n = 1; n <= MAX_SAME_SECOND; n++) {
    const name = claim(versionName(path.basename(file), stamp, maxBytes, n));
    const target = path.join(dir, name);
    if (await placed(file, target, sha256)) {
      await fsyncDir(dir);
      return { path: name, bytes: size, sha256 };
    }
  }
  throw new Error(`No free version name for ${file}: ${MAX_SAME_SECOND} versions saved in one second`);
}

/** Puts a copy of `file` at `target`; true when `target` holds those bytes now, false when it holds others. */
async function placed(file: string, target: string, sha256: string): Promise<boolean> {
  try {
    await link(file, target);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return await same(file, target, sha256);
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK', 'ENOSYS'].some((c) => isErrno(err, c)))
      throw err;
  }
  // No hard links here (FAT, some network shares): a whole copy, written as every file is.
  // The item's path lock keeps other writers of these names out; a name taken meanwhile is compared, not replaced.
  if (await exists(target)) return await same(file, target, sha256);
  const part = `${target}.part`;
  try {
    await copyFile(file, part);
    await fsyncFile(part);
    await rename(part, target);
    return true;
  } finally {
    await rm(part, { force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** `target` already exists: it is this version when it is the same file, or holds the same bytes. */
async function same(file: string, target: string, sha256: string): Promise<boolean> {
  const [a, b] = await Promise.all([stat(file), stat(target)]);
  if (a.ino === b.ino && a.dev === b.dev) return true;
  return a.size === b.size && (await inspectFile(target)).sha256 === sha256;
}
