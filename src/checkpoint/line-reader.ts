// Splits a file into lines in one streaming pass, without decoding more than each line it hands out.
import type { CheckpointFs } from './checkpoint-fs.js';

/** One complete line: `buf[start, end)` without its newline; `offset` is the file offset of `start`. */
export type LineHandler = (buf: Buffer, start: number, end: number, lineNo: number, offset: number) => void;

export interface LineScan {
  /** Complete lines (each ended by a newline). */
  lines: number;
  /** Bytes up to and including the last newline. */
  completeBytes: number;
  /** Bytes after the last newline: a torn record when not 0. */
  trailingBytes: number;
}

/** Reads `path` once; returns null when the file does not exist. */
export async function scanLines(
  fs: CheckpointFs,
  path: string,
  onLine: LineHandler,
): Promise<LineScan | null> {
  const chunks = lineChunks(fs, path, onLine);
  for (;;) {
    const next = await chunks.next();
    if (next.done) return next.value;
  }
}

/**
 * The same pass as `scanLines`, pausing after each chunk's lines (about 1 MB) so the caller can do async work
 * between them (the snapshot writer writes what the lines gave); returns what `scanLines` returns.
 */
export async function* lineChunks(
  fs: CheckpointFs,
  path: string,
  onLine: LineHandler,
): AsyncGenerator<void, LineScan | null> {
  let lines = 0;
  let consumed = 0;
  let rest: Buffer | null = null;
  try {
    for await (const chunk of fs.read(path)) {
      const buf: Buffer = rest
        ? Buffer.concat([rest, chunk])
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      let start = 0;
      let nl = buf.indexOf(10, start);
      while (nl !== -1) {
        onLine(buf, start, nl, lines, consumed);
        lines++;
        consumed += nl + 1 - start;
        start = nl + 1;
        nl = buf.indexOf(10, start);
      }
      // Copy the partial line: a subarray would keep the whole 1 MB chunk alive.
      rest = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
      yield;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return { lines, completeBytes: consumed, trailingBytes: rest ? rest.length : 0 };
}
