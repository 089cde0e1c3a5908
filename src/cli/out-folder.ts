// Checks that a folder can be made before anything is made: a run that stops at the login leaves nothing behind.
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';

/** `dir` exists as a writable folder or can be created; nothing is created. */
export async function ensureCreatable(flag: string, target: string, dir: string): Promise<void> {
  let existing = dir;
  for (;;) {
    const info = await stat(existing).catch(() => undefined);
    if (info) {
      if (!info.isDirectory()) {
        throw new ConfigError(
          `Cannot create \`${flag}\` \`${target}\`: \`${existing}\` is a file, not a folder; choose another \`${flag}\``,
        );
      }
      break;
    }
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw new ConfigError(
      `Cannot create \`${flag}\` \`${target}\`: no permission to write in \`${existing}\`; choose another \`${flag}\``,
    );
  }
}

/** The folders `ensureCreatable` would have to make for `dir`, outermost first (to remove them again). */
export async function missingFolders(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (
      await stat(at).then(
        () => true,
        () => false,
      )
    )
      break;
    missing.unshift(at);
    if (path.dirname(at) === at) break;
  }
  return missing;
}
