// The bounded upload stage over the real S3 sink and s3rver on 127.0.0.1.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardPng } from '../../src/demo/card-png.js';
import { FileInvalidError } from '../../src/errors.js';
import type { SavedFile } from '../../src/files/types.js';
import { S3Sink } from '../../src/sinks/s3-sink.js';
import type { UploadEvents } from '../../src/sinks/upload-events.js';
import { openUploadStage } from '../../src/sinks/upload-stage.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const BUCKET = 'stage-test';
let s3: S3Server;
let out: string;
let admin: S3Client;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  out = await tempDir();
  admin = s3.client();
});

afterAll(async () => {
  admin.destroy();
  await s3.close();
  await removeTempDirs();
});

async function save(rel: string, bytes: Buffer): Promise<SavedFile> {
  const file = path.join(out, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { path: rel, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function stage(prefix: string, uploads: number) {
  const events = new EventEmitter<UploadEvents>();
  const sink = new S3Sink({
    url: `s3://${BUCKET}/${prefix}`,
    endpoint: s3.endpoint,
    credentials: s3.credentials,
  });
  return { events, stage: openUploadStage({ sink, outDir: out, uploads, events }) };
}

describe('openUploadStage', () => {
  it('keeps at most M uploads in flight across items and uploads every file once', async () => {
    const { events, stage: s } = stage('bounded', 2);
    let inFlight = 0;
    let most = 0;
    // What the stage itself said was in flight at each start; checked after the uploads (an expect thrown inside
    // a listener would fail the upload instead of the test).
    let mostReported = 0;
    const done: string[] = [];
    let progress = 0;
    events.on('upload:start', () => {
      inFlight++;
      most = Math.max(most, inFlight);
      mostReported = Math.max(mostReported, s.stats().inFlight);
    });
    events.on('upload:done', (e) => {
      inFlight--;
      done.push(e.object);
    });
    events.on('upload:progress', (e) => (progress += e.bytes));
    try {
      const items = await Promise.all(
        ['A', 'B', 'C'].map(async (key) => {
          const files = [
            await save(`cards/${key}-front.png`, cardPng(`${key}1`)),
            await save(`cards/${key}-back.png`, cardPng(`${key}2`)),
          ];
          return { key, files, records: await s.upload(files, { key }) };
        }),
      );
      expect(most).toBe(2);
      expect(mostReported).toBe(2);
      expect(done).toHaveLength(6);
      const bytes = items.flatMap((i) => i.files).reduce((n, f) => n + f.bytes, 0);
      expect(progress).toBe(bytes);
      expect(s.stats()).toEqual({ inFlight: 0, waiting: 0, uploaded: 6, skipped: 0, failed: 0, bytes });
      for (const item of items) {
        expect(item.records.map((r) => r.path)).toEqual(item.files.map((f) => f.path));
        for (const [i, r] of item.records.entries()) {
          expect(r.object).toBe(`s3://${BUCKET}/bounded/${item.files[i]!.path}`);
          const got = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: `bounded/${r.path}` }));
          const body = Buffer.from(await got.Body!.transformToByteArray());
          expect(createHash('sha256').update(body).digest('hex')).toBe(item.files[i]!.sha256);
        }
      }
      const listed = await admin.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'bounded/' }));
      expect(listed.KeyCount).toBe(6);

      // The same files again: every one skipped by its checksum.
      const again = await s.upload(items[0]!.files, { key: 'A' });
      expect(again.every((r) => r.skipped)).toBe(true);
      expect(s.stats().skipped).toBe(2);
    } finally {
      s.close();
    }
  });

  it('one failing file stops the item: the error surfaces, the slot is freed, the failure is counted', async () => {
    const { events, stage: s } = stage('failing', 1);
    const failed: string[] = [];
    events.on('upload:failed', (e) => failed.push(e.path));
    try {
      const good = await save('demo/good.png', cardPng('G1'));
      // Recorded, but gone from disk.
      const gone: SavedFile = { path: 'demo/gone.png', bytes: 10, sha256: 'a'.repeat(64) };
      const err = await s.upload([gone, good], { key: 'X' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileInvalidError);
      expect((err as Error).message).toBe('demo/gone.png is no longer on disk; it is not uploaded');
      expect(failed).toEqual(['demo/gone.png']);
      expect(s.stats()).toMatchObject({ inFlight: 0, waiting: 0, failed: 1 });
      // The stage still works.
      const [record] = await s.upload([good], { key: 'Y' });
      expect(record!.object).toBe(`s3://${BUCKET}/failing/demo/good.png`);
    } finally {
      s.close();
    }
  });

  it('a caller waiting for a slot leaves when its signal aborts', async () => {
    const { events, stage: s } = stage('abort', 1);
    try {
      const files = [await save('demo/w1.png', cardPng('W1')), await save('demo/w2.png', cardPng('W2'))];
      const controller = new AbortController();
      let started = 0;
      events.on('upload:start', () => {
        started++;
        // The second file is queued behind the first: abort while it waits.
        if (started === 1) controller.abort(new Error('stop now'));
      });
      const err = await s.upload(files, { key: 'W', signal: controller.signal }).catch((e: unknown) => e);
      expect((err as Error).message).toBe('stop now');
      expect(started).toBe(1);
      expect(s.stats()).toMatchObject({ inFlight: 0, waiting: 0, failed: 0 });
    } finally {
      s.close();
    }
  });

  it('rejects a bad `uploads`', () => {
    const sink = new S3Sink({ url: `s3://${BUCKET}/x`, endpoint: s3.endpoint, credentials: s3.credentials });
    expect(() => openUploadStage({ sink, outDir: out, uploads: 0 })).toThrow(
      'Expected `uploads` to be an integer from 1 to 256, got `0`',
    );
    sink.close();
  });
});
