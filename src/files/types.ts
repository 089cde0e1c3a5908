// What an adapter sees of the file layer: three ways to produce a file, one result shape.
import type { Download, Locator } from 'playwright';

/** The kind of file an adapter expects; its magic bytes are checked before the file is kept. */
export type FileKind = 'pdf' | 'png' | 'jpeg' | 'any';

/** A file that is whole on disk under its final name. */
export interface SavedFile {
  /** Path relative to the output folder, with forward slashes. */
  path: string;
  bytes: number;
  sha256: string;
  /** A fetched file: the URL asked for and the validators its server sent, for a refresh's conditional request. */
  http?: HttpSource;
  /**
   * Only in a refresh (`--refresh-after`), against the item's recorded copy: `unchanged` (a 304, or the same bytes:
   * nothing written), `updated` (other bytes replaced it), `added` (the item had no such file before).
   */
  change?: FileChange;
  /** An `updated` file whose previous version `--keep-versions` kept: that version, under its own name. */
  kept?: SavedFile;
}

/** Where a fetched file came from: the adapter's URL (before redirects) and the server's validators. */
export interface HttpSource {
  url: string;
  /** The ETag as sent, quotes and any `W/` included. */
  etag?: string;
  /** The Last-Modified date as sent. */
  lastModified?: string;
}

export type FileChange = 'added' | 'updated' | 'unchanged';

/**
 * A file an earlier run recorded for the item (the checkpoint's record, path relative to the folder the item's
 * files go to), which a refresh compares against: `object`/`etag` once it was uploaded.
 */
export interface PreviousFile extends SavedFile {
  object?: string;
  etag?: string;
}

export interface FileOptions {
  /** File name wanted (sanitised). Default: from Content-Disposition, else the URL's last segment. */
  name?: string;
  /** Expected kind. @default 'any' */
  kind?: FileKind;
}

export interface FetchOptions extends FileOptions {
  /** Extra request headers (the session's Cookie and User-Agent are added for you). */
  headers?: Record<string, string>;
}

export interface Files {
  /** Download a URL over HTTP with the browser session's cookies; the page is not needed. */
  fetch(url: string, options?: FetchOptions): Promise<SavedFile>;
  /** Keep a file the browser downloaded (`page.waitForEvent('download')`). */
  fromDownload(download: Download, options?: FileOptions): Promise<SavedFile>;
  /** Keep bytes the adapter produced (a screenshot, `page.pdf()`). */
  fromBytes(bytes: Uint8Array, options: FileOptions & { name: string }): Promise<SavedFile>;
  /** Screenshot one element to PNG. */
  screenshot(element: Locator, options: FileOptions & { name: string }): Promise<SavedFile>;
}
