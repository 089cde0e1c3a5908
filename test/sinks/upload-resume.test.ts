// The resume story without the engine: files saved and recorded, uploads cut off half way, a new process
// (a new checkpoint and stage) uploads only what is missing, and the bucket ends with every object once.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { cardPng } from '../../src/demo/card-png.js';
import { makeVehicles } from '../../src/demo/inventory.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import type { SavedFile } from '../../src/files/types.js';
import { S3Sink } from '../../src/sinks/s3-sink.js';
import { openUploadStage } from '../../src/sinks/upload-stage.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const BUCKET = 'resume-test';
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

function openStage() {
  const sink = new S3Sink({ url: `s3://${BUCKET}/pull`, endpoint: s3.endpoint, credentials: s3.credentials });
  return openUploadStage({ sink, outDir: out, uploads: 4 });
}

describe('upload resume', () => {
  it('uploads what is missing after a cut-off run; the manifest names exactly the objects in the bucket', async () => {
    const checkpointPath = path.join(out, '.pagepool', 'checkpoint.json');
    const manifestPath = path.join(out, 'manifest.jsonl');
    const vehicles = makeVehicles(3, 21);
    const items = await Promise.all(
      vehicles.map(async (v) => ({
        key: v.stock,
        files: [
          await save(`demo/${v.stock}-window-sticker.pdf`, stickerPdf(v)),
          await save(`demo/${v.stock}-card.png`, cardPng(v.stock)),
        ],
      })),
    );

    // Run 1: every item saved and recorded; item 0 fully uploaded and done, item 1 half uploaded, item 2 not.
    let checkpoint = await Checkpoint.open({ path: checkpointPath, manifestPath, uploads: true });
    let stage = openStage();
    for (const item of items) await checkpoint.saved(item.key, 1, item.files);
    await checkpoint.done(items[0]!.key, 1, await stage.upload(items[0]!.files, { key: items[0]!.key }));
    await stage.upload(items[1]!.files.slice(0, 1), { key: items[1]!.key });
    stage.close();
    // Crash: the checkpoint is never closed.

    // Run 2.
    checkpoint = await Checkpoint.open({ path: checkpointPath, manifestPath, uploads: true });
    stage = openStage();
    const before = s3.requests.length;
    try {
      expect(checkpoint.shouldSkip(items[0]!.key)).toBe(true);
      for (const item of items.slice(1)) {
        expect(checkpoint.shouldSkip(item.key)).toBe(false);
        const pending = checkpoint.pendingUploads(item.key);
        expect(pending).toEqual(item.files);
        await checkpoint.done(item.key, 2, await stage.upload(pending!, { key: item.key }));
      }
      // Item 1's first file was already in the bucket with its sha256: only checked, not sent again.
      expect(stage.stats()).toMatchObject({ uploaded: 3, skipped: 1, failed: 0 });
      const puts = s3.requests.slice(before).filter((r) => r.startsWith('PUT '));
      expect(puts).toHaveLength(3);
      expect(items.every((i) => checkpoint.isDone(i.key) && checkpoint.isUploaded(i.key))).toBe(true);
    } finally {
      stage.close();
      await checkpoint.close();
    }

    const listed = await admin.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const inBucket = (listed.Contents ?? []).map((o) => o.Key!).sort();
    const manifest = (await readFile(manifestPath, 'utf8'))
      .trimEnd()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { key: string; path: string; sha256: string; object: string; etag: string },
      );
    expect(manifest.map((m) => m.object.replace(`s3://${BUCKET}/`, '')).sort()).toEqual(inBucket);
    expect(inBucket).toHaveLength(6);
    for (const m of manifest) {
      const got = await admin.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: m.object.replace(`s3://${BUCKET}/`, '') }),
      );
      const body = Buffer.from(await got.Body!.transformToByteArray());
      expect(createHash('sha256').update(body).digest('hex')).toBe(m.sha256);
      expect(got.ETag?.replace(/"/g, '')).toBe(m.etag);
      expect(got.Metadata?.sha256).toBe(m.sha256);
    }
  });
});
