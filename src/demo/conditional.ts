// Conditional requests for a file (RFC 9110 section 13): does the client's copy still match, so 304 it is?

export interface Validators {
  /** A strong ETag, quotes included. */
  etag: string;
  /** An HTTP date. */
  lastModified: string;
}

/** If-None-Match compares weakly (RFC 9110 8.8.3.2): `W/"x"` matches `"x"`; `*` matches any current file. */
function noneMatch(value: string, etag: string): boolean {
  return value.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

/**
 * True when the request's copy is current and the answer is 304 Not Modified. If-None-Match, when present,
 * decides alone (RFC 9110 13.2.2); If-Modified-Since counts only for GET and HEAD, only as a valid date, and
 * holds when the file is not newer than it (HTTP dates have whole seconds).
 */
export function notModified(
  method: string | undefined,
  headers: { 'if-none-match'?: string | undefined; 'if-modified-since'?: string | undefined },
  file: Validators,
): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) return noneMatch(ifNoneMatch, file.etag);
  if (method !== 'GET' && method !== 'HEAD') return false;
  const ifModifiedSince = headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Date.parse(file.lastModified) <= since;
}
