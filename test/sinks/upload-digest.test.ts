import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { FileInvalidError } from '../../src/errors.js';
import { UploadDigest } from '../../src/sinks/upload-digest.js';

const hash = (alg: string, b: Buffer) => createHash(alg).update(b).digest();

async function run(bytes: Buffer, partSize: number, expected = bytes): Promise<UploadDigest> {
  const digest = new UploadDigest(
    { path: 'x.bin', bytes: expected.length, sha256: hash('sha256', expected).toString('hex') },
    partSize,
  );
  // Odd chunk sizes, so part boundaries fall inside chunks.
  const chunks = [];
  for (let at = 0; at < bytes.length; at += 7777) chunks.push(bytes.subarray(at, at + 7777));
  await pipeline(Readable.from(chunks), digest, async (source: AsyncIterable<Buffer>) => {
    for await (const _ of source);
  });
  return digest;
}

describe('UploadDigest', () => {
  const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) % 251));
  const parts = [bytes.subarray(0, 40_000), bytes.subarray(40_000, 80_000), bytes.subarray(80_000)];

  it('gives the ETags S3 and s3rver answer: md5 of the whole, and md5 of the parts md5s -N', async () => {
    const d = await run(bytes, 40_000);
    const multi = hash('md5', Buffer.concat(parts.map((p) => hash('md5', p)))).toString('hex');
    expect(d.etags()).toEqual([hash('md5', bytes).toString('hex'), `${multi}-3`]);
    const composite = hash('sha256', Buffer.concat(parts.map((p) => hash('sha256', p)))).toString('base64');
    expect(d.compositeSha256()).toBe(`${composite}-3`);
  });

  it('a single part has only the md5 ETag', async () => {
    expect((await run(bytes, 200_000)).etags()).toEqual([hash('md5', bytes).toString('hex')]);
  });

  it('fails the stream when the bytes are not the recorded ones', async () => {
    const other = Buffer.from(bytes);
    other[5] = (other[5]! + 1) % 256;
    const err = await run(other, 40_000, bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileInvalidError);
    expect((err as Error).message).toMatch(
      /^x\.bin changed on disk since it was saved \(100000 bytes, sha256 /,
    );
  });
});
