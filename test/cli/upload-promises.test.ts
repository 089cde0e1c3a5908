// README, "Upload to S3": "`AWS_ENDPOINT_URL_S3` (else `AWS_ENDPOINT_URL`) for an S3-compatible store ... Keys set
// in `.env` are passed to the SDK too", and "An object whose ETag or checksum does not match the bytes read is
// deleted and never recorded." Checked through the built command as a user runs it (real Chromium, the demo
// portal) against s3rver on 127.0.0.1 with SigV4 signatures checked; the wrong ETag comes from a proxy in front of
// s3rver that rewrites one answer, as a store that mangles ETags would send it.
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { runCli } from '../helpers/cli.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';
import { startTapProxy, type TapProxy } from '../helpers/tap-proxy.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const SLOW = { timeout: 180_000 };
const BUCKET = 'pulls';
let s3: S3Server;
let portal: Portal;
let client: S3Client;
const proxies: TapProxy[] = [];

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  portal = await startPortal({ vehicles: 4 });
  client = s3.client();
});
afterAll(async () => {
  client?.destroy();
  await Promise.all(proxies.map((p) => p.close()));
  await portal?.close();
  await s3?.close();
  await removeTempDirs();
});

/** Object keys under `prefix/`. */
async function objects(prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

const stickers = (prefix: string, stocks: string[]) =>
  stocks.map((s) => `${prefix}/demo/${s}-window-sticker.pdf`).sort();
const ALL = ['S00001', 'S00002', 'S00003', 'S00004'];

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `pagepool run --site demo --upload s3://pulls/<prefix>` in `cwd`, with only the portal's credentials and an
 * empty HOME in the environment (no ~/.aws to fall back on) plus `env`.
 */
async function pullTo(prefix: string, cwd: string, env: Record<string, string> = {}, more: string[] = []) {
  return runCli(
    ['run', '--site', 'demo', '--base-url', portal.url, '--upload', `s3://${BUCKET}/${prefix}`, ...more],
    {
      cwd,
      env: {
        HOME: await tempDir(),
        PAGEPOOL_USERNAME: portal.options.username,
        PAGEPOOL_PASSWORD: portal.options.password,
        ...env,
      },
      timeoutMs: 150_000,
    },
  );
}

describe('where the store is and the keys to it', () => {
  it(
    'AWS_ENDPOINT_URL is used when AWS_ENDPOINT_URL_S3 is not set; the keys are read from .env',
    SLOW,
    async () => {
      const cwd = await tempDir();
      await writeFile(
        path.join(cwd, '.env'),
        [
          `AWS_ENDPOINT_URL=${s3.endpoint}`,
          `AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId}`,
          `AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey}`,
          'AWS_REGION=us-east-1',
          '',
        ].join('\n'),
      );
      const result = await pullTo('from-dotenv', cwd);
      expect(result.code, result.stderr).toBe(0);
      expect(await objects('from-dotenv')).toEqual(stickers('from-dotenv', ALL));
    },
  );

  it('AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL', SLOW, async () => {
    const keys = {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    };
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    const good = await pullTo('s3-wins', await tempDir(), {
      ...keys,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL: nowhere,
    });
    expect(good.code, good.stderr).toBe(0);
    expect(await objects('s3-wins')).toEqual(stickers('s3-wins', ALL));

    // The other way round: the store named by AWS_ENDPOINT_URL_S3 is down, so the bucket check fails (exit 2).
    const cwd = await tempDir();
    const bad = await pullTo('s3-wins-down', cwd, {
      ...keys,
      AWS_ENDPOINT_URL_S3: nowhere,
      AWS_ENDPOINT_URL: s3.endpoint,
    });
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain(`\`${BUCKET}\``);
    expect(await objects('s3-wins-down')).toEqual([]);
  });
});

describe('a store that answers a wrong ETag', () => {
  it('the object is deleted and never recorded; the other items land', SLOW, async () => {
    const victim = 'etag/demo/S00002-window-sticker.pdf';
    const proxy = await startTapProxy(s3.endpoint, {
      rewriteHeaders: (req, headers) => {
        if (req.method === 'PUT' && req.path.startsWith(`/${BUCKET}/${victim}`)) {
          headers.etag = '"0123456789abcdef0123456789abcdef"';
        }
      },
    });
    proxies.push(proxy);
    const cwd = await tempDir();
    const result = await pullTo(
      'etag',
      cwd,
      {
        AWS_ENDPOINT_URL_S3: proxy.url,
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        AWS_REGION: 'us-east-1',
      },
      ['--retries', '1'],
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/S00002/);
    // Each of its uploads (the first attempt and the retry) was answered with the wrong ETag, then deleted.
    const puts = proxy.requests.filter(
      (r) => r.method === 'PUT' && r.path.startsWith(`/${BUCKET}/${victim}`),
    );
    const deletes = proxy.requests.filter(
      (r) => r.method === 'DELETE' && r.path.startsWith(`/${BUCKET}/${victim}`),
    );
    expect(puts.length).toBeGreaterThanOrEqual(1);
    expect(deletes.length).toBe(puts.length);
    expect(await objects('etag')).toEqual(stickers('etag', ['S00001', 'S00003', 'S00004']));
    // Never recorded: not done, not uploaded, no manifest line.
    const status = await runCli(['status', '--json'], { cwd });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ done: 3, uploaded: 3 });
    const manifest = (await readFile(path.join(cwd, 'downloads', 'manifest.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { key: string; object?: string });
    expect(manifest.map((l) => l.key).sort()).toEqual(['S00001', 'S00003', 'S00004']);
    expect(manifest.every((l) => l.object !== undefined)).toBe(true);
  });
});
