// The Content-Encodings a file response may come in (those Chromium asks for), decoded as the body streams so
// that checks and the file on disk see the bytes the browser would have saved.
import { Readable, type Transform, Transform as TransformStream } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';

/** A decoder for one Content-Encoding token, or undefined when the body is sent as it is. */
type DecoderFactory = () => Transform;

const DECODERS: Record<string, DecoderFactory> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => inflateEither(),
  br: () => zlib.createBrotliDecompress(),
  zstd: () => zstdDecoder(),
};

/**
 * The coding named by a Content-Encoding header: undefined for none or `identity`, else the lower-cased token.
 * Only one coding is supported (a list such as `gzip, br` is returned whole and then has no decoder).
 */
export function contentCoding(header: string | undefined): string | undefined {
  const coding = header?.trim().toLowerCase();
  return coding === undefined || coding === '' || coding === 'identity' ? undefined : coding;
}

/** True when `coding` can be decoded here. */
export function canDecode(coding: string): boolean {
  return Object.hasOwn(DECODERS, coding);
}

/**
 * `body` decoded from `coding`; a failure of the source comes out as itself, a failure of the decoder as
 * `onCorrupt(error)`.
 */
export function decode(
  body: AsyncIterable<Buffer>,
  coding: string,
  onCorrupt: (error: unknown) => Error,
): AsyncIterable<Buffer> {
  const decoder = DECODERS[coding]?.();
  if (decoder === undefined) throw new Error(`No decoder for ${coding}`);
  const source = Readable.from(body, { objectMode: false });
  let sourceFailed = false;
  source.once('error', () => {
    sourceFailed = true;
  });
  const done = pipeline(source, decoder).catch(() => {});
  return (async function* () {
    try {
      for await (const chunk of decoder) yield chunk as Buffer;
    } catch (err) {
      throw sourceFailed ? err : onCorrupt(err);
    } finally {
      source.destroy();
      await done;
    }
  })();
}

/**
 * HTTP's `deflate` is zlib-wrapped, but some servers send raw deflate: like browsers, look at the first byte
 * (a zlib header has compression method 8 in its low nibble) and pick the matching inflater.
 */
function inflateEither(): Transform {
  let inner: zlib.Inflate | zlib.InflateRaw | undefined;
  const outer = new TransformStream({
    transform(chunk: Buffer, _encoding, callback) {
      if (inner === undefined) {
        inner = (chunk[0]! & 0x0f) === 0x08 ? zlib.createInflate() : zlib.createInflateRaw();
        inner.on('data', (data: Buffer) => outer.push(data));
        inner.on('error', (err) => outer.destroy(err));
      }
      inner.write(chunk, () => callback());
    },
    flush(callback) {
      if (inner === undefined) return callback();
      inner.once('end', () => callback());
      inner.end();
    },
  });
  return outer;
}

/**
 * Zstandard: node:zlib's own decoder where this Node has one (22.15 and later), else fzstd (pure JS, the
 * fflate author's): Chromium asks for zstd, and a request that did not would tell a portal it is not the browser.
 */
function zstdDecoder(): Transform {
  const native = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (native) return native();
  const stream: Transform = new TransformStream({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decompress.push(chunk);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      try {
        decompress.push(new Uint8Array(0), true);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  const decompress = new ZstdDecompress((data) => {
    if (data.byteLength > 0) stream.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  return stream;
}
