// A file cut off mid-body, end to end: `pagepool run` against a demo portal that cuts responses short, seen
// through a logging proxy. Every PDF must end up byte-exact, and every cut file is resumed with a Range request
// rather than fetched again.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { runCli } from './helpers/cli.js';
import { type PortalProxy, startPortalProxy } from './helpers/portal-proxy.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const N = 20;
const PAD = 200_000;
let portal: Portal;
let proxy: PortalProxy;
let cwd: string;
let result: { code: number | null; stderr: string };

// One pull for both tests: padded stickers, so a cut leaves a real half behind.
beforeAll(async () => {
  portal = await startPortal({ vehicles: N, truncateRate: 0.3, stickerPadBytes: PAD, seed: 3 });
  proxy = await startPortalProxy(portal.url);
  cwd = await tempDir();
  result = await runCli(['run', '--site', 'demo', '--base-url', proxy.url, '--concurrency', '4', '--quiet'], {
    cwd,
    env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' },
    timeoutMs: 180_000,
  });
}, 240_000);
afterAll(async () => {
  await proxy?.close();
  await portal?.close();
  await removeTempDirs();
});

const stickers = () => proxy.requests.filter((r) => r.path.endsWith('/sticker.pdf'));

describe('a cut-off download', () => {
  it('is fetched again until whole: every PDF byte-exact, exit 0, no more requests than cuts', async () => {
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    for (const vehicle of makeVehicles(N, 3)) {
      const file = path.join(cwd, 'downloads', 'demo', `${vehicle.stock}-window-sticker.pdf`);
      expect((await readFile(file)).equals(stickerPdf(vehicle, PAD)), vehicle.stock).toBe(true);
    }
    // The cuts happened, and each cost one more request, no more.
    expect(portal.stats().truncated).toBeGreaterThan(0);
    expect(stickers()).toHaveLength(N + portal.stats().truncated);
  });

  // Each cut (half the body, together with the close) leaves its bytes in the `.part` with its validator, and the
  // retry asks for the rest: every file is fetched from byte 0 exactly once, every cut is resumed with a 206.
  it('resumes every cut file from where its part ends (Range, 206)', async () => {
    let onDisk = 0;
    for (const vehicle of makeVehicles(N, 3)) {
      onDisk += (await stat(path.join(cwd, 'downloads', 'demo', `${vehicle.stock}-window-sticker.pdf`))).size;
    }
    const { truncated } = portal.stats();
    const resumed = stickers().filter((r) => r.range !== undefined);
    expect(resumed).toHaveLength(truncated);
    for (const r of resumed) {
      expect(r.range).toMatch(/^bytes=[1-9]\d*-$/);
      expect(r.status).toBe(206);
    }
    expect(stickers().filter((r) => r.range === undefined)).toHaveLength(N);
    // The proxy counts what it got from the portal; on a cut it may drop its own last unflushed bytes.
    expect(stickers().reduce((n, r) => n + r.bytes, 0)).toBeGreaterThanOrEqual(onDisk);
  });
});
