// Conditional requests of a refresh (RFC 9110 section 13): the validators a response carries, the headers that ask
// "has it changed since?", and whether the copy on disk is still the one an earlier run recorded.
import { stat } from 'node:fs/promises';
import type { HttpResponse } from './http-request.js';
import type { PreviousFile } from './types.js';

/** A response's validators: its ETag and Last-Modified, as sent. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

/** The ETag and Last-Modified of `headers`, as sent (a missing one is absent). */
export function validatorsOf(headers: HttpResponse['headers']): Validators {
  const out: Validators = {};
  const etag = first(headers.etag);
  const lastModified = first(headers['last-modified']);
  if (etag !== undefined && etag !== '') out.etag = etag;
  if (lastModified !== undefined && lastModified !== '') out.lastModified = lastModified;
  return out;
}

/**
 * If-None-Match with the ETag (weak ones too: RFC 9110 compares them weakly there) and If-Modified-Since with the
 * date; a server decides by If-None-Match when it has both. None without validators.
 */
export function conditionalHeaders(validators: Validators | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (validators?.etag !== undefined) headers['if-none-match'] = validators.etag;
  if (validators?.lastModified !== undefined) headers['if-modified-since'] = validators.lastModified;
  return headers;
}

/**
 * The validators to ask with for `before`, or undefined when a plain GET is needed: it has none, or its copy is
 * gone (not on disk at `file` with its recorded size, and not in a bucket either). Checking the size, not the
 * sha256, keeps a refresh of a large inventory from reading every file again.
 */
export async function askWith(
  before: PreviousFile | undefined,
  file: string,
): Promise<Validators | undefined> {
  const http = before?.http;
  if (before === undefined || http === undefined) return undefined;
  if (http.etag === undefined && http.lastModified === undefined) return undefined;
  if (!(await holds(before, file))) return undefined;
  const validators: Validators = {};
  if (http.etag !== undefined) validators.etag = http.etag;
  if (http.lastModified !== undefined) validators.lastModified = http.lastModified;
  return validators;
}

/**
 * True when the recorded copy is kept: on disk at `file` with its recorded size, or uploaded (`--no-keep-local`
 * deleted the local copy on purpose; the object is the copy).
 */
export async function holds(before: PreviousFile, file: string): Promise<boolean> {
  const size = await stat(file).then(
    (s) => s.size,
    () => null,
  );
  return size === before.bytes || (size === null && before.object !== undefined);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
