// Hashes a file's bytes as they stream to the store: the sha256 must match the one recorded when the file was
// saved (else the stream fails and nothing is completed), and the md5s give the ETag the store must answer.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { FileInvalidError } from '../errors.js';

export class UploadDigest extends Transform {
  private readonly sha256 = createHash('sha256');
  private readonly md5 = createHash('md5');
  private part: Hash = createHash('md5');
  private partSha: Hash = createHash('sha256');
  private partBytes = 0;
  private readonly partDigests: Buffer[] = [];
  private readonly partShas: Buffer[] = [];
  private bytes = 0;

  constructor(
    private readonly expected: { sha256: string; bytes: number; path: string },
    private readonly partSize: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.sha256.update(chunk);
    this.md5.update(chunk);
    this.bytes += chunk.length;
    // Part boundaries as lib-storage cuts them (every `partSize` bytes), for the multipart ETag.
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, this.partSize - this.partBytes);
      const slice = chunk.subarray(at, at + take);
      this.part.update(slice);
      this.partSha.update(slice);
      this.partBytes += take;
      at += take;
      if (this.partBytes === this.partSize) this.endPart();
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.partBytes > 0 || this.partDigests.length === 0) this.endPart();
    const sha = this.sha256.digest('hex');
    if (this.bytes !== this.expected.bytes || sha !== this.expected.sha256) {
      done(
        new FileInvalidError(
          `${this.expected.path} changed on disk since it was saved (${this.bytes} bytes, sha256 ${sha.slice(0, 12)}…, ` +
            `recorded ${this.expected.bytes} bytes, ${this.expected.sha256.slice(0, 12)}…); it is not uploaded`,
        ),
      );
      return;
    }
    done();
  }

  /**
   * The ETags a store may answer for these bytes: the md5 of the whole (a single PUT; also what s3rver answers
   * for a multipart upload) and S3's multipart form, md5 of the parts' md5s + `-N`. Valid after the stream ended.
   */
  etags(): string[] {
    const whole = this.md5.copy().digest('hex');
    if (this.partDigests.length <= 1) return [whole];
    const multi = createHash('md5').update(Buffer.concat(this.partDigests)).digest('hex');
    return [whole, `${multi}-${this.partDigests.length}`];
  }

  /**
   * The checksum S3 answers for a multipart upload with per-part SHA256 checksums (its COMPOSITE type):
   * base64 sha256 of the parts' sha256 digests, `-N`. Valid after the stream ended.
   */
  compositeSha256(): string {
    const digest = createHash('sha256').update(Buffer.concat(this.partShas)).digest('base64');
    return `${digest}-${this.partShas.length}`;
  }

  private endPart(): void {
    this.partDigests.push(this.part.digest());
    this.partShas.push(this.partSha.digest());
    this.part = createHash('md5');
    this.partSha = createHash('sha256');
    this.partBytes = 0;
  }
}
