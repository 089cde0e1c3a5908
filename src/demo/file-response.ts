// Sends one file the way a real server does: ETag, Last-Modified, single byte ranges, If-Range, 304, 416.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { notModified, type Validators } from './conditional.js';

export interface FileBody extends Validators {
  body: Buffer;
  contentType: string;
  /** Sent when set (item files name themselves; a stylesheet does not). */
  contentDisposition?: string;
  /** Sent when set: public assets are cacheable. */
  cacheControl?: string;
  /** The content coding of `body` (see content-encoding.ts); unset is the file as it is. */
  contentEncoding?: string;
}

/** What the client got: a body (whole file or one range; `send` decides how it goes out), or no body at all. */
export type FileOutcome = 'body' | 'not-modified' | 'unsatisfiable' | 'head';

export interface FileReply {
  outcome: FileOutcome;
  /** First byte of the body sent (0 for a whole file); 0 when there is no body. */
  start: number;
}

type ByteRange = { start: number; end: number };

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; null when the header must be ignored (bad or multi-range). */
export function parseRange(header: string, length: number): ByteRange | 'unsatisfiable' | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || length === 0) return 'unsatisfiable';
    return { start: Math.max(0, length - suffix), end: length - 1 };
  }
  const start = Number(first);
  if (start >= length) return 'unsatisfiable';
  const end = last === '' ? length - 1 : Math.min(Number(last), length - 1);
  // RFC 9110: a range whose last byte comes before its first is invalid, and an invalid Range is ignored.
  if (end < start) return null;
  return { start, end };
}

/** If-Range holds when it names this exact representation: the strong ETag, or exactly the Last-Modified date. */
function ifRangeHolds(value: string, file: FileBody): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('W/')) return false;
  if (trimmed.startsWith('"')) return trimmed === file.etag;
  const date = Date.parse(trimmed);
  return !Number.isNaN(date) && date === Date.parse(file.lastModified);
}

/**
 * Answers `req` with `file`: status and headers here, the body (the whole file or the requested range) through
 * `send`, which may pace it or cut it short after the headers promised all of it.
 */
export function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: FileBody,
  send: (slice: Buffer) => void = (slice) => res.end(slice),
): FileReply {
  const length = file.body.length;
  const common = {
    ETag: file.etag,
    'Last-Modified': file.lastModified,
    'Accept-Ranges': 'bytes',
    ...(file.cacheControl ? { 'Cache-Control': file.cacheControl } : {}),
  };
  if (notModified(req.method, req.headers, file)) {
    res.writeHead(304, common);
    res.end();
    return { outcome: 'not-modified', start: 0 };
  }

  let range: ByteRange | 'unsatisfiable' | null = null;
  const rangeHeader = req.headers.range;
  if (rangeHeader !== undefined) {
    const header = req.headers['if-range'];
    const ifRange = Array.isArray(header) ? header[0] : header;
    range = ifRange === undefined || ifRangeHolds(ifRange, file) ? parseRange(rangeHeader, length) : null;
  }
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...common, 'Content-Range': `bytes */${length}`, 'Content-Length': '0' });
    res.end();
    return { outcome: 'unsatisfiable', start: 0 };
  }

  const slice = range ? file.body.subarray(range.start, range.end + 1) : file.body;
  res.writeHead(range ? 206 : 200, {
    ...common,
    'Content-Type': file.contentType,
    ...(file.contentDisposition ? { 'Content-Disposition': file.contentDisposition } : {}),
    ...(file.contentEncoding ? { 'Content-Encoding': file.contentEncoding } : {}),
    'Content-Length': String(slice.length),
    ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${length}` } : {}),
  });
  if (req.method === 'HEAD') {
    res.end();
    return { outcome: 'head', start: 0 };
  }
  send(slice);
  return { outcome: 'body', start: range?.start ?? 0 };
}
