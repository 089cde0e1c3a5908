// `pagepool try`'s check of one saved file: its size and sha256 as recorded, and that it opens as what it claims to
// be (a PDF's trailer and cross-reference offset, a PNG's chunks, CRCs and image data, a JPEG's markers), with
// poppler's pdfinfo as a second opinion on PDFs where it is installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { crc32, inflateSync } from 'node:zlib';

export interface FileCheck {
  ok: boolean;
  /** `PDF, 1 page`, `PNG 640x480`, or what is wrong. */
  detail: string;
}

export async function checkSavedFile(file: string, bytes: number, sha256: string): Promise<FileCheck> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    return { ok: false, detail: `cannot be read: ${(err as Error).message}` };
  }
  if (data.length !== bytes) return { ok: false, detail: `${data.length} bytes, recorded ${bytes}` };
  if (createHash('sha256').update(data).digest('hex') !== sha256) {
    return { ok: false, detail: 'its sha256 is not the recorded one' };
  }
  if (data.subarray(0, 5).toString('latin1') === '%PDF-') return checkPdf(file, data);
  if (data.subarray(0, 8).equals(PNG_SIGNATURE)) return checkPng(data);
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return checkJpeg(data);
  return { ok: data.length > 0, detail: data.length > 0 ? 'saved (type not checked)' : 'empty' };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function checkPdf(file: string, data: Buffer): FileCheck {
  const tail = data.subarray(Math.max(0, data.length - 1024)).toString('latin1');
  if (!/%%EOF\s*$/.test(tail)) return { ok: false, detail: 'PDF without its %%EOF trailer (cut short?)' };
  const at = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(tail);
  const offset = at ? Number(at[1]) : Number.NaN;
  const target = data.subarray(offset, offset + 32).toString('latin1');
  // The offset points at a classic `xref` table or at a cross-reference stream object (`12 0 obj`).
  if (!(offset < data.length && /^(xref|\d+\s+\d+\s+obj)/.test(target))) {
    return { ok: false, detail: 'PDF whose startxref does not point at its cross-reference table' };
  }
  const pages = (data.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) ?? []).length;
  const info = spawnSync('pdfinfo', [file], { encoding: 'utf8', timeout: 10_000 });
  if (info.error === undefined && info.status !== 0) {
    return { ok: false, detail: `PDF that pdfinfo cannot open: ${info.stderr.split('\n')[0]}` };
  }
  const counted = info.error === undefined ? Number(/^Pages:\s+(\d+)/m.exec(info.stdout)?.[1]) : pages;
  const by = info.error === undefined ? ', opened by pdfinfo' : '';
  return { ok: true, detail: `PDF, ${counted} page${counted === 1 ? '' : 's'}${by}` };
}

function checkPng(data: Buffer): FileCheck {
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (at + 12 <= data.length) {
    const length = data.readUInt32BE(at);
    const type = data.subarray(at + 4, at + 8).toString('latin1');
    const end = at + 12 + length;
    if (end > data.length) return { ok: false, detail: `PNG cut short in its ${type} chunk` };
    if (crc32(data.subarray(at + 4, at + 8 + length)) !== data.readUInt32BE(at + 8 + length)) {
      return { ok: false, detail: `PNG with a bad CRC in its ${type} chunk` };
    }
    if (type === 'IHDR') {
      width = data.readUInt32BE(at + 8);
      height = data.readUInt32BE(at + 12);
    }
    if (type === 'IDAT') idat.push(data.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') {
      try {
        inflateSync(Buffer.concat(idat));
      } catch {
        return { ok: false, detail: 'PNG whose image data does not decompress' };
      }
      return { ok: true, detail: `PNG ${width}x${height}` };
    }
    at = end;
  }
  return { ok: false, detail: 'PNG without its IEND chunk (cut short?)' };
}

function checkJpeg(data: Buffer): FileCheck {
  const ends = data[data.length - 2] === 0xff && data[data.length - 1] === 0xd9;
  return ends
    ? { ok: true, detail: 'JPEG' }
    : { ok: false, detail: 'JPEG without its end marker (cut short?)' };
}
