// The paths of a refresh's files between the checkpoint (relative to --out: `<site>/NAME`) and the file store
// (relative to its folder `<out>/<site>`: `NAME`).
import type { PreviousFile, SavedFile } from '../files/types.js';

/** The recorded files of `site` as the store names them; files recorded under another folder are left out. */
export function inSiteFolder(site: string, files: readonly PreviousFile[]): PreviousFile[] {
  const prefix = `${site}/`;
  return files
    .filter((f) => f.path.startsWith(prefix))
    .map((f) => ({ ...f, path: f.path.slice(prefix.length) }));
}

/** A file the store saved, named from --out (a kept version too). */
export function inOutFolder(site: string, file: SavedFile): SavedFile {
  const out: SavedFile = { ...file, path: `${site}/${file.path}` };
  if (file.kept) out.kept = { ...file.kept, path: `${site}/${file.kept.path}` };
  return out;
}
