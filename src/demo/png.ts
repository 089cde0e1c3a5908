// A PNG encoder for 8-bit RGB images, by hand with node:zlib (deflate + crc32): enough for the demo's images.
import { crc32, deflateSync } from 'node:zlib';

export type Rgb = [number, number, number];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * The PNG of a `width` x `height` RGB image. `raw` holds its rows, each a filter byte (0, None: the simplest,
 * and the deflate does the work) and then 3 bytes per pixel.
 */
export function encodePng(width: number, height: number, raw: Buffer): Buffer {
  if (raw.length !== height * (width * 3 + 1)) {
    throw new RangeError(
      `Expected \`raw\` to hold ${height} rows of ${width * 3 + 1} bytes, got ${raw.length} bytes`,
    );
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour RGB
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
