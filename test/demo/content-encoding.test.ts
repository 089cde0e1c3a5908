import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ENCODINGS, encode, negotiate } from '../../src/demo/content-encoding.js';

const hasZstd = typeof (zlib as unknown as Record<string, unknown>).zstdCompressSync === 'function';

describe('negotiate', () => {
  it.each([
    // Chromium's header: br wins (zstd too is only taken when br is not).
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip, deflate', 'gzip'],
    ['deflate', 'deflate'],
    ['GZIP', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0.5, deflate', 'deflate'],
    ['gzip;q=0.5, deflate;q=0.4', 'gzip'],
    ['*', 'br'],
    ['*;q=0.1, gzip;q=0', 'br'],
    ['gzip;q=0.8, identity', 'identity'],
    ['identity', 'identity'],
    ['*;q=0', 'identity'],
    ['compress, x-unknown', 'identity'],
    ['gzip;q=2', 'identity'],
    ['', 'identity'],
    [undefined, 'identity'],
    ['zstd, gzip;q=0.9', hasZstd ? 'zstd' : 'gzip'],
  ])('%s -> %s', (header, expected) => {
    expect(negotiate(header)).toBe(expected);
  });

  it('offers zstd exactly when node:zlib has it', () => {
    expect(ENCODINGS).toEqual(hasZstd ? ['br', 'zstd', 'gzip', 'deflate'] : ['br', 'gzip', 'deflate']);
  });
});

describe('encode', () => {
  it('writes each coding as its standard decoder reads it', () => {
    const body = Buffer.from('window sticker '.repeat(1000));
    const decoders: Record<string, (b: Buffer) => Buffer> = {
      br: zlib.brotliDecompressSync,
      gzip: zlib.gunzipSync,
      // HTTP deflate is the zlib format: inflateSync, not inflateRawSync.
      deflate: zlib.inflateSync,
      zstd: (b) => (zlib as unknown as Record<string, (x: Buffer) => Buffer>).zstdDecompressSync!(b),
    };
    for (const encoding of ENCODINGS) {
      const coded = encode(body, encoding);
      expect(coded.length, encoding).toBeLessThan(body.length / 10);
      expect(decoders[encoding]!(coded).equals(body), encoding).toBe(true);
    }
  });
});
