// A refresh with --upload (real Chromium, the demo portal and s3rver with SigV4 checked, on 127.0.0.1): unchanged
// files send nothing to the store; an updated file replaces its object; with --keep-versions the old version goes
// to a key of its own, as it does in the folder.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { childPull, outDir } from './helpers/child-pull.js';
import { type S3Server, startS3Server } from './helpers/s3-server.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const BUCKET = 'weekly';
const N = 20;
const vehicles = makeVehicles(N, 9);
let s3: S3Server;
let client: S3Client;
let portal: Portal;
let cwd: string;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  client = s3.client();
  portal = await startPortal({ vehicles: N, seed: 9 });
  cwd = await tempDir();
});
afterAll(async () => {
  client?.destroy();
  await portal?.close();
  await s3?.close();
  await removeTempDirs();
});

const pull = (args: string[]) =>
  childPull({
    portal,
    cwd,
    args: ['--concurrency', '4', '--quiet', '--upload', `s3://${BUCKET}/p`, ...args],
    env: {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: 'us-east-1',
    },
  });

/** Requests to the store under the prefix (the preflight's test object aside) since `from`. */
const storeRequests = (from: number) =>
  s3.requests.slice(from).filter((r) => r.includes(`/${BUCKET}/p/`) && !r.includes('preflight'));

async function objects(): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'p/' }));
  for (const o of listed.Contents ?? []) {
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }));
    out.set(o.Key!, Buffer.from(await got.Body!.transformToByteArray()));
  }
  return out;
}

describe('a refresh with --upload', () => {
  it('unchanged files send nothing; updated ones replace their objects, the old versions kept under their own keys', async () => {
    const first = await pull([]);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await objects()).size).toBe(N);

    let from = s3.requests.length;
    const same = await pull(['--refresh-after', '0']);
    expect({ code: same.code, stderr: same.stderr }).toEqual({ code: 0, stderr: '' });
    // Not a PUT, not even a HEAD: the record names each object, and the portal said 304.
    expect(storeRequests(from)).toEqual([]);

    portal.setRevision(2);
    from = s3.requests.length;
    const changed = await pull(['--refresh-after', '0', '--keep-versions']);
    expect({ code: changed.code, stderr: changed.stderr }).toEqual({ code: 0, stderr: '' });
    const puts = storeRequests(from).filter((r) => r.startsWith('PUT '));
    // S00010 and S00020: the new sticker over its key, and the old one under its version's key.
    expect(puts).toHaveLength(4);
    const bucket = await objects();
    expect(bucket.size).toBe(N + 2);
    for (const stock of ['S00010', 'S00020']) {
      const vehicle = vehicles.find((v) => v.stock === stock)!;
      expect(bucket.get(`p/demo/${stock}-window-sticker.pdf`)!.equals(stickerPdf(vehicle, 0, 2))).toBe(true);
      const versionKey = [...bucket.keys()].find((k) =>
        new RegExp(`^p/demo/${stock}-window-sticker\\.\\d{4}-\\d\\d-\\d\\dT\\d{6}Z\\.pdf$`).test(k),
      );
      expect(versionKey, stock).toBeDefined();
      expect(bucket.get(versionKey!)!.equals(stickerPdf(vehicle, 0, 1))).toBe(true);
    }
    // The manifest's new lines name the objects: the kept version's and the new one's.
    const lines = (await readFile(path.join(outDir(cwd), 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .slice(N);
    expect(lines.map((l) => JSON.parse(l).object).sort()).toEqual(
      [...bucket.keys()]
        .filter((k) => /S000[12]0/.test(k))
        .map((k) => `s3://${BUCKET}/${k}`)
        .sort(),
    );
  }, 300_000);
});
