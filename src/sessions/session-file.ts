// The saved login session on disk: a Playwright storage state (cookies, localStorage, IndexedDB; never
// sessionStorage), a credential, so written atomically with mode 0600 and read back whole or not at all.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext } from 'playwright';
import { isErrno } from '../errors.js';

/** What `context.storageState()` returns and `browser.newContext({ storageState })` takes. */
export type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;

/** `<out>/.pagepool/session.json`: beside the checkpoint, so `--out` alone finds both. */
export function defaultSessionPath(out: string): string {
  return path.join(out, '.pagepool', 'session.json');
}

/** A session read back: its state and when it was saved, or why it cannot be used. */
export type ReadSession = { state: StorageState; savedAt: Date } | { problem: string };

/** The saved session at `file`; null when there is none. Never throws for a bad file: it says what is wrong. */
export async function readSessionFile(file: string): Promise<ReadSession | null> {
  let text: string;
  let savedAt: Date;
  try {
    [text, savedAt] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtime)]);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    return { problem: `it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    return { problem: 'it is not JSON' };
  }
  if (!isStorageState(state)) return { problem: 'it is not a Playwright storage state' };
  return { state, savedAt };
}

/**
 * Writes `state` to `file`: a new file opened exclusively with mode 0600 (never widened by the umask, never
 * another user's file), fsynced, renamed over the old one and the folder fsynced, so `file` always holds one
 * whole session, the old or the new.
 */
export async function writeSessionFile(file: string, state: StorageState): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    await handle.sync();
    await handle.close();
    await rename(tmp, file);
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** Whether a session is saved at `file`, and when: all `pagepool status` shows of it. */
export async function sessionFileInfo(file: string): Promise<{ saved: boolean; savedAt?: Date }> {
  try {
    const info = await stat(file);
    return info.isFile() ? { saved: true, savedAt: info.mtime } : { saved: false };
  } catch {
    return { saved: false };
  }
}

function isStorageState(value: unknown): value is StorageState {
  const v = value as { cookies?: unknown; origins?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(v.cookies) &&
    Array.isArray(v.origins) &&
    v.cookies.every((c) => typeof c === 'object' && c !== null && typeof c.name === 'string')
  );
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some file systems refuse fsync on a folder; the rename is still atomic there.
    if (!['EINVAL', 'EISDIR', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

/** `status`'s line about the session: whether one is saved and when, nothing of what it holds. */
export function formatSessionStatus(file: string, info: { saved: boolean; savedAt?: Date }): string {
  return info.saved && info.savedAt
    ? `Session ${file}: saved ${info.savedAt.toISOString()}`
    : `Session ${file}: none saved (runs log in; \`pagepool login\` saves one)`;
}
