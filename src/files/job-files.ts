// One item's `Files`: fetch over HTTP (with retries), a browser download, bytes or a screenshot,
// each checked and written atomically under a safe name owned by the item's key.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import type { Download, Locator } from 'playwright';
import { classify, FileInvalidError, PermanentError, RateLimitedError } from '../errors.js';
import { commitPart, fsyncFile, inspectFile, removePart, writePart } from './atomic-write.js';
import { askWith, holds } from './conditional.js';
import { diskFullError } from './disk-space.js';
import { checkKind, extensionFor, isFileKind } from './file-kind.js';
import type { StoreContext } from './file-store.js';
import { keepVersion } from './file-versions.js';
import { downloadToPart } from './http-download.js';
import { abortable } from './path-lock.js';
import {
  nameFromContentDisposition,
  nameFromUrl,
  resolveInside,
  safeName,
  splitExtension,
} from './safe-name.js';
import type {
  FetchOptions,
  FileKind,
  FileOptions,
  Files,
  HttpSource,
  PreviousFile,
  SavedFile,
} from './types.js';

export class JobFiles implements Files {
  readonly #store: StoreContext;
  readonly #key: string;
  readonly #signal: AbortSignal;
  /** A refresh: the files an earlier run recorded for the item; null for an item pulled the first time. */
  readonly #previous: readonly PreviousFile[] | null;

  constructor(
    store: StoreContext,
    key: string,
    signal: AbortSignal,
    previous: readonly PreviousFile[] | null = null,
  ) {
    this.#store = store;
    this.#key = key;
    this.#signal = signal;
    this.#previous = previous;
  }

  async fetch(url: string, options: FetchOptions = {}): Promise<SavedFile> {
    const { options: store, agent } = this.#store;
    this.#check('fetch', options, urlProblem(url));
    const kind = options.kind ?? 'any';
    // The `.part` must be named before the response (a resume needs it), so it uses the name known
    // now; Content-Disposition may still give the final file a better one.
    const partName = this.#claim(options.name ?? nameFromUrl(url), kind);
    // A refresh compares with the file this URL (or this name) gave before, and asks with its validators when it
    // came from this very URL: an ETag names a version of one resource, not of any other.
    const before = this.#before(partName, url);
    const asked = before?.http?.url === url ? before : undefined;
    const once = () =>
      pRetry(
        () =>
          this.#locked(partName, async (partPath) => {
            const held = asked && resolveInside(store.outDir, asked.path);
            const conditional = held === undefined ? undefined : await askWith(asked, held);
            const result = await downloadToPart({
              conditional,
              url,
              partPath,
              kind,
              nameHint: partName,
              headers: options.headers ?? {},
              browserHeaders: store.headers,
              cookies: store.cookies,
              addCookies: store.addCookies,
              dispatcher: agent,
              signal: this.#signal,
              diskMarginBytes: store.diskMarginBytes,
              session: store.session,
              minSpeed: { bytesPerSec: store.minSpeedBytesPerSec, windowMs: store.minSpeedWindowMs },
            });
            if (result.notModified) {
              // 304: the copy we hold is current; nothing written, only the validators may be newer.
              return unchanged(before!, { url, ...(before!.http ?? {}), ...result.validators });
            }
            const remote =
              options.name === undefined ? nameFromContentDisposition(result.contentDisposition) : undefined;
            const finalName = remote === undefined ? partName : this.#claim(remote, kind);
            const http: HttpSource = { url, ...result.validators };
            return await this.#place(partPath, finalName, result, http);
          }),
        {
          retries: store.retries,
          minTimeout: store.retryMinTimeoutMs,
          factor: 2,
          randomize: true,
          signal: this.#signal,
          // Session, rate-limit, permanent and disk errors belong to the queue, not to this loop.
          shouldRetry: ({ error }) => classify(error) === 'retry',
        },
      );
    // A 429 for a file: the page work before it was accepted, so only the file waits out its Retry-After and
    // goes again (`rateLimitRetries` times and `rateLimitWaitMs` in all; the `.part` is kept for a resume).
    // Failing the item instead would send its page requests again into the same limit: against a rate-limited
    // portal most items then fail. Past that the 429 goes to the queue, which holds every start.
    let waitedMs = 0;
    for (let limited = 0; ; limited++) {
      try {
        return await once();
      } catch (err) {
        if (limited >= store.rateLimitRetries || classify(err) !== 'backoff') throw err;
        const retryAfterMs = err instanceof RateLimitedError ? err.retryAfterMs : store.retryMinTimeoutMs;
        // Up to a quarter more at random: the files one 429 stopped together do not all come back at once.
        const waitMs = retryAfterMs + Math.floor((Math.random() * retryAfterMs) / 4);
        if (waitedMs + waitMs > store.rateLimitWaitMs) throw err;
        waitedMs += waitMs;
        store.onRateLimited?.(err, retryAfterMs);
        await sleep(waitMs, undefined, { signal: this.#signal }).catch(() => {
          throw this.#signal.reason ?? err;
        });
      }
    }
  }

  async fromDownload(download: Download, options: FileOptions = {}): Promise<SavedFile> {
    const isDownload = typeof (download as Partial<Download> | null)?.saveAs === 'function';
    this.#check(
      'fromDownload',
      options,
      isDownload ? undefined : `needs a Playwright Download, got ${shown(download)}`,
    );
    const kind = options.kind ?? 'any';
    const name = this.#claim(options.name ?? download.suggestedFilename(), kind);
    return await this.#locked(name, async (partPath) => {
      await removePart(partPath);
      const saving = download.saveAs(partPath);
      try {
        await abortable(saving, this.#signal);
      } catch (err) {
        // saveAs cannot be cancelled: once it settles, take its bytes away so nothing stale stays.
        void saving.then(
          () => rm(partPath, { force: true }),
          () => rm(partPath, { force: true }),
        );
        if (/ENOSPC|EDQUOT/.test(String(err))) {
          await rm(partPath, { force: true });
          throw diskFullError(
            this.#store.options.outDir,
            this.#store.options.diskMarginBytes,
            undefined,
            err,
          );
        }
        throw err;
      }
      return await this.#checkAndCommit(partPath, name, kind, `download ${download.url()}`);
    });
  }

  async fromBytes(bytes: Uint8Array, options: FileOptions & { name: string }): Promise<SavedFile> {
    this.#check(
      'fromBytes',
      options,
      bytes instanceof Uint8Array ? undefined : `needs a Uint8Array or Buffer, got ${shown(bytes)}`,
    );
    const kind = options.kind ?? 'any';
    const name = this.#claim(options.name, kind);
    checkKind(kind, bytes.subarray(0, 512), name, `bytes for ${name}`);
    return await this.#locked(name, async (partPath) => {
      try {
        const result = await writePart(
          partPath,
          bytes,
          this.#store.options.diskMarginBytes + bytes.byteLength,
        );
        return await this.#place(partPath, name, result);
      } catch (err) {
        // Nothing to resume from bytes in memory: an abandoned or failed write leaves no `.part`.
        await removePart(partPath);
        throw err;
      }
    });
  }

  async screenshot(element: Locator, options: FileOptions & { name: string }): Promise<SavedFile> {
    const isLocator = typeof (element as Partial<Locator> | null)?.screenshot === 'function';
    this.#check(
      'screenshot',
      options,
      isLocator ? undefined : `needs a Playwright Locator, got ${shown(element)}`,
    );
    this.#signal.throwIfAborted();
    const kind: FileKind = options.kind ?? 'png';
    const bytes = await abortable(
      element.screenshot({ type: kind === 'jpeg' ? 'jpeg' : 'png' }),
      this.#signal,
    );
    return await this.fromBytes(bytes, { ...options, kind: kind === 'jpeg' ? 'jpeg' : 'png' });
  }

  /**
   * Throws when the adapter gave `files.<method>()` something it cannot use (`problem`, or bad options): one line
   * naming the item. The item would give the same again, so it fails for good, not once per retry.
   */
  #check(method: string, options: FileOptions | undefined, problem: string | undefined): void {
    const found = problem ?? optionsProblem(options);
    if (found !== undefined) throw new PermanentError(`item \`${this.#key}\`: files.${method}() ${found}`);
  }

  /** A sanitised name this key owns; kinds with a known extension get it when the name has none. */
  #claim(wanted: string | undefined, kind: FileKind): string {
    const { maxNameLength } = this.#store.options;
    let name = safeName(wanted ?? this.#key, { maxBytes: maxNameLength, fallback: this.#key });
    const ext = extensionFor(kind);
    if (ext !== '' && splitExtension(name).ext === '')
      name = safeName(name + ext, { maxBytes: maxNameLength, fallback: this.#key });
    const owned = this.#store.names.claim(this.#key, name);
    resolveInside(this.#store.options.outDir, owned);
    return owned;
  }

  /** Runs `work` holding the in-process lock of `name.part`, after the free-space check. */
  async #locked<T>(name: string, work: (partPath: string) => Promise<T>): Promise<T> {
    this.#signal.throwIfAborted();
    const partPath = resolveInside(this.#store.options.outDir, `${name}.part`);
    await this.#store.freeSpace.ensure();
    const release = await this.#store.locks.acquire(partPath, this.#signal);
    try {
      return await work(partPath);
    } finally {
      release();
    }
  }

  async #checkAndCommit(partPath: string, name: string, kind: FileKind, where: string): Promise<SavedFile> {
    try {
      const { bytes, sha256, head } = await inspectFile(partPath);
      if (bytes === 0) throw new FileInvalidError(`Empty file from ${where}`);
      checkKind(kind, head, name, where);
      await fsyncFile(partPath);
      return await this.#place(partPath, name, { bytes, sha256 });
    } catch (err) {
      await removePart(partPath);
      throw err;
    }
  }

  /** The recorded file a refresh compares this one with: the one fetched from `url` before, else by name. */
  #before(name: string, url?: string): PreviousFile | undefined {
    const previous = this.#previous;
    if (previous === null) return undefined;
    return (
      (url === undefined ? undefined : previous.find((f) => f.http?.url === url)) ??
      previous.find((f) => f.path === name)
    );
  }

  /**
   * Puts the whole, fsynced `.part` in place as `name`. In a refresh it is compared with the recorded file of that
   * name first (by sha256: the one way for a rendered file, and a fetched one whose server sent other validators):
   * the same bytes leave the file there untouched (`unchanged`); other bytes replace it atomically (`updated`),
   * after `--keep-versions` gave the version there a name of its own.
   */
  async #place(
    partPath: string,
    name: string,
    result: { bytes: number; sha256: string },
    http?: HttpSource,
  ): Promise<SavedFile> {
    const { outDir, keepVersions, maxNameLength } = this.#store.options;
    this.#store.freeSpace.wrote(result.bytes);
    const finalPath = resolveInside(outDir, name);
    const saved: SavedFile = { path: path.basename(finalPath), bytes: result.bytes, sha256: result.sha256 };
    if (http !== undefined) saved.http = http;
    if (this.#previous === null) {
      await commitPart(partPath, finalPath, this.#signal);
      return saved;
    }
    const before = this.#previous.find((f) => f.path === saved.path);
    if (before === undefined) {
      await commitPart(partPath, finalPath, this.#signal);
      return { ...saved, change: 'added' };
    }
    if (result.sha256 === before.sha256) {
      if (await holds(before, finalPath)) {
        await removePart(partPath);
        return unchanged(before, http ?? before.http);
      }
      // The same bytes as recorded, but the copy is gone (deleted by hand): put it back.
      await commitPart(partPath, finalPath, this.#signal);
      return { ...saved, change: 'unchanged' };
    }
    let kept: SavedFile | undefined;
    if (keepVersions) {
      const current = await inspectFile(finalPath).catch(() => null);
      if (current?.sha256 === result.sha256) {
        // An earlier run put these bytes in place and stopped before recording them: nothing to replace.
        await removePart(partPath);
        return { ...saved, change: 'updated' };
      }
      // Whatever is there (the recorded version, or bytes nobody recorded) keeps a name: nothing is lost.
      if (current) {
        this.#signal.throwIfAborted();
        kept = await keepVersion(
          finalPath,
          current.sha256,
          (wanted) => this.#store.names.claim(this.#key, wanted),
          maxNameLength,
        );
      }
    }
    await commitPart(partPath, finalPath, this.#signal);
    return { ...saved, change: 'updated', ...(kept ? { kept } : {}) };
  }
}

/** Why `url` cannot be fetched, or undefined when it can: an absolute http or https URL. */
function urlProblem(url: unknown): string | undefined {
  const wanted = 'needs an absolute http or https URL';
  if (typeof url !== 'string') return `${wanted}, got ${shown(url)}`;
  if (!URL.canParse(url))
    return `${wanted}, got \`${url}\` (resolve a relative link: new URL(href, page.url()))`;
  const { protocol } = new URL(url);
  if (protocol !== 'http:' && protocol !== 'https:') return `${wanted}, got \`${url}\``;
  return undefined;
}

/** Why the options cannot be used (`kind`, `name`, fetch's `headers`), or undefined when they can. */
function optionsProblem(options: FetchOptions | undefined): string | undefined {
  if (typeof options !== 'object' || options === null)
    return `needs its options to be an object, got ${shown(options)}`;
  if (options.kind !== undefined && !isFileKind(options.kind)) {
    return `needs \`kind\` to be 'pdf', 'png', 'jpeg' or 'any', got ${shown(options.kind)}`;
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    return `needs \`name\` to be a string, got ${shown(options.name)}`;
  }
  const { headers } = options;
  if (
    headers !== undefined &&
    (typeof headers !== 'object' ||
      headers === null ||
      Array.isArray(headers) ||
      !Object.values(headers).every((v) => typeof v === 'string'))
  ) {
    return `needs \`headers\` to be an object of strings, got ${shown(headers)}`;
  }
  return undefined;
}

/** A value as a message shows it: a string as it is, an object by its class, anything else by type and value. */
function shown(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return `\`${value}\``;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name: unknown = value.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return `${typeof value} \`${String(value)}\``;
}

/** The recorded file, current as it is: its upload (`object`) still stands; the validators may be newer. */
function unchanged(before: PreviousFile, http: HttpSource | undefined): SavedFile {
  const file: PreviousFile = { ...before, change: 'unchanged' };
  delete file.kept;
  if (http !== undefined) file.http = http;
  return file;
}
