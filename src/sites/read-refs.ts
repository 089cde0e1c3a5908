// Reads `--refs`: one ref per line as JSONL, or a CSV file with a header row (each row becomes an object).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { NoItemsError } from '../errors.js';

/**
 * One ref of `--refs`: its value, or the line's text and why it is none (not valid JSON). `where` names the line
 * in messages: `` `--refs` refs.jsonl line 7 ``.
 */
export type RefLine = { where: string; value: unknown } | { where: string; text: string; error: string };

/**
 * Yields refs lazily; `file` is a path or '-' for `stdin`. Blank lines are skipped; no refs at all is an error. A
 * line that is not valid JSON is that line's failure (yielded with its error), not the file's.
 */
export async function* readRefs(file: string, stdin: Readable = process.stdin): AsyncGenerator<RefLine> {
  const input = file === '-' ? stdin : createReadStream(file);
  const name = file === '-' ? 'stdin' : file;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let header: string[] | null = null;
  let format: 'jsonl' | 'csv' | null = null;
  let lineNo = 0;
  let refs = 0;
  for await (const raw of lines) {
    lineNo += 1;
    const line = raw.trim();
    if (line === '') continue;
    format ??= line.startsWith('{') || line.startsWith('"') || line.startsWith('[') ? 'jsonl' : 'csv';
    const where = `\`--refs\` ${name} line ${lineNo}`;
    if (format === 'jsonl') {
      refs += 1;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        yield { where, text: line, error: 'not valid JSON' };
        continue;
      }
      yield { where, value };
      continue;
    }
    const cells = splitCsvLine(line);
    if (!header) {
      header = cells;
      continue;
    }
    refs += 1;
    yield { where, value: Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])) };
  }
  if (refs === 0) throw new NoItemsError(`the \`--refs\` file ${name} produced no items`);
}

/** RFC 4180 fields on one line: commas, double quotes, "" for a quote inside a quoted field. */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}
