import { crc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CARD_HEIGHT, CARD_WIDTH, cardPng } from '../../src/demo/card-png.js';

interface Chunk {
  type: string;
  data: Buffer;
}

/** Splits a PNG into chunks, checking the signature and every CRC. */
function readChunks(png: Buffer): Chunk[] {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const chunks: Chunk[] = [];
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    expect(png.readUInt32BE(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)) >>> 0);
    chunks.push({ type, data });
    at += 12 + length;
  }
  return chunks;
}

describe('cardPng', () => {
  it('is a 240x336 RGB PNG with valid chunks and a full image', () => {
    const chunks = readChunks(cardPng('C0001'));
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = chunks[0]!.data;
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9]]).toEqual([
      CARD_WIDTH,
      CARD_HEIGHT,
      8,
      2,
    ]);
    expect([CARD_WIDTH, CARD_HEIGHT]).toEqual([240, 336]);
    const raw = inflateSync(chunks[1]!.data);
    expect(raw.length).toBe((CARD_WIDTH * 3 + 1) * CARD_HEIGHT);
  });

  it('is deterministic per id and differs between ids', () => {
    expect(cardPng('C0002').equals(cardPng('C0002'))).toBe(true);
    const a = inflateSync(readChunks(cardPng('C0002'))[1]!.data);
    const b = inflateSync(readChunks(cardPng('C0003'))[1]!.data);
    expect(a.equals(b)).toBe(false);
  });
});
