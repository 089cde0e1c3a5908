// Reads the exact journal and snapshot line shapes our writers produce straight from the bytes; any other
// line is left to JSON.parse, so what counts as valid or corrupt is decided exactly as before.
import type { HttpSource } from '../files/types.js';
import type { RecordedFile } from './recorded-file.js';

export const KIND_STARTED = 0;
export const KIND_DONE = 1;
export const KIND_FAILED = 2;
export const KIND_SAVED = 3;

/** One recognised line; reused from line to line so a million lines allocate only what they keep. */
export class ParsedLine {
  kind = KIND_STARTED;
  key = '';
  /** `attempt` of a journal event, `attempts` of a snapshot item. */
  attempt = 0;
  at = '';
  /** Sum of the files' bytes (done, saved). */
  bytes = 0;
  /** How many files, and how many of them carry an uploaded `object` (done, saved). */
  fileCount = 0;
  uploadedCount = 0;
  /** The files (done, saved), only when asked for. */
  files: RecordedFile[] | null = null;
  reason = '';
  code: string | undefined = undefined;
  permanent = false;
  /** Byte ranges in the line's buffer, quotes and brackets included: the key, `at` and the files array. */
  keyStart = 0;
  keyEnd = 0;
  atStart = 0;
  atEnd = 0;
  filesStart = 0;
  filesEnd = 0;
}

const lit = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const J_PREFIX = lit('{"t":"');
const J_STARTED = lit('started","key":');
const J_DONE = lit('done","key":');
const J_FAILED = lit('failed","key":');
const J_SAVED = lit('saved","key":');
const J_ATTEMPT = lit(',"attempt":');
const S_STATUS = lit(':{"status":"');
const S_STARTED = lit('started","attempts":');
const S_DONE = lit('done","attempts":');
const S_FAILED = lit('failed","attempts":');
const S_SAVED = lit('saved","attempts":');
const AT = lit(',"at":');
const FILES = lit(',"files":[');
const PATH = lit('{"path":');
const BYTES = lit(',"bytes":');
const SHA = lit(',"sha256":');
const OBJECT = lit(',"object":');
const ETAG = lit(',"etag":');
const HTTP = lit(',"http":{"url":');
const LAST_MODIFIED = lit(',"lastModified":');
const REASON = lit(',"reason":');
const PERMANENT = lit(',"permanent":');
const CODE = lit(',"code":');
const TRUE = lit('true');
const FALSE = lit('false');

// The cursor: parsing is synchronous, so one module-level position serves every call.
let b: Buffer = Buffer.alloc(0);
let p = 0;
let e = 0;

// The hot loops copy the cursor into locals: a module-level variable is reloaded and stored every step.

function match(l: Uint8Array): boolean {
  const n = l.length;
  const at = p;
  const buf = b;
  if (at + n > e) return false;
  for (let i = 0; i < n; i++) if (buf[at + i] !== l[i]) return false;
  p = at + n;
  return true;
}

/** Skips a JSON string without escapes or control characters at the cursor; false if it is not one. */
function skipString(): boolean {
  const buf = b;
  const end = e;
  let i = p;
  if (i >= end || buf[i] !== 0x22) return false;
  for (i++; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x22) {
      p = i + 1;
      return true;
    }
    // An escape needs JSON.parse to decode; a raw control character is invalid JSON: both fall back.
    if (c === 0x5c || c < 0x20) return false;
  }
  return false;
}

/** The text of the string that ends at the cursor and starts at `from` (its opening quote). */
function textFrom(from: number): string {
  const buf = b;
  const to = p - 1;
  for (let i = from + 1; i < to; i++) if (buf[i]! >= 0x80) return buf.toString('utf8', from + 1, to);
  return buf.toString('latin1', from + 1, to);
}

function readString(): string | null {
  const from = p;
  return skipString() ? textFrom(from) : null;
}

/**
 * A JSON string that may hold escapes (an ETag is quoted: `"\"abc\""`): the escapes are decoded by JSON.parse of
 * the string alone, so the answer is JSON.parse's. null when there is no valid string at the cursor.
 */
function readEscapedString(): string | null {
  const buf = b;
  const end = e;
  const from = p;
  let i = from;
  let escaped = false;
  if (i >= end || buf[i] !== 0x22) return null;
  for (i++; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x22) {
      p = i + 1;
      if (!escaped) return textFrom(from);
      try {
        return JSON.parse(buf.toString('utf8', from, p)) as string;
      } catch {
        return null;
      }
    }
    if (c < 0x20) return null;
    if (c === 0x5c) {
      escaped = true;
      i++;
    }
  }
  return null;
}

/** `,"http":{"url":U[,"etag":E][,"lastModified":L]}` after a file's other fields; undefined when absent. */
function readHttp(): HttpSource | null | undefined {
  if (!match(HTTP)) return undefined;
  const url = readEscapedString();
  if (url === null) return null;
  const http: HttpSource = { url };
  if (match(ETAG)) {
    const etag = readEscapedString();
    if (etag === null) return null;
    http.etag = etag;
  }
  if (match(LAST_MODIFIED)) {
    const lastModified = readEscapedString();
    if (lastModified === null) return null;
    http.lastModified = lastModified;
  }
  if (p >= e || b[p] !== 0x7d) return null;
  p++;
  return http;
}

/** A whole number written the way JSON.stringify writes one (no sign, fraction, exponent or leading 0). */
function readCount(): number {
  const buf = b;
  const end = e;
  const from = p;
  let i = from;
  let value = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  p = i;
  const digits = i - from;
  // 15 digits always fit a safe integer; anything longer goes through JSON.parse and Number.isSafeInteger.
  if (digits === 0 || digits > 15 || (digits > 1 && b[from] === 0x30)) return -1;
  return value;
}

function readFiles(out: ParsedLine, keepFiles: boolean): boolean {
  out.filesStart = p - 1;
  out.bytes = 0;
  out.fileCount = 0;
  out.uploadedCount = 0;
  out.files = keepFiles ? [] : null;
  if (p < e && b[p] === 0x5d) {
    p++;
    out.filesEnd = p;
    return true;
  }
  for (;;) {
    if (!match(PATH)) return false;
    const pathFrom = p;
    if (!skipString() || !match(BYTES)) return false;
    const pathTo = p - BYTES.length;
    const bytes = readCount();
    if (bytes < 0 || !match(SHA)) return false;
    const shaFrom = p;
    if (!skipString()) return false;
    const shaTo = p;
    // Optional, in this order: where the file was uploaded and the store's ETag.
    let object: string | null = null;
    let etag: string | null = null;
    if (match(OBJECT)) {
      object = readString();
      if (object === null) return false;
    }
    if (match(ETAG)) {
      etag = readString();
      if (etag === null) return false;
    }
    // Optional, last: where the file was fetched from and the server's validators.
    const http = readHttp();
    if (http === null) return false;
    if (p >= e || b[p] !== 0x7d) return false;
    p++;
    out.bytes += bytes;
    out.fileCount++;
    if (object !== null) out.uploadedCount++;
    if (out.files) {
      const path = b.toString('utf8', pathFrom + 1, pathTo - 1);
      const file: RecordedFile = { path, bytes, sha256: b.toString('utf8', shaFrom + 1, shaTo - 1) };
      if (object !== null) file.object = object;
      if (etag !== null) file.etag = etag;
      if (http !== undefined) file.http = http;
      out.files.push(file);
    }
    if (p < e && b[p] === 0x2c) {
      p++;
      continue;
    }
    if (p < e && b[p] === 0x5d) {
      p++;
      out.filesEnd = p;
      return true;
    }
    return false;
  }
}

/** `,"reason":R,"permanent":B` and an optional `,"code":C`, then the closing brace. */
function readFailure(out: ParsedLine): boolean {
  if (!match(REASON)) return false;
  const reason = readString();
  if (reason === null || !match(PERMANENT)) return false;
  if (match(TRUE)) out.permanent = true;
  else if (match(FALSE)) out.permanent = false;
  else return false;
  out.reason = reason;
  out.code = undefined;
  if (match(CODE)) {
    const code = readString();
    if (code === null) return false;
    out.code = code;
  }
  return true;
}

/** `,"at":A` then the kind's tail and the closing brace. */
function readTail(out: ParsedLine, keepFiles: boolean): boolean {
  if (!match(AT)) return false;
  out.atStart = p;
  const at = readString();
  if (at === null) return false;
  out.atEnd = p;
  out.at = at;
  const withFiles = out.kind === KIND_DONE || out.kind === KIND_SAVED;
  if (withFiles && (!match(FILES) || !readFiles(out, keepFiles || out.kind === KIND_SAVED))) return false;
  if (out.kind === KIND_FAILED && !readFailure(out)) return false;
  if (p >= e || b[p] !== 0x7d) return false;
  p++;
  return true;
}

function readKey(out: ParsedLine): boolean {
  out.keyStart = p;
  const key = readString();
  if (key === null) return false;
  out.keyEnd = p;
  out.key = key;
  return true;
}

/**
 * Reads a journal line `buf[start, end)` as written by `journalLine`; false when the line has any other
 * shape (the caller then uses JSON.parse). A true answer always agrees with JSON.parse + validation.
 */
export function parseJournalLine(
  buf: Buffer,
  start: number,
  end: number,
  out: ParsedLine,
  keepFiles: boolean,
): boolean {
  b = buf;
  p = start;
  e = end;
  if (!match(J_PREFIX)) return false;
  if (match(J_DONE)) out.kind = KIND_DONE;
  else if (match(J_STARTED)) out.kind = KIND_STARTED;
  else if (match(J_FAILED)) out.kind = KIND_FAILED;
  else if (match(J_SAVED)) out.kind = KIND_SAVED;
  else return false;
  if (!readKey(out) || !match(J_ATTEMPT)) return false;
  out.attempt = readCount();
  if (out.attempt < 0 || !readTail(out, keepFiles)) return false;
  return p === e;
}

/**
 * Reads a snapshot item line `"KEY":{"status":...}` (with or without its trailing comma) as written by the
 * snapshot writer; false for any other shape.
 */
export function parseSnapshotLine(
  buf: Buffer,
  start: number,
  end: number,
  out: ParsedLine,
  keepFiles: boolean,
): boolean {
  b = buf;
  p = start;
  e = end > start && buf[end - 1] === 0x2c ? end - 1 : end;
  if (!readKey(out) || !match(S_STATUS)) return false;
  if (match(S_DONE)) out.kind = KIND_DONE;
  else if (match(S_STARTED)) out.kind = KIND_STARTED;
  else if (match(S_FAILED)) out.kind = KIND_FAILED;
  else if (match(S_SAVED)) out.kind = KIND_SAVED;
  else return false;
  out.attempt = readCount();
  if (out.attempt < 0 || !readTail(out, keepFiles)) return false;
  return p === e;
}
