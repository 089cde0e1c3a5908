// Uploads finished files to an S3 bucket with the AWS SDK v3: preflight, skip-if-present, streamed upload
// (multipart above one part), checksums the store verifies, errors mapped to pagepool's codes.
import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError, FileInvalidError, isErrno } from '../errors.js';
import { contentTypeOf } from './content-type.js';
import { formatS3Url, objectKey, parseS3Url, type S3Destination } from './s3-destination.js';
import { isNotFound, preflightError, uploadError } from './store-error.js';
import { UploadDigest } from './upload-digest.js';

export interface S3SinkOptions {
  /** Where to upload: `s3://BUCKET/PREFIX` (config: `--upload` / `PAGEPOOL_UPLOAD`). */
  url: string;
  /** Region (config: `AWS_REGION`). @default the SDK's chain; `us-east-1` when `endpoint` is set */
  region?: string;
  /** An S3-compatible store's URL (config: `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`). @default AWS */
  endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`). @default true when `endpoint` is set, else false */
  forcePathStyle?: boolean;
  /** Explicit credentials. @default the SDK's default chain (env, shared files, SSO, instance role) */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request, the SDK's own retries included. @default 3 */
  maxAttempts?: number;
  /** Files larger than this go multipart, in parts of this size (5 MiB at least). @default 8 MiB */
  partSize?: number;
  /** Parts of one file in flight at once; memory per upload is `partSize * partsInFlight`. @default 2 */
  partsInFlight?: number;
  /** Milliseconds to connect before a request counts as failed. @default 5000 */
  connectTimeoutMs?: number;
  /** Milliseconds a request may stall (no bytes either way). @default 60000 */
  requestTimeoutMs?: number;
}

/** A file whole on disk, to upload. */
export interface LocalFile {
  /** Path relative to the output folder, forward slashes: the object key is `PREFIX/path`. */
  path: string;
  /** Where to read it. */
  file: string;
  bytes: number;
  /** Hex sha256 recorded when the file was saved. */
  sha256: string;
}

/** What the checkpoint records for an uploaded file. */
export interface UploadRecord {
  path: string;
  /** `s3://BUCKET/KEY` */
  object: string;
  bytes: number;
  sha256: string;
  /** The store's ETag, quotes removed. */
  etag: string;
  /** The object was already in the bucket with this sha256 and size: nothing was sent. */
  skipped: boolean;
}

const MIB = 1024 * 1024;

const sendOptions = (signal: AbortSignal | undefined): { abortSignal?: AbortSignal } =>
  signal ? { abortSignal: signal } : {};
const MIN_PART = 5 * MIB;

function validate(o: S3SinkOptions): void {
  const errors: string[] = [];
  const int = (name: keyof S3SinkOptions, min: number, max: number): void => {
    const v = o[name];
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max))
      errors.push(`Expected \`${name}\` to be an integer from ${min} to ${max}, got \`${String(v)}\``);
  };
  int('maxAttempts', 1, 20);
  int('partSize', MIN_PART, 5 * 1024 * MIB);
  int('partsInFlight', 1, 16);
  int('connectTimeoutMs', 1, 600_000);
  int('requestTimeoutMs', 1, 3_600_000);
  if (o.endpoint !== undefined) {
    try {
      const u = new URL(o.endpoint);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      errors.push(`Expected \`endpoint\` to be an http(s) URL, got \`${o.endpoint}\``);
    }
  }
  if (errors.length > 0) throw new ConfigError(errors.join('; '));
}

/** The file's read stream; a file no longer on disk is the item's problem (saved again), not the store's. */
async function openLocal(file: LocalFile): Promise<Readable> {
  try {
    return (await open(file.file)).createReadStream();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new FileInvalidError(`${file.path} is no longer on disk; it is not uploaded`, { cause: err });
    }
    throw err;
  }
}

export class S3Sink {
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string | undefined;
  readonly partSize: number;
  private readonly dest: S3Destination;
  private readonly partsInFlight: number;
  private readonly client: S3Client;

  constructor(options: S3SinkOptions) {
    validate(options);
    this.dest = parseS3Url(options.url);
    this.bucket = this.dest.bucket;
    this.prefix = this.dest.prefix;
    this.endpoint = options.endpoint;
    this.partSize = options.partSize ?? 8 * MIB;
    this.partsInFlight = options.partsInFlight ?? 2;
    const config: S3ClientConfig = {
      maxAttempts: options.maxAttempts ?? 3,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      // We send the sha256 ourselves; the SDK's default (a CRC32 on every request) would switch streamed
      // bodies to aws-chunked encoding, which older S3-compatible stores (s3rver) store verbatim.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 5000,
        requestTimeout: options.requestTimeoutMs ?? 60_000,
      },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    const region = options.region ?? (options.endpoint !== undefined ? 'us-east-1' : undefined);
    if (region !== undefined) config.region = region;
    if (options.credentials) config.credentials = options.credentials;
    // The SDK prints a multi-line notice on Node 20 (its releases after January 2027 need Node 22) on stderr,
    // where a failed run must show one line; pagepool's own engines range is what a user has to meet.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client(config);
  }

  /** `s3://BUCKET/KEY` of a file saved at `path`. */
  urlOf(path: string): string {
    return formatS3Url(this.bucket, objectKey(this.dest, path));
  }

  /**
   * Checks the bucket is reachable and writable: HeadBucket, then a small object put, read back (HEAD) and
   * deleted again.
   * Throws a ConfigError naming the bucket and what to fix.
   */
  async preflight(options: { signal?: AbortSignal } = {}): Promise<void> {
    const send = sendOptions(options.signal);
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), send);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      // HEAD answers carry no error body; a listing says which refusal it is (unknown key, bad secret, denied).
      const detail = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1 }), send)
        .then(
          () => err,
          (listErr: unknown) => listErr,
        );
      throw preflightError(detail, this.bucket, this.endpoint);
    }
    const key = objectKey(this.dest, `.pagepool-preflight-${randomUUID()}`);
    const fail = (err: unknown): never => {
      if (options.signal?.aborted) throw options.signal.reason;
      throw preflightError(err, this.bucket, this.endpoint);
    };
    await this.client
      .send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: 'pagepool preflight\n',
          ContentType: 'text/plain; charset=utf-8',
        }),
        send,
      )
      .catch(fail);
    // Every upload starts with a HeadObject (skip if present), which needs s3:GetObject; the test object is
    // deleted whatever that answers.
    let failure: { err: unknown } | null = null;
    await this.client
      .send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), send)
      .catch((err: unknown) => (failure = { err }));
    await this.client
      .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), send)
      .catch((err: unknown) => (failure ??= { err }));
    if (failure) fail((failure as { err: unknown }).err);
  }

  /**
   * Uploads one file unless the bucket already holds it with the same sha256 and size. The sha256 goes in the
   * object's metadata (`x-amz-meta-sha256`, for that check) and as its checksum; the answer's ETag (or
   * checksum) must match what was read, else the object is deleted and the upload fails.
   */
  async upload(
    file: LocalFile,
    options: { signal?: AbortSignal; onProgress?: (bytes: number) => void } = {},
  ): Promise<UploadRecord> {
    const { signal } = options;
    signal?.throwIfAborted();
    const key = objectKey(this.dest, file.path);
    const url = formatS3Url(this.bucket, key);
    const record = (etag: string, skipped: boolean): UploadRecord => ({
      path: file.path,
      object: url,
      bytes: file.bytes,
      sha256: file.sha256,
      etag: etag.replace(/"/g, ''),
      skipped,
    });
    const present = await this.head(key, url, signal);
    if (present && present.sha256 === file.sha256 && present.bytes === file.bytes) {
      return record(present.etag, true);
    }
    const digest = new UploadDigest(file, this.partSize);
    // pipeline: a read error (the file vanished) fails the body, and so the upload, instead of hanging it.
    const body = pipeline(await openLocal(file), digest, () => {});
    const single = file.bytes <= this.partSize;
    const checksum = single
      ? { ChecksumSHA256: Buffer.from(file.sha256, 'hex').toString('base64') }
      : // Each part carries its own sha256 (a full-object sha256 is not defined for multipart uploads).
        { ChecksumAlgorithm: 'SHA256' as const };
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: file.bytes,
        ContentType: contentTypeOf(file.path),
        Metadata: { sha256: file.sha256 },
        ...checksum,
      },
      partSize: this.partSize,
      queueSize: this.partsInFlight,
      leavePartsOnError: false,
    });
    let sent = 0;
    upload.on('httpUploadProgress', (p) => {
      if (p.loaded === undefined || p.loaded <= sent) return;
      options.onProgress?.(p.loaded - sent);
      sent = p.loaded;
    });
    const onAbort = (): void => {
      void upload.abort().catch(() => {});
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let result: Awaited<ReturnType<Upload['done']>>;
    try {
      result = await upload.done();
    } catch (err) {
      body.destroy();
      if (signal?.aborted) throw signal.reason;
      // The file's own check (changed on disk) is the item's problem, not the store's.
      if (err instanceof Error && 'code' in err && err.code === 'FILE_INVALID') throw err;
      throw uploadError(err, url);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    const etag = (result.ETag ?? '').replace(/"/g, '');
    // A store that answers with the checksum verified the bytes against it (S3 does); else the ETag must be
    // the md5 of what was read (s3rver, and S3 without KMS, answer that).
    const stored = 'ChecksumSHA256' in result ? result.ChecksumSHA256 : undefined;
    const verified = stored
      ? stored === (single ? checksum.ChecksumSHA256 : digest.compositeSha256())
      : digest.etags().includes(etag.toLowerCase());
    if (!verified) {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => {});
      throw uploadError(
        new Error(
          `the store's ETag \`${etag}\` does not match the bytes sent (${digest.etags().join(' or ')}); the object was deleted`,
        ),
        url,
      );
    }
    if (sent < file.bytes) options.onProgress?.(file.bytes - sent);
    return record(etag, false);
  }

  /** Closes the connections. */
  close(): void {
    this.client.destroy();
  }

  private async head(
    key: string,
    url: string,
    signal: AbortSignal | undefined,
  ): Promise<{ sha256: string | undefined; bytes: number | undefined; etag: string } | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
        sendOptions(signal),
      );
      return { sha256: head.Metadata?.sha256, bytes: head.ContentLength, etag: head.ETag ?? '' };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (isNotFound(err)) return null;
      throw uploadError(err, url);
    }
  }
}
