// Test helper: checks a PDF's cross-reference table the way a reader does, from startxref backwards.

export interface PdfCheck {
  objects: number;
  /** Declared /Length of each stream, by object number, checked against the bytes up to `endstream`. */
  streams: Map<number, number>;
}

/** Throws unless every xref entry points at `N 0 obj` and every stream's /Length lands on `endstream`. */
export function checkPdfStructure(pdf: Buffer): PdfCheck {
  const text = pdf.toString('latin1');
  if (!text.startsWith('%PDF-')) throw new Error('no %PDF- header');
  if (!text.endsWith('%%EOF\n')) throw new Error('no %%EOF at the end');
  const tail = /startxref\n(\d+)\n%%EOF\n$/.exec(text);
  if (!tail) throw new Error('no startxref');
  const xrefAt = Number(tail[1]);
  if (text.slice(xrefAt, xrefAt + 5) !== 'xref\n')
    throw new Error(`startxref ${xrefAt} does not point at xref`);
  const head = /^xref\n0 (\d+)\n/.exec(text.slice(xrefAt));
  if (!head) throw new Error('bad xref subsection header');
  const count = Number(head[1]);
  const entriesAt = xrefAt + head[0].length;
  const streams = new Map<number, number>();
  for (let n = 0; n < count; n++) {
    const entry = text.slice(entriesAt + n * 20, entriesAt + (n + 1) * 20);
    const match = /^(\d{10}) (\d{5}) ([nf]) \n$/.exec(entry);
    if (!match) throw new Error(`xref entry ${n} is malformed: ${JSON.stringify(entry)}`);
    if (n === 0) continue;
    const offset = Number(match[1]);
    const objHead = `${n} 0 obj\n`;
    if (text.slice(offset, offset + objHead.length) !== objHead) {
      throw new Error(`xref entry ${n} points at ${offset}, not at "${n} 0 obj"`);
    }
    const lengthMatch = /^<< \/Length (\d+) >>\nstream\n/.exec(
      text.slice(offset + objHead.length, offset + 200),
    );
    if (lengthMatch) {
      const length = Number(lengthMatch[1]);
      const dataAt = offset + objHead.length + lengthMatch[0].length;
      const after = text.slice(dataAt + length, dataAt + length + 10);
      if (!/^\n?endstream/.test(after))
        throw new Error(`stream ${n}: /Length ${length} does not end at endstream`);
      streams.set(n, length);
    }
  }
  if (!new RegExp(`trailer\\n<< /Size ${count} /Root 1 0 R`).test(text.slice(xrefAt))) {
    throw new Error('trailer /Size does not match the xref');
  }
  return { objects: count - 1, streams };
}
