// README, "Speed and benchmarks": "The CLI loads the AWS SDK only for `--upload` and BullMQ/ioredis only with
// `--queue` (each ~25 MB of a process that does not use them)." Checked on the built command as a user runs it,
// with a probe preloaded that records every module the process loads (ES modules and CommonJS alike).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { loadedPackage, runCliRecordingModules } from '../helpers/loaded-modules.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const SLOW = { timeout: 120_000 };
let portal: Portal;
let s3: S3Server;
let redis: RedisServer;

beforeAll(async () => {
  portal = await startPortal({ vehicles: 2 });
  s3 = await startS3Server({ buckets: ['pulls'] });
  redis = await startRedisServer();
});
afterAll(async () => {
  await portal?.close();
  await s3?.close();
  await redis?.stop();
  await removeTempDirs();
});

const CREDENTIALS = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };

/** Which of the optional packages a command loaded; Playwright is the probe's own check (every run loads it). */
function packages(modules: string[]) {
  return {
    playwright: loadedPackage(modules, 'playwright-core'),
    awsSdk: loadedPackage(modules, '@aws-sdk') || loadedPackage(modules, '@smithy'),
    bullmq: loadedPackage(modules, 'bullmq'),
    ioredis: loadedPackage(modules, 'ioredis'),
    promClient: loadedPackage(modules, 'prom-client'),
  };
}

describe('optional packages are loaded only when used', () => {
  it(
    '`run` without --upload, --queue or --metrics-port, then `status`: no AWS SDK, no BullMQ, no ioredis, no prom-client',
    SLOW,
    async () => {
      const cwd = await tempDir();
      const pulled = await runCliRecordingModules(['run', '--site', 'demo', '--base-url', portal.url], {
        cwd,
        env: CREDENTIALS,
      });
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(packages(pulled.modules)).toEqual({
        playwright: true,
        awsSdk: false,
        bullmq: false,
        ioredis: false,
        // report.json reads the collector's own snapshot; the registry is made for --metrics-port only.
        promClient: false,
      });
      // Loaded with require() (src/browser/playwright.ts): an ESM import makes node scan its 3.6 MB bundle.
      expect(loadedPackage(pulled.imported, 'playwright-core')).toBe(false);
      expect(loadedPackage(pulled.imported, 'playwright')).toBe(false);
      // undici and linkedom come with require() too (src/lazy-deps.ts), in the login's idle time or on first use:
      // not with the command's modules, before Chromium's launch.
      expect(loadedPackage(pulled.modules, 'undici')).toBe(true);
      expect(loadedPackage(pulled.modules, 'linkedom')).toBe(true);
      expect(loadedPackage(pulled.imported, 'undici')).toBe(false);
      expect(loadedPackage(pulled.imported, 'linkedom')).toBe(false);

      const status = await runCliRecordingModules(['status'], { cwd });
      expect(status.code, status.stderr).toBe(0);
      expect(packages(status.modules)).toMatchObject({ awsSdk: false, bullmq: false, ioredis: false });
      // status starts no browser and reads nothing over HTTP.
      expect(loadedPackage(status.modules, 'undici')).toBe(false);
      expect(loadedPackage(status.modules, 'linkedom')).toBe(false);
    },
  );

  it('`run --upload`: the AWS SDK, and still no BullMQ or ioredis', SLOW, async () => {
    const result = await runCliRecordingModules(
      ['run', '--site', 'demo', '--base-url', portal.url, '--upload', 's3://pulls/lazy'],
      {
        cwd: await tempDir(),
        env: {
          ...CREDENTIALS,
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
          AWS_REGION: 'us-east-1',
        },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(packages(result.modules)).toEqual({
      playwright: true,
      awsSdk: true,
      bullmq: false,
      ioredis: false,
      promClient: false,
    });
  });

  it('`work --queue`: BullMQ and ioredis, and no AWS SDK', SLOW, async () => {
    // An empty queue: `work` says there is nothing queued and exits, after connecting to Redis through BullMQ.
    const result = await runCliRecordingModules(
      ['work', '--site', 'demo', '--base-url', portal.url, '--queue', redis.url],
      {
        cwd: await tempDir(),
        env: CREDENTIALS,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(packages(result.modules)).toMatchObject({ awsSdk: false, bullmq: true, ioredis: true });
  });
});
