import { crc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cardPng } from '../../src/demo/card-png.js';

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
    // Width, height, 8 bits a channel, colour type 2 (RGB): the size users get, not the module's constants.
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9]]).toEqual([240, 336, 8, 2]);
    const raw = inflateSync(chunks[1]!.data);
    // One filter byte and 240 RGB pixels per row, 336 rows.
    expect(raw.length).toBe((240 * 3 + 1) * 336);
  });

  it('is deterministic per id and differs between ids', () => {
    expect(cardPng('C0002').equals(cardPng('C0002'))).toBe(true);
    const a = inflateSync(readChunks(cardPng('C0002'))[1]!.data);
    const b = inflateSync(readChunks(cardPng('C0003'))[1]!.data);
    expect(a.equals(b)).toBe(false);
  });
});
