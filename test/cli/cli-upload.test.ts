// `pagepool run --upload` as a user runs it: the real command in a child process, real Chromium, the demo portal
// and a real S3 server (s3rver with SigV4 checked) on 127.0.0.1; the bucket is read back with the SDK.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import type { RecordedFile } from '../../src/checkpoint/recorded-file.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';
import { sleep } from '../helpers/sleep.js';
import { startTapProxy, type TappedRequest } from '../helpers/tap-proxy.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const SLOW = { timeout: 300_000 };
const BUCKET = 'pulls';
let s3: S3Server;
let portal: Portal;
let client: S3Client;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  // Padded stickers, so uploads take long enough to be caught in the middle.
  portal = await startPortal({ vehicles: 40, cards: 8, stickerPadBytes: 300_000 });
  client = s3.client();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  client?.destroy();
  await portal?.close();
  await s3?.close();
  await removeTempDirs();
});

function env(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PAGEPOOL_USERNAME: portal.options.username,
    PAGEPOOL_PASSWORD: portal.options.password,
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: 'us-east-1',
    ...overrides,
  };
}

function pull(
  args: string[],
  options: { env?: Record<string, string>; onSpawn?: (c: ChildProcess) => void } = {},
) {
  let child: ChildProcess | undefined;
  return runCli(['run', '--base-url', portal.url, ...args], {
    env: env(options.env),
    timeoutMs: 240_000,
    onSpawn: (c) => {
      child = c;
      children.add(c);
      options.onSpawn?.(c);
    },
  }).finally(() => children.delete(child!));
}

/** Every object under `prefix/`, with its bytes. */
async function bucket(prefix: string): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  let token: string | undefined;
  for (let page = 0; page < 100; page++) {
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/`, ContinuationToken: token }),
    );
    for (const o of listed.Contents ?? []) {
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }));
      objects.set(o.Key!, Buffer.from(await got.Body!.transformToByteArray()));
    }
    if (!listed.IsTruncated) break;
    token = listed.NextContinuationToken;
  }
  return objects;
}

interface ManifestLine {
  key: string;
  path: string;
  bytes: number;
  sha256: string;
  object?: string;
  etag?: string;
}

async function manifest(out: string): Promise<ManifestLine[]> {
  const text = await readFile(path.join(out, 'manifest.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ManifestLine);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/**
 * How many times the store stored each object under `prefix/` (PUTs it answered 200; the preflight's test object
 * left out): a listing shows an object sent twice once.
 */
function storedPuts(prefix: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { request, status } of s3.answered) {
    const put = /^PUT \/([^/?]+)\/([^?]+)(\?.*)?$/.exec(request);
    if (!put || put[1] !== BUCKET || status !== 200) continue;
    const key = decodeURIComponent(put[2]!);
    if (!key.startsWith(`${prefix}/`) || key.includes('.pagepool-preflight-')) continue;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * The bucket under `prefix` holds exactly the manifest's files, each stored once (counted at the store), byte for
 * byte (sha256, size, ETag); every manifest line names its object. Resolves with the manifest.
 */
async function expectBucketIsManifest(out: string, prefix: string): Promise<ManifestLine[]> {
  const lines = await manifest(out);
  const objects = await bucket(prefix);
  expect(lines.length).toBeGreaterThan(0);
  expect(new Set(lines.map((l) => l.path)).size).toBe(lines.length);
  expect([...objects.keys()].sort()).toEqual(lines.map((l) => `${prefix}/${l.path}`).sort());
  expect(Object.fromEntries(storedPuts(prefix))).toEqual(
    Object.fromEntries(lines.map((l) => [`${prefix}/${l.path}`, 1])),
  );
  for (const line of lines) {
    expect(line.object).toBe(`s3://${BUCKET}/${prefix}/${line.path}`);
    const bytes = objects.get(`${prefix}/${line.path}`)!;
    expect(bytes.length, line.path).toBe(line.bytes);
    expect(sha256(bytes), line.path).toBe(line.sha256);
    if (!line.etag!.includes('-')) expect(line.etag, line.path).toBe(md5(bytes));
  }
  return lines;
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const puts = (prefix: string) =>
  s3.requests.filter((r) => r.startsWith(`PUT /${BUCKET}/${prefix}/`) && !r.includes('preflight')).length;

describe('pagepool run --upload', () => {
  it(
    'cards (rendered) and vehicles (fetched) land in the bucket byte for byte; status counts them',
    SLOW,
    async () => {
      const cardsOut = await tempDir();
      const cards = await pull([
        '--site',
        'demo-cards',
        '--out',
        cardsOut,
        '--upload',
        `s3://${BUCKET}/cards`,
      ]);
      expect(cards.stderr).toBe('');
      expect(cards.code).toBe(0);
      const cardLines = await expectBucketIsManifest(cardsOut, 'cards');
      expect(cardLines.length).toBe(8);
      expect(cardLines.every((l) => l.path.endsWith('.png'))).toBe(true);
      const report = JSON.parse(await readFile(path.join(cardsOut, '.pagepool', 'report.json'), 'utf8'));
      expect(report.uploads).toMatchObject({ uploaded: 8, skipped: 0, failed: 0 });

      // Without --keep-local: the files are only in the bucket, the checkpoint still knows them.
      const vehiclesOut = await tempDir();
      const vehicles = await pull([
        '--site',
        'demo',
        '--max',
        '6',
        '--out',
        vehiclesOut,
        '--no-keep-local',
        '--upload',
        `s3://${BUCKET}/vehicles/`,
      ]);
      expect(vehicles.stderr).toBe('');
      expect(vehicles.code).toBe(0);
      const lines = await expectBucketIsManifest(vehiclesOut, 'vehicles');
      expect(lines.length).toBeGreaterThanOrEqual(6);
      expect(await readdir(path.join(vehiclesOut, 'demo'))).toEqual([]);
      const status = await runCli(['status', '--out', vehiclesOut, '--json'], { env: env() });
      expect(JSON.parse(status.stdout)).toMatchObject({ done: 6, uploaded: 6 });
    },
  );

  it(
    'a bucket that cannot be used: exit 2, one line naming the bucket, nothing pulled, nothing in --out',
    SLOW,
    async () => {
      const logins = portal.stats().logins;
      const cases = {
        'wrong secret': { env: { AWS_SECRET_ACCESS_KEY: 'not-the-secret' }, bucket: BUCKET },
        'missing bucket': { env: {}, bucket: 'no-such-bucket' },
        'endpoint down': {
          env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await closedPort()}` },
          bucket: BUCKET,
        },
      };
      const results = await Promise.all(
        Object.entries(cases).map(async ([name, c]) => {
          const out = path.join(await tempDir(), 'out');
          const r = await pull(['--site', 'demo', '--out', out, '--upload', `s3://${c.bucket}/x`], {
            env: c.env,
          });
          return { name, out, bucket: c.bucket, ...r };
        }),
      );
      for (const r of results) {
        expect(r.code, r.name).toBe(2);
        expect(r.stderr.split('\n').filter(Boolean), r.name).toHaveLength(1);
        expect(r.stderr, r.name).toMatch(new RegExp(`^pagepool: Cannot upload to bucket \`${r.bucket}\``));
        expect(existsSync(r.out), r.name).toBe(false);
      }
      console.log(results.map((r) => `${r.name}: ${r.stderr.trim()}`).join('\n'));
      expect(portal.stats().logins).toBe(logins);
    },
  );

  it(
    'SIGKILL during uploads, then resume: each object once, whole files not pulled again',
    SLOW,
    async () => {
      const out = await tempDir();
      const args = [
        '--site',
        'demo',
        '--max',
        '20',
        '--out',
        out,
        '--uploads',
        '1',
        '--upload',
        `s3://${BUCKET}/kill`,
      ];
      const first = await pull(args, {
        onSpawn: (child) => {
          void waitFor('uploads under way', () => puts('kill') >= 4).then(() => child.kill('SIGKILL'));
        },
      });
      expect(first.signal).toBe('SIGKILL');
      // What the killed run recorded as whole on disk (saved or done): none of it may be pulled again.
      const journal = await readFile(path.join(out, '.pagepool', 'checkpoint.jsonl'), 'utf8');
      const whole = new Set(
        journal
          .split('\n')
          .filter(Boolean)
          .flatMap((l) => {
            try {
              const r = JSON.parse(l) as { t: string; key: string };
              return r.t === 'saved' || r.t === 'done' ? [r.key] : [];
            } catch {
              return [];
            }
          }),
      );
      expect(whole.size).toBeGreaterThan(0);
      const servedBefore = portal.stats().filesServed;

      const second = await pull(args);
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      const servedAfter = portal.stats().filesServed;
      for (const key of whole) expect(servedAfter[key], key).toBe(servedBefore[key]);
      const lines = await expectBucketIsManifest(out, 'kill');
      expect(new Set(lines.map((l) => l.key)).size).toBe(20);
    },
  );

  it(
    "a resume that uploads what a crash left saved keeps each file's validators; the crash's manifest line is not written twice",
    SLOW,
    async () => {
      // A real file with the portal's real validators, from a run without uploads.
      const first = await tempDir();
      const pulled = await pull(['--site', 'demo', '--max', '1', '--out', first]);
      expect(pulled.code, pulled.stderr).toBe(0);
      const [line] = (await readFile(path.join(first, 'manifest.jsonl'), 'utf8')).trim().split('\n');
      const recorded = JSON.parse(line!) as RecordedFile & { key: string };
      expect(recorded.http?.etag).toBeDefined();
      // The state a crash leaves between an item's manifest lines and its done record: the item saved (files whole
      // on disk, not uploaded), its manifest line (with the object it was about to record) already written.
      const out = await tempDir();
      const { key, ...file } = recorded;
      await mkdir(path.join(out, 'demo'), { recursive: true });
      await copyFile(path.join(first, file.path), path.join(out, file.path));
      const checkpoint = await Checkpoint.open({
        path: path.join(out, '.pagepool', 'checkpoint.json'),
        manifestPath: path.join(out, 'manifest.jsonl'),
        uploads: true,
      });
      await checkpoint.saved(key, 1, [file]);
      await checkpoint.close();
      const bytes = await readFile(path.join(out, file.path));
      const left = {
        key,
        path: file.path,
        bytes: file.bytes,
        sha256: file.sha256,
        object: `s3://${BUCKET}/crash/${file.path}`,
        etag: md5(bytes),
        http: file.http,
      };
      await appendFile(path.join(out, 'manifest.jsonl'), `${JSON.stringify(left)}\n`);
      const served = portal.stats().filesServed[key];

      const resumed = await pull([
        '--site',
        'demo',
        '--max',
        '1',
        '--out',
        out,
        '--upload',
        `s3://${BUCKET}/crash`,
      ]);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(portal.stats().filesServed[key]).toBe(served); // uploaded from disk, not pulled again
      // One line for the file, the one the crash left: the done record kept the validators a refresh asks with.
      expect((await readFile(path.join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')).toEqual([
        JSON.stringify(left),
      ]);
      await expectBucketIsManifest(out, 'crash');
    },
  );

  it(
    'the store stopped for a few seconds mid-run, then back: every item done and uploaded, each object once',
    SLOW,
    async () => {
      const out = await tempDir();
      // The run reaches the store through a tap, which sees the uploads tried while the store is down: a stopped
      // store sees nothing. (With the store down, the tap drops each connection: the client gets no answer.)
      const tap = await startTapProxy(s3.endpoint);
      const isUpload = (r: TappedRequest) =>
        r.path.startsWith(`/${BUCKET}/outage/`) && !r.path.includes('.pagepool-preflight-');
      let down: { from: number; to: number } | undefined;
      const outage = (async () => {
        await waitFor('uploads under way', () => puts('outage') >= 2);
        await s3.stop();
        const from = Date.now();
        // Down for 4 s, and at least until the run has tried to upload to it.
        await waitFor('an upload tried while the store is down', () =>
          tap.requests.some((r) => r.at >= from && isUpload(r)),
        );
        await sleep(Math.max(0, from + 4000 - Date.now()));
        down = { from, to: Date.now() };
        await s3.start();
      })();
      try {
        const r = await pull(
          [
            '--site',
            'demo',
            '--max',
            '12',
            '--out',
            out,
            '--uploads',
            '2',
            '--retries',
            '8',
            '--upload',
            `s3://${BUCKET}/outage`,
          ],
          { env: { AWS_ENDPOINT_URL_S3: tap.url } },
        );
        await outage;
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        // The outage overlapped the run: uploads were tried while the store was down (and none was answered).
        const { from, to } = down!;
        const tried = tap.requests.filter((r) => r.at >= from && r.at < to && isUpload(r));
        expect(tried.length).toBeGreaterThan(0);
        expect(tried.filter((r) => r.status !== 0)).toEqual([]);
        // ...and the run went on after it: uploads answered once the store was back.
        expect(tap.requests.some((r) => r.at >= to && isUpload(r) && r.status === 200)).toBe(true);
        const lines = await expectBucketIsManifest(out, 'outage');
        expect(new Set(lines.map((l) => l.key)).size).toBe(12);
      } finally {
        await tap.close();
      }
    },
  );

  it(
    'writes refused mid-run (403): the run stops with exit 2, the rest pending; a later run finishes',
    SLOW,
    async () => {
      const out = await tempDir();
      const args = [
        '--site',
        'demo',
        '--max',
        '12',
        '--out',
        out,
        '--uploads',
        '1',
        '--upload',
        `s3://${BUCKET}/denied`,
      ];
      let first: CliResult;
      try {
        // Deterministic: the store lets two uploads through, then refuses every write (a policy change mid-run).
        s3.denyWritesAfter(`/${BUCKET}/denied/`, 2);
        first = await pull(args);
      } finally {
        s3.denyWrites(false);
      }
      expect(first.code).toBe(2);
      expect(first.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(first.stderr).toContain(`s3://${BUCKET}/denied/`);
      const status = await runCli(['status', '--out', out, '--json'], { env: env() });
      expect(JSON.parse(status.stdout).done).toBeLessThan(12);

      const second = await pull(args);
      expect(second.code).toBe(0);
      const lines = await expectBucketIsManifest(out, 'denied');
      expect(new Set(lines.map((l) => l.key)).size).toBe(12);
    },
  );
});
