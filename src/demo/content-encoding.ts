// Content codings (DEMO_COMPRESS): which one a request's Accept-Encoding allows, and the bytes in it.
import * as zlib from 'node:zlib';

export type Encoding = 'br' | 'zstd' | 'gzip' | 'deflate';

type Compress = (body: Buffer) => Buffer;

// zstd came to node:zlib in Node 22.15 / 23.8; @types/node 20 does not know it, hence the lookup by name.
const zstdCompressSync = (zlib as unknown as Record<string, unknown>).zstdCompressSync as
  | ((body: Buffer) => Buffer)
  | undefined;

// Levels as busy servers set them (nginx: brotli 6, gzip 1-6): fast enough to compress each page as it goes.
const CODECS: Partial<Record<Encoding, Compress>> = {
  br: (body) =>
    zlib.brotliCompressSync(body, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 5,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
  ...(zstdCompressSync ? { zstd: (body: Buffer) => zstdCompressSync(body) } : {}),
  gzip: (body) => zlib.gzipSync(body, { level: 6 }),
  // HTTP's "deflate" is the zlib format (RFC 9110 8.4.1.2), not a raw deflate stream.
  deflate: (body) => zlib.deflateSync(body, { level: 6 }),
};

/** The codings this Node can send, best first: br, then zstd (where node:zlib has it), gzip, deflate. */
export const ENCODINGS = (['br', 'zstd', 'gzip', 'deflate'] as const).filter((e) => CODECS[e] !== undefined);

/** Each coding's q-value in an Accept-Encoding header (names lower-cased; a bad q-value reads as 0). */
function weights(header: string): Map<string, number> {
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (name === '') continue;
    let weight = 1;
    for (const param of params) {
      if (!param.startsWith('q=')) continue;
      const value = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(param) ? Number(param.slice(2)) : 0;
      weight = value;
    }
    q.set(name, weight);
  }
  return q;
}

/**
 * The coding to send for `acceptEncoding`: the one with the highest q-value above 0, ties going to the better
 * coding (ENCODINGS' order); `*` stands for any coding not named. No header, no acceptable coding, or an
 * `identity` named with a higher q-value than that coding: 'identity'.
 */
export function negotiate(acceptEncoding: string | undefined): Encoding | 'identity' {
  if (acceptEncoding === undefined || acceptEncoding.trim() === '') return 'identity';
  const q = weights(acceptEncoding);
  let best: Encoding | 'identity' = 'identity';
  let bestWeight = 0;
  for (const encoding of ENCODINGS) {
    const weight = q.get(encoding) ?? q.get('*') ?? 0;
    if (weight > bestWeight) {
      best = encoding;
      bestWeight = weight;
    }
  }
  const identity = q.get('identity');
  return identity !== undefined && identity > bestWeight ? 'identity' : best;
}

/** `body` in `encoding`. */
export function encode(body: Buffer, encoding: Encoding): Buffer {
  const codec = CODECS[encoding];
  if (!codec)
    throw new RangeError(`Expected \`encoding\` to be one of ${ENCODINGS.join(', ')}, got \`${encoding}\``);
  return codec(body);
}
