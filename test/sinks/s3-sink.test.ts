// The S3 sink against a real S3 protocol server (s3rver on 127.0.0.1) with signatures checked.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardPng } from '../../src/demo/card-png.js';
import { makeVehicles } from '../../src/demo/inventory.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import {
  ConfigError,
  classify,
  FileInvalidError,
  UploadDeniedError,
  UploadFailedError,
} from '../../src/errors.js';
import { type LocalFile, S3Sink, type S3SinkOptions } from '../../src/sinks/s3-sink.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const BUCKET = 'pagepool-test';
let s3: S3Server;
let out: string;
let admin: S3Client;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET, 'other-bucket'] });
  out = await tempDir();
  admin = s3.client();
});

afterAll(async () => {
  admin.destroy();
  await s3.close();
  await removeTempDirs();
});

function sinkOptions(extra: Partial<S3SinkOptions> = {}): S3SinkOptions {
  return { url: `s3://${BUCKET}/run1`, endpoint: s3.endpoint, credentials: s3.credentials, ...extra };
}

async function save(rel: string, bytes: Buffer): Promise<LocalFile> {
  const file = path.join(out, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { path: rel, file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

async function keys(bucket: string, prefix = ''): Promise<string[]> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('S3Sink.upload', () => {
  it('uploads the demo PDF and PNG: same bytes, sha256 in metadata, content type, ETag', async () => {
    const [vehicle] = makeVehicles(1, 7);
    const pdf = stickerPdf(vehicle!);
    const png = cardPng('C00042');
    const files = [await save('demo/S00001-window-sticker.pdf', pdf), await save('cards/C00042.png', png)];
    const sink = new S3Sink(sinkOptions());
    try {
      const records = [];
      for (const f of files) records.push(await sink.upload(f));
      expect(records.map((r) => r.object)).toEqual([
        `s3://${BUCKET}/run1/demo/S00001-window-sticker.pdf`,
        `s3://${BUCKET}/run1/cards/C00042.png`,
      ]);
      expect(records.every((r) => !r.skipped)).toBe(true);
      expect(await keys(BUCKET, 'run1/')).toEqual([
        'run1/cards/C00042.png',
        'run1/demo/S00001-window-sticker.pdf',
      ]);
      for (const [i, f] of files.entries()) {
        const key = `run1/${f.path}`;
        const bytes = await objectBytes(BUCKET, key);
        expect(bytes.equals(i === 0 ? pdf : png)).toBe(true);
        const head = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
        expect(head.Metadata?.sha256).toBe(f.sha256);
        expect(head.ContentType).toBe(i === 0 ? 'application/pdf' : 'image/png');
        expect(head.ContentLength).toBe(f.bytes);
        expect(records[i]!.etag).toBe(md5(bytes));
        expect(records[i]!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      }
      // What a store that verifies checksums (S3) is given: the recorded sha256 as the object's checksum, sent
      // as a header (no aws-chunked body, which s3rver would store verbatim).
      const put = s3.requests.findIndex((r) =>
        r.startsWith(`PUT /${BUCKET}/run1/demo/S00001-window-sticker.pdf`),
      );
      const sent = s3.headers[put]!;
      expect(sent['x-amz-checksum-sha256']).toBe(Buffer.from(files[0]!.sha256, 'hex').toString('base64'));
      expect(sent['x-amz-meta-sha256']).toBe(files[0]!.sha256);
      expect(sent['content-encoding']).toBeUndefined();
      expect(sent['content-length']).toBe(String(pdf.length));
    } finally {
      sink.close();
    }
  });

  it('skips a file already in the bucket with the same sha256, and uploads it again once it changed', async () => {
    const file = await save('demo/skip.pdf', stickerPdf(makeVehicles(2, 3)[1]!));
    const sink = new S3Sink(sinkOptions());
    try {
      const first = await sink.upload(file);
      const before = s3.requests.length;
      const second = await sink.upload(file);
      const sent = s3.requests.slice(before);
      expect(first.skipped).toBe(false);
      expect(second.skipped).toBe(true);
      expect(second.etag).toBe(first.etag);
      expect(sent).toEqual([`HEAD /${BUCKET}/run1/demo/skip.pdf`]);

      const changed = await save('demo/skip.pdf', stickerPdf(makeVehicles(3, 3)[2]!));
      const third = await sink.upload(changed);
      expect(third.skipped).toBe(false);
      expect((await objectBytes(BUCKET, 'run1/demo/skip.pdf')).length).toBe(changed.bytes);
    } finally {
      sink.close();
    }
  });

  it('uploads a large file in parts and the object is byte for byte the file', async () => {
    const big = stickerPdf(makeVehicles(1, 11)[0]!, 12 * 1024 * 1024 + 123);
    const file = await save('demo/big.pdf', big);
    const sink = new S3Sink(sinkOptions({ partSize: 5 * 1024 * 1024 }));
    let progressed = 0;
    try {
      const before = s3.requests.length;
      const record = await sink.upload(file, { onProgress: (n) => (progressed += n) });
      const sent = s3.requests.slice(before);
      const parts = sent.flatMap((r, i) => (/^PUT .*partNumber=/.test(r) ? [i + before] : []));
      expect(parts).toHaveLength(3);
      // Each part carries its own sha256 for the store to verify, in a header, over a plain body.
      for (const [n, at] of parts.entries()) {
        const part = big.subarray(n * 5 * 1024 * 1024, (n + 1) * 5 * 1024 * 1024);
        const h = s3.headers[at]!;
        expect(h['x-amz-checksum-sha256']).toBe(createHash('sha256').update(part).digest('base64'));
        expect(h['content-encoding']).toBeUndefined();
      }
      expect(sent.some((r) => r.startsWith('POST ') && r.includes('uploads'))).toBe(true);
      expect(sent.some((r) => r.startsWith('POST ') && r.includes('uploadId='))).toBe(true);
      const bytes = await objectBytes(BUCKET, 'run1/demo/big.pdf');
      expect(bytes.equals(big)).toBe(true);
      expect(record.bytes).toBe(big.length);
      expect(progressed).toBe(big.length);
      expect(await keys(BUCKET, 'run1/demo/big')).toEqual(['run1/demo/big.pdf']);
    } finally {
      sink.close();
    }
  });

  it('refuses a file that changed on disk since it was recorded, and leaves no object', async () => {
    const file = await save('demo/changed.pdf', stickerPdf(makeVehicles(1, 5)[0]!));
    await writeFile(file.file, stickerPdf(makeVehicles(1, 6)[0]!));
    const sink = new S3Sink(sinkOptions());
    try {
      const err = await sink.upload(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileInvalidError);
      expect((err as Error).message).toContain('demo/changed.pdf changed on disk since it was saved');
      expect(await keys(BUCKET, 'run1/demo/changed')).toEqual([]);
    } finally {
      sink.close();
    }
  });
});

describe('S3Sink.preflight', () => {
  async function preflightError(options: S3SinkOptions): Promise<ConfigError> {
    const sink = new S3Sink(options);
    try {
      const err = await sink.preflight().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).not.toContain('\n');
      return err as ConfigError;
    } finally {
      sink.close();
    }
  }

  it('passes on a writable bucket and leaves nothing in it', async () => {
    const sink = new S3Sink({ ...sinkOptions(), url: 's3://other-bucket/pre' });
    try {
      await sink.preflight();
      expect(await keys('other-bucket')).toEqual([]);
    } finally {
      sink.close();
    }
  });

  it('names the bucket and the fix for an unknown access key', async () => {
    const err = await preflightError(
      sinkOptions({
        credentials: { accessKeyId: 'NOSUCHKEY', secretAccessKey: s3.credentials.secretAccessKey },
      }),
    );
    expect(err.message).toBe(
      `Cannot upload to bucket \`${BUCKET}\` at ${s3.endpoint}: the access key is not known to the store: ` +
        'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE).',
    );
  });

  it('names the bucket and the fix for a wrong secret', async () => {
    const err = await preflightError(
      sinkOptions({
        credentials: { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: 'wrong-secret' },
      }),
    );
    expect(err.message).toBe(
      `Cannot upload to bucket \`${BUCKET}\` at ${s3.endpoint}: the secret key does not match the access key: ` +
        'check AWS_SECRET_ACCESS_KEY.',
    );
  });

  it('names the bucket and the fix for a missing bucket', async () => {
    const err = await preflightError(sinkOptions({ url: 's3://no-such-bucket/x' }));
    expect(err.message).toBe(
      `Cannot upload to bucket \`no-such-bucket\` at ${s3.endpoint}: the bucket does not exist: ` +
        'create it, or fix the bucket name in --upload.',
    );
  });

  it('names the bucket and the fix when the credentials may read but not write', async () => {
    s3.denyWrites(true);
    try {
      const err = await preflightError(sinkOptions());
      expect(err.message).toBe(
        `Cannot upload to bucket \`${BUCKET}\` at ${s3.endpoint}: access is denied: the credentials must allow ` +
          's3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject on it.',
      );
    } finally {
      s3.denyWrites(false);
    }
  });

  it('names the bucket and the fix for an endpoint that is down', async () => {
    const down = await startS3Server();
    await down.close();
    const err = await preflightError(sinkOptions({ endpoint: down.endpoint, maxAttempts: 2 }));
    expect(err.message).toBe(
      `Cannot upload to bucket \`${BUCKET}\` at ${down.endpoint}: the endpoint cannot be reached (ECONNREFUSED): ` +
        'check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and that the store is running.',
    );
  });
});

describe('S3Sink faults', () => {
  it('a store that is down fails as a retryable error; once it is back, the SDK retries until it succeeds', async () => {
    const file = await save('demo/outage.pdf', stickerPdf(makeVehicles(4, 9)[3]!));
    await s3.stop();
    try {
      const quick = new S3Sink(sinkOptions({ maxAttempts: 2 }));
      const err = await quick.upload(file).catch((e: unknown) => e);
      quick.close();
      expect(err).toBeInstanceOf(UploadFailedError);
      expect(classify(err)).toBe('retry');
      expect((err as Error).message).toContain(`Upload to s3://${BUCKET}/run1/demo/outage.pdf failed`);

      const patient = new S3Sink(sinkOptions({ maxAttempts: 12 }));
      const upload = patient.upload(file);
      // Down for a while longer, then back: the SDK's retries (backoff with jitter) ride it out.
      await new Promise((r) => setTimeout(r, 2000));
      await s3.start();
      const record = await upload;
      patient.close();
      expect(record.skipped).toBe(false);
      expect((await objectBytes(BUCKET, 'run1/demo/outage.pdf')).length).toBe(file.bytes);
    } finally {
      await s3.start();
    }
  });

  it('credentials revoked mid-run: the upload fails with the stop error, not a retry', async () => {
    const file = await save('demo/denied.pdf', stickerPdf(makeVehicles(5, 9)[4]!));
    const sink = new S3Sink(sinkOptions());
    try {
      await sink.upload(await save('demo/before.pdf', stickerPdf(makeVehicles(6, 9)[5]!)));
      s3.revokeCredentials();
      const err = await sink.upload(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UploadDeniedError);
      expect(classify(err)).toBe('fatal');
      expect((err as Error).message).toMatch(
        new RegExp(`^Upload to s3://${BUCKET}/run1/demo/denied.pdf was refused \\(`),
      );
      expect((err as Error).message).toContain('unfinished items stay pending');
    } finally {
      sink.close();
    }
  });
});
