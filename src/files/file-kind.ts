// Decides from Content-Type and the first bytes whether a file is the kind the adapter expected;
// an HTML page where a document was expected means the portal logged us out.
import { FileInvalidError, SessionExpiredError } from '../errors.js';
import type { FileKind } from './types.js';

/** How many leading bytes are enough to recognise every kind (HTML may start after a BOM and blanks). */
export const HEAD_BYTES = 512;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];
const PDF_SIGNATURE = [...'%PDF-'].map((c) => c.charCodeAt(0));
const HTML_START = /^(<!doctype html|<html|<head|<body|<script|<title|<meta|<form|<!--)/i;

const EXTENSIONS: Record<Exclude<FileKind, 'any'>, string> = { pdf: '.pdf', png: '.png', jpeg: '.jpg' };

/** True for a kind pagepool knows (an adapter in plain JavaScript may pass anything). */
export function isFileKind(kind: unknown): kind is FileKind {
  return kind === 'any' || Object.hasOwn(EXTENSIONS, String(kind));
}

/** The usual extension for a kind, or '' for 'any'. */
export function extensionFor(kind: FileKind): string {
  return kind === 'any' ? '' : EXTENSIONS[kind];
}

/** True when the adapter wants an HTML file, which is the only case HTML bytes are accepted. */
export function wantsHtml(kind: FileKind, name: string): boolean {
  return kind === 'any' && /\.x?html?$/i.test(name);
}

/** True for a Content-Type of an HTML page. */
export function isHtmlContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/** True when the bytes look like the start of an HTML page. */
export function looksLikeHtml(head: Uint8Array): boolean {
  let text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, HEAD_BYTES)).toString(
    'utf8',
  );
  text = text.replace(/^\ufeff/, '').trimStart();
  return HTML_START.test(text);
}

function startsWith(head: Uint8Array, signature: number[]): boolean {
  return signature.every((byte, i) => head[i] === byte);
}

/**
 * Throws unless `head` (the file's first bytes, up to HEAD_BYTES) fits `kind`.
 * HTML where a document was expected -> SessionExpiredError; other mismatches -> FileInvalidError.
 */
export function checkKind(kind: FileKind, head: Uint8Array, name: string, where: string): void {
  if (!wantsHtml(kind, name) && looksLikeHtml(head)) {
    throw new SessionExpiredError(
      `Expected a ${kind === 'any' ? 'file' : kind} from ${where}, got an HTML page`,
    );
  }
  if (head.byteLength === 0) throw new FileInvalidError(`Empty file from ${where}`);
  const ok =
    kind === 'any' ||
    (kind === 'pdf' && startsWith(head, PDF_SIGNATURE)) ||
    (kind === 'png' && startsWith(head, PNG_SIGNATURE)) ||
    (kind === 'jpeg' && startsWith(head, JPEG_SIGNATURE));
  if (!ok) {
    const hex = Buffer.from(head.subarray(0, 8)).toString('hex');
    throw new FileInvalidError(`Expected a ${kind} from ${where}, but it starts with bytes ${hex}`);
  }
}
