// One HTTP download attempt with undici into a `.part`: manual redirects, status and type checks, a minimum
// speed, and Range resume from a surviving `.part` + `.part.json` when the server's validator allows it.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dispatcher } from 'undici';
import {
  FileInvalidError,
  isErrno,
  PagepoolError,
  PermanentError,
  SessionExpiredError,
  TransferError,
  TransferTooSlowError,
} from '../errors.js';
import { metaPathOf, PartFile, removeFile, removePart, sizeOf } from './atomic-write.js';
import { browserHeadersFor } from './browser-headers.js';
import { conditionalHeaders, type Validators, validatorsOf } from './conditional.js';
import { canDecode, contentCoding, decode } from './content-decoding.js';
import { diskFullError, isDiskFull } from './disk-space.js';
import { checkKind, isHtmlContentType, wantsHtml } from './file-kind.js';
import { type HttpResponse, SYNC_WRITE_BYTES, sendGet } from './http-request.js';
import { HttpStatusError, httpStatusError } from './http-status.js';
import { type BrowserCookie, cookiesFromResponse } from './set-cookies.js';
import { type MinSpeed, SpeedFloor } from './speed-floor.js';
import type { FileKind } from './types.js';

/** Redirects followed before giving up: login flows rarely need more than two. */
export const MAX_REDIRECTS = 5;
/** What `.part.json` holds: enough to ask the server for the rest of the same version. */
interface PartMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  length?: number;
}

export interface DownloadAttempt {
  url: string;
  partPath: string;
  kind: FileKind;
  /** The name the file will probably get: `.html` there is the only way HTML bytes are accepted. */
  nameHint: string;
  /** The adapter's own headers: they override the browser's. */
  headers: Record<string, string>;
  /** The browser's navigation headers (see browser-headers.ts); none: `accept-encoding: identity` only. */
  browserHeaders: Readonly<Record<string, string>>;
  cookies(url: string): Promise<Array<{ name: string; value: string }>>;
  /** Takes the cookies a response set (redirects included) into the browser's session. */
  addCookies: ((cookies: BrowserCookie[]) => Promise<void>) | undefined;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** Free space to ask for in a disk-full message. */
  diskMarginBytes: number;
  /** A 401/403 means the session ended (true) or is permanent (false: the site has no login). */
  session: boolean;
  /** Below this the body is aborted with a TransferTooSlowError, its `.part` kept for the retry to resume. */
  minSpeed: MinSpeed;
  /**
   * The validators of the copy we hold (a refresh): sent as If-None-Match / If-Modified-Since, and a 304 is then
   * the answer `{ notModified: true }` with nothing written.
   */
  conditional?: Validators | undefined;
}

export interface DownloadResult {
  notModified?: false;
  bytes: number;
  sha256: string;
  /** Raw Content-Disposition of the final response, if any. */
  contentDisposition: string | undefined;
  /** True when this attempt continued an earlier `.part` (the server answered 206). */
  resumed: boolean;
  /** The final response's validators, for the next refresh. */
  validators: Validators;
}

/** A 304 to a conditional request: the copy we hold is current; no `.part` is left. */
export interface NotModified {
  notModified: true;
  /** The validators the 304 carried (a server may send newer ones). */
  validators: Validators;
}

/**
 * Downloads `attempt.url` into `attempt.partPath`, fsynced and checked; the caller renames it. With `conditional`,
 * a 304 resolves `{ notModified: true }` instead.
 */
export async function downloadToPart(attempt: DownloadAttempt): Promise<DownloadResult | NotModified> {
  const { partPath, signal } = attempt;
  let offset = 0;
  const found = await readMeta(partPath);
  let meta = typeof found === 'object' ? found : undefined;
  if (meta !== undefined && meta.url === attempt.url && validator(meta) !== undefined) {
    offset = await sizeOf(partPath);
  }
  // Bytes we cannot prove belong to the current version are worth nothing: start clean. With no `.part.json`
  // (the usual case: a first attempt) only the `.part` can be there.
  if (offset === 0) {
    meta = undefined;
    await (found === 'none' ? removeFile(partPath) : removePart(partPath));
  }

  // Two passes at most: a 416 on a resume means our `.part` is stale; the second pass starts at zero.
  for (let pass = 0; pass < 2; pass++) {
    signal.throwIfAborted();
    const headers: Record<string, string> = conditionalHeaders(attempt.conditional);
    const check = meta === undefined ? undefined : validator(meta);
    if (offset > 0 && check !== undefined) {
      headers.range = `bytes=${offset}-`;
      // If-Range: the server sends the rest only if the file is still the version we have.
      headers['if-range'] = check;
    }
    const { response, route } = await requestFollowingRedirects(attempt, headers);
    // Whatever fails from here on (a full disk writing `.part.json`, a bad Content-Range), the body goes:
    // left unread it would hold its connection, and the agent's close() would wait for it for ever.
    try {
      const { where } = route;
      const status = response.status;
      if (status === 304 && attempt.conditional !== undefined) {
        await response.body.dump();
        // The copy we hold is current: bytes of any other version (a resume's `.part`) are worth nothing.
        await removePart(partPath);
        return { notModified: true, validators: validatorsOf(response.headers) };
      }

      if (status === 416 && offset > 0) {
        await response.body.dump();
        await removePart(partPath);
        offset = 0;
        meta = undefined;
        continue;
      }
      const failure = statusError(status, response.headers, where, attempt.session);
      if (failure !== undefined) {
        await response.body.dump();
        // Only a file that is gone makes the `.part` worthless: after a 5xx, a 429 or a lost session the same
        // version is still there, and If-Range makes the server prove it before a resume.
        if (failure instanceof PermanentError) await removePart(partPath);
        throw failure;
      }

      const contentType = header(response.headers, 'content-type');
      if (!wantsHtml(attempt.kind, attempt.nameHint) && isHtmlContentType(contentType)) {
        // A login or "session expired" page instead of the file: re-login and retry, keeping any `.part`.
        throw new SessionExpiredError(
          `Expected a ${attempt.kind} from ${where}, got an HTML page (${contentType})`,
        );
      }

      // A compressed body is decoded as it streams and fetched whole: a Range counts encoded bytes while the
      // `.part` holds decoded ones, and servers that compress on the fly make each encoding anew (nginx then
      // weakens the ETag), so a resume could not be proven to continue the same bytes.
      const coding = contentCoding(header(response.headers, 'content-encoding'));
      if (coding !== undefined && !canDecode(coding)) {
        await removePart(partPath);
        throw new PermanentError(`${where} sent a body pagepool cannot decode (Content-Encoding: ${coding})`);
      }
      const contentLength =
        coding === undefined ? parseLength(header(response.headers, 'content-length')) : undefined;
      let expected: number | undefined;
      let append = false;
      if (status === 206) {
        const range = parseContentRange(header(response.headers, 'content-range'));
        if (range === undefined || range.start !== offset || coding !== undefined) {
          await removePart(partPath);
          throw new FileInvalidError(`Unusable Content-Range from ${where}: restarting from zero`);
        }
        append = offset > 0;
        expected = range.total ?? (contentLength === undefined ? undefined : offset + contentLength);
      } else {
        // 200 to a Range request: the server ignored it, or If-Range did not match. Never splice.
        offset = 0;
        expected = contentLength;
      }
      if (!append) {
        meta = coding === undefined ? freshMeta(attempt.url, response.headers, expected) : undefined;
        if (meta === undefined) await removePart(partPath);
        else await writeMeta(partPath, meta, attempt.diskMarginBytes + (expected ?? 0));
      }

      return await streamBody(attempt, response, route, {
        append,
        expected,
        resumable: meta !== undefined,
        coding,
      });
    } catch (err) {
      response.body.stop(new Error('body not needed'));
      throw err;
    }
  }
  throw new FileInvalidError(`${attempt.url} answered 416 to a request from byte zero`);
}

async function streamBody(
  attempt: DownloadAttempt,
  response: HttpResponse,
  route: Route,
  options: { append: boolean; expected: number | undefined; resumable: boolean; coding: string | undefined },
): Promise<DownloadResult> {
  const { partPath, kind, nameHint } = attempt;
  const url = route.where;
  const needed = attempt.diskMarginBytes + (options.expected ?? 0);
  const part = await PartFile.open(partPath, { append: options.append, neededBytes: needed });
  let checked = false;
  const { bytesPerSec, windowMs } = attempt.minSpeed;
  const floor = bytesPerSec > 0 ? new SpeedFloor(attempt.minSpeed) : undefined;
  // A trickle never trips the idle timeout (each byte resets it); the floor catches it within a window.
  const watch =
    floor &&
    setInterval(
      () => {
        const speed = floor.check();
        if (speed === undefined) return;
        const error = new TransferTooSlowError(
          `${url} sent ${Math.round(speed)} bytes/s over ${windowMs / 1000} s, below the minimum of ${bytesPerSec} bytes/s`,
        );
        response.body.stop(error);
      },
      Math.max(50, windowMs / 10),
    );
  const { coding } = options;
  const chunks =
    coding === undefined
      ? response.body
      : decode(
          response.body,
          coding,
          (err) =>
            new FileInvalidError(`The ${coding} body from ${url} cannot be decoded: ${describeCause(err)}`, {
              cause: err,
            }),
        );
  try {
    for await (const chunk of chunks) {
      floor?.add(chunk.byteLength);
      await part.write(chunk, { sync: chunk.byteLength >= SYNC_WRITE_BYTES });
      if (!checked && part.headComplete) {
        checkKind(kind, part.head(), nameHint, url);
        checked = true;
      }
    }
    clearInterval(watch);
    if (!checked) checkKind(kind, part.head(), nameHint, url);
  } catch (err) {
    clearInterval(watch);
    response.body.stop(new Error('body not needed'));
    // A cut or a timeout leaves bytes worth resuming; a wrong file (or no validator) leaves nothing.
    const keep =
      options.resumable && !(err instanceof FileInvalidError || err instanceof SessionExpiredError);
    if (keep) await part.close();
    else await part.discard();
    throw clientError(err, route, attempt.signal, cutShort(nameHint, part.bytes, options.expected, keep));
  }
  if (options.expected !== undefined && part.bytes !== options.expected) {
    const keep = part.bytes < options.expected && options.resumable;
    if (keep) await part.close();
    else await part.discard();
    throw new FileInvalidError(
      `GET ${url}: the body ended${cutShort(nameHint, part.bytes, options.expected, keep)}`,
    );
  }
  try {
    const { bytes, sha256 } = await part.finish();
    return {
      bytes,
      sha256,
      contentDisposition: header(response.headers, 'content-disposition'),
      resumed: options.append,
      validators: validatorsOf(response.headers),
    };
  } catch (err) {
    await part.discard();
    throw err;
  }
}

/** The URLs one request went through: where it ended, and how to name it in a message. */
export interface Route {
  /** Every URL requested, first to last: `chain[0]` is the adapter's, the last the one that answered or failed. */
  chain: string[];
  /** `http://a/x`, or after redirects `http://a/x -> 302 http://b/y`. */
  where: string;
}

/** What one GET needs besides its URL: the session's headers and cookies, the dispatcher, the signal. */
export type RequestAttempt = Pick<
  DownloadAttempt,
  'url' | 'headers' | 'browserHeaders' | 'cookies' | 'addCookies' | 'dispatcher' | 'signal'
>;

/**
 * Sends the GET, following up to MAX_REDIRECTS redirects by hand (fresh cookies for every hop, cookies set on
 * every hop back to the browser). Page reads (html-read.ts) go the same way.
 */
export async function requestFollowingRedirects(
  attempt: RequestAttempt,
  extra: Record<string, string>,
): Promise<{ response: HttpResponse; route: Route }> {
  const route: Route = { chain: [attempt.url], where: attempt.url };
  let url = attempt.url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const target = new URL(url);
    const headers: Record<string, string> = {
      // Without a browser to copy, ask for the bytes as they are stored.
      'accept-encoding': 'identity',
      ...browserHeadersFor(target, attempt.browserHeaders),
      ...lowerKeys(attempt.headers),
      ...extra,
    };
    const cookies = await attempt.cookies(url);
    if (cookies.length > 0) headers.cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    let response: HttpResponse;
    try {
      response = await sendGet(attempt.dispatcher, target, headers, attempt.signal);
    } catch (err) {
      throw clientError(err, route, attempt.signal);
    }
    // Before the next hop reads the cookies: a login redirect often sets the session it then needs.
    await keepCookies(attempt, target, response);
    const location = header(response.headers, 'location');
    if (![301, 302, 303, 307, 308].includes(response.status) || location === undefined) {
      return { response, route };
    }
    await response.body.dump();
    url = new URL(location, url).href;
    route.chain.push(url);
    route.where += ` -> ${response.status} ${url}`;
  }
  // A portal bouncing us between pages is almost always a login loop.
  throw new SessionExpiredError(`More than ${MAX_REDIRECTS} redirects: ${route.where}`);
}

/** The error a final status means, or undefined for 200/206: `httpStatusError`, and any other 1xx-3xx retried. */
export function statusError(
  status: number,
  headers: Dispatcher.ResponseData['headers'],
  url: string,
  session = true,
): Error | undefined {
  if (status === 200 || status === 206) return undefined;
  return (
    httpStatusError(status, { what: url, retryAfter: header(headers, 'retry-after'), session }) ??
    new HttpStatusError(status, url)
  );
}

/** `bytes 100-199/1000` -> `{ start: 100, total: 1000 }`; `*` total -> undefined. */
export function parseContentRange(
  value: string | undefined,
): { start: number; total: number | undefined } | undefined {
  const match = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value?.trim() ?? '');
  if (match === null) return undefined;
  const total = match[3] === '*' ? undefined : Number(match[3]);
  return { start: Number(match[1]), total };
}

function freshMeta(url: string, headers: Dispatcher.ResponseData['headers'], length: number | undefined) {
  const etag = header(headers, 'etag');
  const lastModified = header(headers, 'last-modified');
  const meta: PartMeta = { url };
  // If-Range needs a strong validator: a weak ETag could splice two versions.
  if (etag !== undefined && !etag.startsWith('W/')) meta.etag = etag;
  if (lastModified !== undefined) meta.lastModified = lastModified;
  if (length !== undefined) meta.length = length;
  return validator(meta) === undefined ? undefined : meta;
}

async function writeMeta(partPath: string, meta: PartMeta, neededBytes: number): Promise<void> {
  try {
    await writeFile(metaPathOf(partPath), JSON.stringify(meta));
  } catch (err) {
    await removePart(partPath);
    if (isDiskFull(err)) throw diskFullError(path.dirname(partPath), neededBytes, undefined, err);
    throw err;
  }
}

function validator(meta: PartMeta): string | undefined {
  return meta.etag ?? meta.lastModified;
}

/** The `.part`'s resume metadata; 'none' when there is no `.part.json`, undefined when it is torn or not ours. */
async function readMeta(partPath: string): Promise<PartMeta | 'none' | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(metaPathOf(partPath), 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const meta = value as Record<string, unknown>;
    if (typeof meta.url !== 'string') return undefined;
    const out: PartMeta = { url: meta.url };
    if (typeof meta.etag === 'string') out.etag = meta.etag;
    if (typeof meta.lastModified === 'string') out.lastModified = meta.lastModified;
    if (typeof meta.length === 'number') out.length = meta.length;
    return out;
  } catch (err) {
    // Missing or torn metadata (a crash mid-write) only costs a restart from zero.
    return isErrno(err, 'ENOENT') ? 'none' : undefined;
  }
}

export function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Hands the response's Set-Cookie to the browser; a cookie the browser refuses is its call, as for a page. */
async function keepCookies(attempt: RequestAttempt, url: URL, response: HttpResponse): Promise<void> {
  const raw = response.headers['set-cookie'];
  if (attempt.addCookies === undefined || raw === undefined) return;
  const cookies = cookiesFromResponse(url, Array.isArray(raw) ? raw : [raw]);
  if (cookies.length > 0) await attempt.addCookies(cookies).catch(() => {});
}

/** What an HTTP client failure says to a user, by its code; the code itself goes on the error. */
const CLIENT_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'the body stalled (no data in time)',
  UND_ERR_SOCKET: 'the connection closed mid-body',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the connection closed before the whole body arrived',
  UND_ERR_CLOSED: 'the connection pool is closed',
  UND_ERR_DESTROYED: 'the connection pool is closed',
};

/**
 * What a body cut short leaves, for its message: ` after 3000 of 10000 bytes of report.pdf; the next attempt
 * resumes from byte 3000` (or starts over, when the `.part` could not be kept).
 */
function cutShort(file: string, bytes: number, total: number | undefined, kept: boolean): string {
  const of = total === undefined ? 'an unknown number of' : `${total}`;
  const next = kept
    ? `the next attempt resumes from byte ${bytes}`
    : 'the next attempt starts over (this response cannot be resumed)';
  return ` after ${bytes} of ${of} bytes of ${file}; ${next}`;
}

/**
 * A failure of the HTTP client as the item's retryable TransferError naming the URL that failed and the redirects
 * that led there (`GET http://a/x -> 302 http://b/y: connection refused (ECONNREFUSED)`), and `cut` (a body cut
 * short: how much came, what happens next); our own errors and the signal's reason (a timeout, a shutdown) pass
 * through unchanged.
 */
export function clientError(err: unknown, route: Route, signal: AbortSignal, cut = ''): unknown {
  if (err instanceof PagepoolError || (signal.aborted && err === signal.reason)) return err;
  const code = errorCode(err);
  const what = (code !== undefined && CLIENT_FAILURES[code]) || describeCause(err);
  const url = route.chain[route.chain.length - 1] ?? route.where;
  return new TransferError(
    `GET ${route.where}: ${what}${code === undefined ? '' : ` (${code})`}${cut}`,
    { url, chain: [...route.chain], reason: code },
    { cause: err },
  );
}

function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeCause(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] || err.name : String(err);
}
