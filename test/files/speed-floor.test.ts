// The minimum transfer speed: the window average (pure, on a fake clock), then against the real demo portal
// through FileStore.fetch: a trickle is aborted with a coded error, its `.part` kept and resumed with If-Range;
// an honest slow link is left alone.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { classify, TransferTooSlowError } from '../../src/errors.js';
import type { FileStore } from '../../src/files/file-store.js';
import { SpeedFloor } from '../../src/files/speed-floor.js';
import { signIn } from '../demo/portal-client.js';
import { listDir, makeStore, rejection, removeTempDirs, tempDir } from './helpers.js';

describe('SpeedFloor', () => {
  function clock() {
    let t = 0;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  }

  it('judges nothing before a whole window, then the average over the last window', () => {
    const c = clock();
    const floor = new SpeedFloor({ bytesPerSec: 100, windowMs: 1000 }, c.now);
    c.advance(500);
    expect(floor.check()).toBeUndefined(); // nothing arrived, but half a window proves nothing
    c.advance(500);
    expect(floor.check()).toBe(0);
    floor.add(150);
    c.advance(100);
    expect(floor.check()).toBeUndefined(); // 150 bytes in the last 1000-1100 ms
  });

  it('fails a burst followed by a trickle one window after the burst, not before', () => {
    const c = clock();
    const floor = new SpeedFloor({ bytesPerSec: 512, windowMs: 10_000 }, c.now);
    floor.add(1024);
    const verdicts: Array<number | undefined> = [];
    for (let s = 1; s <= 20; s++) {
      c.advance(1000);
      floor.add(1);
      verdicts.push(floor.check());
    }
    // At 10 s the window holds 1024 + 10 bytes: 103 B/s, under 512.
    expect(verdicts.slice(0, 9)).toEqual(Array(9).fill(undefined));
    expect(verdicts[9]).toBeCloseTo(103.4, 1);
    // Later windows hold only the trickle.
    expect(verdicts[19]).toBeCloseTo(1, 5);
  });

  it('never fails a steady link at the floor or above', () => {
    const c = clock();
    const floor = new SpeedFloor({ bytesPerSec: 512, windowMs: 10_000 }, c.now);
    for (let tick = 0; tick < 600; tick++) {
      c.advance(100);
      floor.add(52); // 520 B/s
      expect(floor.check()).toBeUndefined();
    }
  });
});

describe('FileStore.fetch against the demo portal', () => {
  const open: Array<Portal | FileStore> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
  });
  afterAll(removeTempDirs);

  const vehicle = makeVehicles(1, 1)[0]!;
  const url = (p: Portal) => `${p.url}/vehicle/${vehicle.stock}/sticker.pdf`;
  const NAME = `${vehicle.stock}-window-sticker.pdf`;

  const FLOOR = { minSpeedBytesPerSec: 512, minSpeedWindowMs: 1000 };

  /** A portal with one vehicle, signed in; `files(retries)` is a fresh store's Files for it (a later attempt). */
  async function setup(portalOptions: Partial<PortalOptions>) {
    const portal = await startPortal({ vehicles: 1, ...portalOptions });
    open.push(portal);
    const [name, value] = (await signIn(portal)).split('=') as [string, string];
    const dir = await tempDir();
    const files = (retries: number, floor = FLOOR) => {
      const store = makeStore(dir, { cookies: async () => [{ name, value }], ...floor, retries });
      open.push(store);
      return store.forJob({ key: vehicle.stock, signal: new AbortController().signal });
    };
    return { portal, dir, files };
  }

  it('aborts a 1 byte/s trickle with TRANSFER_TOO_SLOW, keeps the .part, and the retries resume it to the exact file', async () => {
    // Every body stalls after its first KiB, resumed ranges too: each attempt gains about a KiB.
    const { portal, dir, files } = await setup({ stallRate: 1 });
    const pdf = stickerPdf(vehicle);

    const err = await rejection(files(0).fetch(url(portal), { kind: 'pdf', name: NAME }));
    expect(err).toBeInstanceOf(TransferTooSlowError);
    expect((err as TransferTooSlowError).code).toBe('TRANSFER_TOO_SLOW');
    expect(classify(err)).toBe('retry');
    expect((err as Error).message).toMatch(/sent \d+ bytes\/s over 1 s, below the minimum of 512 bytes\/s$/);
    expect(await listDir(dir)).toEqual([`${NAME}.part`, `${NAME}.part.json`]);
    const kept = await readFile(path.join(dir, `${NAME}.part`));
    expect(kept.length).toBeGreaterThanOrEqual(1024);
    expect(kept.length).toBeLessThan(pdf.length);
    expect(kept.equals(pdf.subarray(0, kept.length))).toBe(true);

    // A later attempt (a new store) with retries: the ~1.2 KiB left arrive over two or three resumes.
    const saved = await files(4).fetch(url(portal), { kind: 'pdf', name: NAME });
    expect(saved.bytes).toBe(pdf.length);
    expect((await readFile(path.join(dir, NAME))).equals(pdf)).toBe(true);
    expect(await listDir(dir)).toEqual([NAME]);
    const stats = portal.stats();
    // Served from byte 0 once; every later body was a resume, and every body stalled.
    expect(stats.filesFromZero).toEqual({ [vehicle.stock]: 1 });
    expect(stats.filesResumed).toBeGreaterThanOrEqual(1);
    expect(stats.stalled).toBe(1 + stats.filesResumed);
  }, 60_000);

  it('leaves an honest slow link alone: paced at 4x the floor, one request, no abort', async () => {
    // A 2 s window: this process (portal and client in one) may stall for most of a second on a loaded machine,
    // and a window that saw the stall and not yet the catch-up would judge the link by it.
    const { portal, dir, files } = await setup({ fileBytesPerSec: 2048, stickerPadBytes: 8 * 1024 });
    const saved = await files(0, { ...FLOOR, minSpeedWindowMs: 2000 }).fetch(url(portal), {
      kind: 'pdf',
      name: NAME,
    });
    const pdf = stickerPdf(vehicle, 8 * 1024);
    expect(saved.bytes).toBe(pdf.length);
    expect((await stat(path.join(dir, NAME))).size).toBe(pdf.length);
    expect(portal.stats().filesServed).toEqual({ [vehicle.stock]: 1 });
  }, 60_000);
});
