// A refresh's files in the engine: their paths between the checkpoint (relative to --out: `<site>/NAME`) and the
// file store (relative to `<out>/<site>`: `NAME`), and the refresh of a site with stable file URLs
// (`refresh: 'files'`), which asks each recorded URL again without a page.
import type { EventEmitter } from 'node:events';
import { ForbiddenError, SessionExpiredError } from '../errors.js';
import type { FileStore } from '../files/file-store.js';
import { NotFoundError } from '../files/http-status.js';
import type { FileKind, PreviousFile, SavedFile } from '../files/types.js';
import type { RunEvents } from '../run-events.js';
import type { Site } from '../sites/site.js';
import type { PageGate, Stage } from './stage.js';

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

export interface ByUrlDeps {
  store: FileStore;
  events: EventEmitter<RunEvents>;
  /** The browser stage's start gate: an item in it holds a page's place. */
  pages: PageGate;
  /** The download stage: the recorded URLs are asked from there, as any item's files are. */
  downloads: Stage;
}

/**
 * One attempt at an item: through its page (`viaPage`, given the function that leaves the browser stage), or, for a
 * refresh of a site with `refresh: 'files'`, by asking the recorded URLs again first. Those requests wait in the
 * download stage, not the browser stage: a page stays free for the next item. One of them answering 401, 403, 404,
 * 410 or a login page sends the item through its page after all (which finds the new URL, or the re-login).
 */
export async function attemptWithRefresh(
  site: Site<unknown>,
  ctx: { key: string; signal: AbortSignal; previous?: readonly PreviousFile[] | null },
  deps: ByUrlDeps,
  viaPage: (leavePages: () => void) => Promise<SavedFile[]>,
): Promise<SavedFile[]> {
  const leavePages = deps.pages.take();
  try {
    const recorded = site.refresh === 'files' && ctx.previous ? inSiteFolder(site.name, ctx.previous) : [];
    if (recorded.length === 0 || recorded.some((f) => f.http === undefined)) return await viaPage(leavePages);
    const saved = await refetch(site.name, ctx, recorded, deps, leavePages);
    if (saved !== null) return saved;
    const again = deps.pages.take();
    try {
      return await viaPage(again);
    } finally {
      again();
    }
  } finally {
    leavePages();
  }
}

/** The recorded files asked again by URL under their recorded names; null when the item needs its page. */
async function refetch(
  siteName: string,
  ctx: { key: string; signal: AbortSignal },
  recorded: PreviousFile[],
  deps: ByUrlDeps,
  leavePages: () => void,
): Promise<SavedFile[] | null> {
  const leaveStage = await deps.downloads.enter(ctx.signal);
  leavePages();
  try {
    const files = deps.store.forJob({ key: ctx.key, signal: ctx.signal, previous: recorded });
    const saved: SavedFile[] = [];
    for (const file of recorded) {
      const got = await files.fetch(file.http!.url, { name: file.path, kind: kindOf(file.path) });
      const inOut = inOutFolder(siteName, got);
      saved.push(inOut);
      const change = inOut.change ? { change: inOut.change } : {};
      deps.events.emit('file:saved', { key: ctx.key, path: inOut.path, bytes: inOut.bytes, ...change });
    }
    return saved;
  } catch (err) {
    if (needsPage(err)) return null;
    throw err;
  } finally {
    leaveStage();
  }
}

/** A URL that moved (404, 410), is refused (401, 403) or answers with a login page: the page knows better. */
function needsPage(err: unknown): boolean {
  return err instanceof NotFoundError || err instanceof ForbiddenError || err instanceof SessionExpiredError;
}

/** The kind a recorded name says, so its magic bytes are checked again (a login page is never saved as a PDF). */
function kindOf(name: string): FileKind {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  if (ext === 'pdf') return 'pdf';
  if (ext === 'png') return 'png';
  if (ext === 'jpg' || ext === 'jpeg') return 'jpeg';
  return 'any';
}
