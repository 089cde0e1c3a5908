// `pagepool run --site demo` with real Chromium against the demo portal behaving like the real portals of issue 28:
// every response `Connection: close` with the socket closed (DEMO_CONNECTION_CLOSE), and a session bound to the
// User-Agent, Accept-Language and Accept-Encoding of its login that re-validates (slowly) and rotates its cookie on
// a mismatch (DEMO_BIND_SESSION). Stickers padded past 64 KiB: each saved byte-exact, served once, nothing left
// behind, and no re-validation (file requests carry the browser's headers), at 1 and at 8 pages.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import type { PortalOptions } from '../../src/demo/portal-options.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { VEHICLES_TS } from '../helpers/user-adapter.js';

const N = 16;
const PAD = 100_000;
const CREDENTIALS = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };
let portal: Portal | undefined;
afterEach(async () => {
  await portal?.close();
  portal = undefined;
  await removeTempDirs();
});

async function pull(options: Partial<PortalOptions>, pages: number, site = 'demo') {
  portal = await startPortal({ vehicles: N, stickerPadBytes: PAD, seed: 5, ...options });
  const cwd = await tempDir();
  const result = await runCli(
    ['run', '--site', site, '--base-url', portal.url, '--concurrency', String(pages), '--quiet'],
    { cwd, env: CREDENTIALS, timeoutMs: 150_000 },
  );
  return { cwd, result, stats: portal.stats() };
}

/** Every sticker byte-exact in `dir` under `name(stock)`, and nothing else there (no .part, no .part.json). */
async function expectStickers(dir: string, name: (stock: string) => string) {
  const vehicles = makeVehicles(N, 5);
  expect((await readdir(dir)).sort()).toEqual(vehicles.map((v) => name(v.stock)).sort());
  for (const vehicle of vehicles) {
    const got = await readFile(path.join(dir, name(vehicle.stock)));
    expect(got.equals(stickerPdf(vehicle, PAD)), vehicle.stock).toBe(true);
  }
}

describe.each([1, 8])('Connection: close and a header-bound session, %i pages', (pages) => {
  it('every sticker byte-exact and served once, nothing left behind, one login, no re-validation', async () => {
    const { cwd, result, stats } = await pull({ connectionClose: true, bindSession: true }, pages);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    await expectStickers(path.join(cwd, 'downloads', 'demo'), (stock) => `${stock}-window-sticker.pdf`);
    expect(Object.values(stats.filesServed)).toEqual(Array(N).fill(1));
    expect({ logins: stats.logins, revalidations: stats.revalidations }).toEqual({
      logins: 1,
      revalidations: 0,
    });
  }, 180_000);
});

it('compressed too (DEMO_COMPRESS): the stickers come coded and are saved decoded, byte-exact', async () => {
  const { cwd, result, stats } = await pull({ connectionClose: true, bindSession: true, compress: true }, 8);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  await expectStickers(path.join(cwd, 'downloads', 'demo'), (stock) => `${stock}-window-sticker.pdf`);
  // Coded bodies are smaller than the stickers: they were sent compressed.
  const plain = makeVehicles(N, 5).reduce((n, v) => n + stickerPdf(v, PAD).length, 0);
  expect(stats.fileBodyBytes).toBeLessThan(plain);
  expect(stats.revalidations).toBe(0);
}, 180_000);

// The control: an adapter that overrides Accept-Encoding no longer looks like its browser, and the bound portal
// re-validates its file requests (and rotates the session under the requests still in flight, which then meet
// the login page: items fail). So the zero above is the headers' doing.
it('an adapter sending another Accept-Encoding is re-validated by the bound portal (the control)', async () => {
  const dir = await tempDir();
  const adapter = path.join(dir, 'vehicles.ts');
  const fetchCall = "await files.fetch(href, { kind: 'pdf', name: `$" + '{ref.stock}.pdf` });';
  expect(VEHICLES_TS).toContain(fetchCall);
  const identity = fetchCall.replace(' });', ", headers: { 'accept-encoding': 'identity' } });");
  await writeFile(adapter, VEHICLES_TS.replace(fetchCall, identity));
  const { stats } = await pull({ connectionClose: true, bindSession: true }, 1, adapter);
  expect(stats.revalidations).toBeGreaterThan(0);
}, 180_000);
