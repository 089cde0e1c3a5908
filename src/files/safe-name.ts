// Turns an untrusted name (Content-Disposition, a URL, an adapter's title) into one safe file name,
// and proves the final path stays inside the output folder.
import path from 'node:path';
import contentDisposition from 'content-disposition';
import { FileNameError } from '../errors.js';

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/i;
// C0/C1 controls plus bidi overrides, which make a name read differently from what it is.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const FORBIDDEN = /[<>:"|?*]/g;
// Our own temp files end like this; a final name must never look like one.
const TEMP_SUFFIX = /\.part(\.json)?$/i;
/** Longest extension kept whole when a name is cut to length. */
const MAX_EXTENSION_BYTES = 16;

// Made when a name is first cut to length: making one costs about 9 ms of CPU, and most runs never cut a name.
let segmenter: Intl.Segmenter | undefined;

export interface SafeNameOptions {
  /** Cap in UTF-8 bytes. */
  maxBytes: number;
  /** Used when nothing is left of the name (already safe or not: it is sanitised too). */
  fallback: string;
}

/** A single, readable file name: never a path, never empty, never a reserved device name. */
export function safeName(raw: string, options: SafeNameOptions): string {
  const cleaned = clean(raw, options.maxBytes);
  if (cleaned !== '') return cleaned;
  return clean(options.fallback, options.maxBytes) || 'file';
}

function clean(raw: string, maxBytes: number): string {
  // A remote can send `../../x` or `C:\x`: only the last component can ever become the name.
  const parts = raw.normalize('NFC').split(/[\\/]/);
  let name = parts.filter((part) => part.trim() !== '').at(-1) ?? '';
  name = name.replace(UNPRINTABLE, '').replace(FORBIDDEN, '_').trim();
  // Leading dots hide the file; trailing dots and spaces are silently dropped by Windows.
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (name === '') return '';
  if (TEMP_SUFFIX.test(name)) name = `${name}_`;
  const dot = name.indexOf('.');
  const stem = dot === -1 ? name : name.slice(0, dot);
  if (WINDOWS_RESERVED.test(stem.trim())) name = `_${name}`;
  return capBytes(name, maxBytes);
}

/** Cuts `name` to `maxBytes` UTF-8 bytes on a character boundary, keeping a short extension. */
export function capBytes(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const { base, ext } = splitExtension(name);
  const keepExt = ext !== '' && Buffer.byteLength(ext) <= MAX_EXTENSION_BYTES ? ext : '';
  const budget = maxBytes - Buffer.byteLength(keepExt);
  const source = keepExt === '' ? name : base;
  let out = '';
  let used = 0;
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (const { segment } of segmenter.segment(source)) {
    const size = Buffer.byteLength(segment);
    if (used + size > budget) break;
    out += segment;
    used += size;
  }
  out = out.replace(/[.\s]+$/, '');
  return out === '' ? '' : out + keepExt;
}

/** `report.final.pdf` -> `{ base: 'report.final', ext: '.pdf' }`; no dot -> empty ext. */
export function splitExtension(name: string): { base: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return { base: name, ext: '' };
  return { base: name.slice(0, dot), ext: name.slice(dot) };
}

/** The file name a Content-Disposition header asks for, or undefined; garbage never throws. */
export function nameFromContentDisposition(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  try {
    const name = contentDisposition.parse(header).parameters.filename;
    if (name !== undefined && name !== '') return name;
  } catch {
    // Real servers send unquoted spaces, stray semicolons and raw UTF-8: fall back to a lenient read.
  }
  const match = /filename\s*=\s*(?:"([^"]*)"|([^;]*))/i.exec(header);
  const name = (match?.[1] ?? match?.[2] ?? '').trim();
  return name === '' ? undefined : name;
}

/** The URL's last non-empty path segment, percent-decoded when that is valid. */
export function nameFromUrl(url: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const last = pathname
    .split('/')
    .filter((part) => part !== '')
    .at(-1);
  if (last === undefined) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Resolves `name` in `outDir` and throws unless the result is a direct child of `outDir`. */
export function resolveInside(outDir: string, name: string): string {
  const root = path.resolve(outDir);
  const full = path.resolve(root, name);
  if (path.dirname(full) !== root || path.basename(full) !== name) {
    throw new FileNameError(
      `Refusing file name \`${name}\`: it resolves to \`${full}\`, outside \`${root}\``,
    );
  }
  return full;
}
