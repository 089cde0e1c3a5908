// The file layer's entry point: one output folder, one undici Agent, the name registry and the
// path locks shared by every job; `forJob` hands an item its `Files`.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Dispatcher } from 'undici';
import { LIBRARY_DEFAULTS } from '../defaults.js';
import { ConfigError } from '../errors.js';
import { undici } from '../lazy-deps.js';
import { proxyDispatcher } from '../proxy/proxy-dispatcher.js';
import type { ProxySettings } from '../proxy/proxy-settings.js';
import { FreeSpace } from './disk-space.js';
import { type HtmlResponse, readHtml } from './html-read.js';
import { JobFiles } from './job-files.js';
import { NameRegistry } from './name-registry.js';
import { PathLock } from './path-lock.js';
import type { BrowserCookie } from './set-cookies.js';
import type { Files, PreviousFile } from './types.js';

export interface FileStoreOptions {
  /** Absolute folder the files go to (the caller passes `downloads/<site>`); created if missing. */
  outDir: string;
  /** undici Agent connections per origin; pass at least the concurrency. */
  connections: number;
  /** The session's cookies for a URL: pass `(url) => context.cookies(url)`. */
  cookies(url: string): Promise<Array<{ name: string; value: string }>>;
  /**
   * The browser's own request headers (`captureBrowserHeaders(context)`: User-Agent, Accept, Accept-Language,
   * Accept-Encoding, client hints), sent with every file request so the portal sees the browser it logged in
   * with; a fetch's own `headers` override them. None: only `accept-encoding: identity`.
   * @default {}
   */
  headers?: Record<string, string>;
  /** Takes the cookies file responses set into the browser's session: pass `(c) => context.addCookies(c)`. */
  addCookies?: (cookies: BrowserCookie[]) => Promise<void>;
  /** @default 10_000 */
  connectTimeoutMs?: number;
  /** @default 30_000 */
  headersTimeoutMs?: number;
  /** Longest silence while the body streams. @default 10_000 */
  bodyIdleTimeoutMs?: number;
  /**
   * The minimum transfer speed, like curl's `--speed-limit`: a body averaging fewer bytes per second over
   * `minSpeedWindowMs` is aborted (TransferTooSlowError, retried) and its `.part` kept, so the retry resumes it.
   * The default fails a 1 byte/s trickle in about 10 s and leaves a 1 KiB/s link alone; 0 turns it off.
   * @default 512
   */
  minSpeedBytesPerSec?: number;
  /** The window `minSpeedBytesPerSec` is averaged over (curl's `--speed-time`). @default 10_000 */
  minSpeedWindowMs?: number;
  /** Retries of one download (exponential backoff with jitter) before the item fails. @default 3 */
  retries?: number;
  /** First backoff delay; each retry doubles it (times a random 1-2). @default 1_000 */
  retryMinTimeoutMs?: number;
  /**
   * A 429 for a file is waited out by the file alone (its Retry-After, else `retryMinTimeoutMs`, plus up to a
   * quarter at random) up to this many times, then it goes to the caller (the queue holds every start).
   * @default 10
   */
  rateLimitRetries?: number;
  /** The longest a file waits out 429s on its own, in all; a longer Retry-After goes to the caller at once. @default 30_000 */
  rateLimitWaitMs?: number;
  /** Told when a file starts to wait out a 429 whose Retry-After is `retryAfterMs` (the caller may hold other work as long). */
  onRateLimited?: (error: unknown, retryAfterMs: number) => void;
  /** Free space required before each file. @default 100 MiB */
  diskMarginBytes?: number;
  /** Longest file name, in UTF-8 bytes. @default 120 */
  maxNameLength?: number;
  /**
   * Files earlier runs saved, as `[path, key]` (absolute, or relative to `outDir`), e.g. from the manifest:
   * their names stay with their keys, so a later run claiming names in another order never overwrites them.
   * Paths outside `outDir` (or in a subfolder) are ignored. @default []
   */
  claims?: Iterable<readonly [path: string, key: string]>;
  /**
   * The portal has a login, so a 401/403 means the session ended (re-login, retry); false: nothing can fix a
   * 401/403, it is permanent.
   * @default true
   */
  session?: boolean;
  /** Send every request through this proxy (`--proxy`, NO_PROXY respected), as the browser's pages go. */
  proxy?: ProxySettings;
  /**
   * A refresh that replaces a file first gives the version there a name of its own beside it,
   * `NAME.<saved at>.EXT` (`--keep-versions`). @default false
   */
  keepVersions?: boolean;
}

export type ResolvedFileStoreOptions = Required<
  Omit<FileStoreOptions, 'addCookies' | 'claims' | 'onRateLimited' | 'proxy'>
> & {
  addCookies?: (cookies: BrowserCookie[]) => Promise<void>;
  proxy?: ProxySettings;
  onRateLimited?: (error: unknown, retryAfterMs: number) => void;
};

/** The minimum transfer speed a store uses unless told: fails a 1 byte/s trickle in ~10 s, spares 1 KiB/s. */
export const DEFAULT_MIN_SPEED = Object.freeze({
  bytesPerSec: LIBRARY_DEFAULTS.minSpeedBytesPerSec,
  windowMs: LIBRARY_DEFAULTS.minSpeedWindowMs,
});

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyIdleTimeoutMs: LIBRARY_DEFAULTS.fileIdleTimeoutMs,
  minSpeedBytesPerSec: DEFAULT_MIN_SPEED.bytesPerSec,
  minSpeedWindowMs: DEFAULT_MIN_SPEED.windowMs,
  retries: 3,
  retryMinTimeoutMs: 1_000,
  rateLimitRetries: 10,
  rateLimitWaitMs: 30_000,
  diskMarginBytes: LIBRARY_DEFAULTS.diskMarginBytes,
  maxNameLength: 120,
  session: true,
  headers: {},
  keepVersions: false,
};

/** State every job of one output folder shares. */
export interface StoreContext {
  readonly options: ResolvedFileStoreOptions;
  readonly agent: Dispatcher;
  readonly names: NameRegistry;
  readonly locks: PathLock;
  readonly freeSpace: FreeSpace;
}

export class FileStore {
  readonly #context: StoreContext;
  #closed: Promise<void> | undefined;

  constructor(options: FileStoreOptions) {
    const resolved = validate(options);
    mkdirSync(resolved.outDir, { recursive: true });
    const agentOptions = {
      connections: resolved.connections,
      connect: { timeout: resolved.connectTimeoutMs },
      headersTimeout: resolved.headersTimeoutMs,
      bodyTimeout: resolved.bodyIdleTimeoutMs,
    };
    const agent = resolved.proxy
      ? proxyDispatcher(resolved.proxy, agentOptions)
      : new (undici().Agent)(agentOptions);
    const names = new NameRegistry(resolved.maxNameLength);
    for (const [file, key] of options.claims ?? []) {
      if (typeof file !== 'string' || typeof key !== 'string' || key === '') {
        throw new ConfigError(
          `Expected \`claims\` to hold [path, key] string pairs, got \`${String(file)}\``,
        );
      }
      const name = path.relative(resolved.outDir, path.resolve(resolved.outDir, file));
      // Only files directly in this folder can collide with names claimed here.
      if (name !== '' && name === path.basename(name) && name !== '..') names.reserve(name, key);
    }
    this.#context = {
      options: resolved,
      agent,
      names,
      locks: new PathLock(),
      freeSpace: new FreeSpace(resolved.outDir, resolved.diskMarginBytes),
    };
  }

  /** The output folder. */
  get outDir(): string {
    return this.#context.options.outDir;
  }

  /**
   * The `Files` one item uses: its names are claimed under `key`, its requests end with `signal`. `previous`: a
   * refresh, with the files an earlier run recorded for the item (paths relative to `outDir`): each file is compared
   * with its recorded one (a conditional request for a fetched one) and says how it changed (`SavedFile.change`).
   */
  forJob(job: { key: string; signal: AbortSignal; previous?: readonly PreviousFile[] | null }): Files {
    if (typeof job.key !== 'string' || job.key === '') {
      throw new TypeError(`Expected \`key\` to be a non-empty string, got \`${String(job.key)}\``);
    }
    return new JobFiles(this.#context, job.key, job.signal, job.previous ?? null);
  }

  /**
   * Reads a page's HTML over HTTP on the files' connections, with their headers and the session's cookies (and
   * cookies it is given back to the session); `headers` override the browser's. The status is the caller's to judge.
   */
  readHtml(
    url: string,
    options: { signal: AbortSignal; headers?: Record<string, string> },
  ): Promise<HtmlResponse> {
    const { options: store, agent } = this.#context;
    return readHtml({
      url,
      headers: options.headers ?? {},
      browserHeaders: store.headers,
      cookies: store.cookies,
      addCookies: store.addCookies,
      dispatcher: agent,
      signal: options.signal,
    });
  }

  /**
   * Closes the connection pool; in-flight requests fail. Idempotent. Destroyed, not closed: the run is over, and
   * undici's close() would wait for any request still open (a stalled body) for as long as it stays open.
   */
  close(): Promise<void> {
    this.#closed ??= this.#context.agent.destroy();
    return this.#closed;
  }
}

function validate(options: FileStoreOptions): ResolvedFileStoreOptions {
  const { claims, ...rest } = options;
  const merged = { ...DEFAULTS, ...stripUndefined(rest) } as ResolvedFileStoreOptions;
  const problems: string[] = [];
  const integer = (name: keyof typeof merged, min: number, max: number) => {
    const value = merged[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`Expected \`${name}\` to be an integer from ${min} to ${max}, got \`${String(value)}\``);
    }
  };
  if (typeof merged.outDir !== 'string' || !path.isAbsolute(merged.outDir)) {
    problems.push(`Expected \`outDir\` to be an absolute path, got \`${String(merged.outDir)}\``);
  }
  integer('connections', 1, 1024);
  if (typeof merged.cookies !== 'function') {
    problems.push(`Expected \`cookies\` to be a function, got \`${typeof merged.cookies}\``);
  }
  if (claims !== undefined && (claims === null || typeof claims[Symbol.iterator] !== 'function')) {
    problems.push(`Expected \`claims\` to be an iterable of [path, key], got \`${String(claims)}\``);
  }
  if (merged.onRateLimited !== undefined && typeof merged.onRateLimited !== 'function') {
    problems.push(`Expected \`onRateLimited\` to be a function, got \`${typeof merged.onRateLimited}\``);
  }
  if (
    typeof merged.headers !== 'object' ||
    merged.headers === null ||
    Object.values(merged.headers).some((v) => typeof v !== 'string')
  ) {
    problems.push(`Expected \`headers\` to be an object of strings, got \`${String(merged.headers)}\``);
  }
  if (merged.addCookies !== undefined && typeof merged.addCookies !== 'function') {
    problems.push(`Expected \`addCookies\` to be a function, got \`${typeof merged.addCookies}\``);
  }
  integer('connectTimeoutMs', 1, 600_000);
  integer('headersTimeoutMs', 1, 3_600_000);
  integer('bodyIdleTimeoutMs', 1, 3_600_000);
  integer('minSpeedBytesPerSec', 0, 1024 * 1024 * 1024);
  integer('minSpeedWindowMs', 100, 3_600_000);
  integer('retries', 0, 100);
  integer('retryMinTimeoutMs', 0, 600_000);
  integer('rateLimitRetries', 0, 100);
  integer('rateLimitWaitMs', 0, 3_600_000);
  integer('diskMarginBytes', 0, Number.MAX_SAFE_INTEGER);
  // 240 leaves room for `~hash` and `.part.json` under the usual 255-byte file-system limit.
  integer('maxNameLength', 16, 240);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return { ...merged, outDir: path.resolve(merged.outDir) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
