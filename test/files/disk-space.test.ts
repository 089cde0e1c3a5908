// A full disk stops the item with DiskFullError and leaves no partial file behind:
// a real 1 MiB tmpfs when we may mount one, an injected ENOSPC otherwise (and always).
import { execFileSync } from 'node:child_process';
import { mkdir, open, rmdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DiskFullError } from '../../src/errors.js';
import { FREE_SPACE_RECHECK_BYTES, FREE_SPACE_RECHECK_MS, FreeSpace } from '../../src/files/disk-space.js';
import type { FileStore } from '../../src/files/file-store.js';
import {
  listDir,
  makeStore,
  pdfBytes,
  rejection,
  removeTempDirs,
  startServer,
  type TestServer,
  tempDir,
} from './helpers.js';

const open_: Array<TestServer | FileStore> = [];
const mounted: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(open_.splice(0).map((x) => x.close()));
});
afterAll(async () => {
  for (const dir of mounted) {
    execFileSync('umount', [dir]);
    await rmdir(dir);
  }
  await removeTempDirs();
});

/** A 1 MiB tmpfs, or undefined when this process may not mount (not root, no CAP_SYS_ADMIN). */
async function tinyDisk(): Promise<string | undefined> {
  const dir = path.join(await tempDir(), 'tiny');
  await mkdir(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  mounted.push(dir);
  return dir;
}

const canMount = await (async () => {
  const dir = await tinyDisk();
  return dir !== undefined;
})();

async function pdfServer(size: number): Promise<TestServer> {
  const body = pdfBytes(size);
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': body.length, etag: '"e"' });
    res.end(body);
  });
  open_.push(server);
  return server;
}

describe('disk full', () => {
  it.skipIf(!canMount)(
    'ENOSPC on a real 1 MiB tmpfs -> DiskFullError naming the folder, no partial file',
    async () => {
      const dir = (await tinyDisk())!;
      const server = await pdfServer(2 * 1024 * 1024);
      const store = makeStore(dir, { diskMarginBytes: 0 });
      open_.push(store);
      const err = await rejection(
        store.forJob({ key: 'k', signal: new AbortController().signal }).fetch(`${server.origin}/big.pdf`),
      );
      expect(err).toBeInstanceOf(DiskFullError);
      expect((err as Error).message).toContain(dir);
      // Not retried: the disk will not empty itself.
      expect(server.requests).toHaveLength(1);
      expect(await listDir(dir)).toEqual([]);
    },
  );

  it.skipIf(!canMount)('the free-space check refuses before any request when below the margin', async () => {
    const dir = (await tinyDisk())!;
    const server = await pdfServer(1000);
    const store = makeStore(dir, { diskMarginBytes: 100 * 1024 * 1024 });
    open_.push(store);
    const err = await rejection(
      store.forJob({ key: 'k', signal: new AbortController().signal }).fetch(`${server.origin}/a.pdf`),
    );
    expect(err).toBeInstanceOf(DiskFullError);
    // One line naming the folder, the free space and the flag that sets the margin.
    expect((err as Error).message).toMatch(
      /has \d+(\.\d)? [KM]iB free, less than `--disk-margin` \(100\.0 MiB\)/,
    );
    expect((err as Error).message).toContain(dir);
    expect(server.requests).toHaveLength(0);
  });

  it('an injected ENOSPC mid-write -> DiskFullError, the .part and its metadata removed', async () => {
    const dir = await tempDir();
    const server = await pdfServer(600_000);
    const store = makeStore(dir);
    open_.push(store);
    // FileHandle is not exported; reach its prototype through a real handle.
    const probe = await open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const realWrite = proto.write;
    // The first write of body bytes fails (not `.part.json`'s): the `.part` exists by then.
    vi.spyOn(proto, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const data = args[0];
      if (data instanceof Uint8Array && data.byteLength > 1000) {
        return Promise.reject(
          Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
        );
      }
      return realWrite.apply(this, args);
    });
    const err = await rejection(
      store.forJob({ key: 'k', signal: new AbortController().signal }).fetch(`${server.origin}/a.pdf`),
    );
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as DiskFullError).code).toBe('DISK_FULL');
    expect(server.requests).toHaveLength(1);
    expect(await listDir(dir)).toEqual(['probe']);
  });

  it('the free-space check uses statfs on the output folder', async () => {
    const dir = await tempDir();
    const server = await pdfServer(1000);
    const store = makeStore(dir, { diskMarginBytes: Number.MAX_SAFE_INTEGER });
    open_.push(store);
    const err = await rejection(
      store
        .forJob({ key: 'k', signal: new AbortController().signal })
        .fromBytes(pdfBytes(100), { name: 'a.pdf' }),
    );
    expect(err).toBeInstanceOf(DiskFullError);
    expect(server.requests).toHaveLength(0);
    expect(await listDir(dir)).toEqual([]);
  });
});

describe('FreeSpace: how often the free space is measured', () => {
  const MiB = 1024 * 1024;
  /** A FreeSpace over a disk that reports `free()`, counting its readings. */
  function gate(margin: number, free: () => number) {
    let readings = 0;
    const space = new FreeSpace('/out', margin, async () => {
      readings++;
      return free();
    });
    return { space, readings: () => readings };
  }

  it('far above the margin, one reading serves the files of the next second, then it measures again', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const { space, readings } = gate(100 * MiB, () => 10_000 * MiB);
      for (let i = 0; i < 50; i++) await space.ensure();
      expect(readings()).toBe(1);
      vi.advanceTimersByTime(FREE_SPACE_RECHECK_MS);
      await space.ensure();
      expect(readings()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('the files written since a reading use up its room: a new reading before the margin could be passed', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      let free = 100 * MiB + 3 * FREE_SPACE_RECHECK_BYTES;
      const { space, readings } = gate(100 * MiB, () => free);
      await space.ensure();
      space.wrote(FREE_SPACE_RECHECK_BYTES);
      await space.ensure();
      expect(readings()).toBe(1);
      // Within the second, but the room left by the reading's account is no longer above the recheck bytes.
      space.wrote(FREE_SPACE_RECHECK_BYTES);
      // Another writer took the rest meanwhile.
      free = 99 * MiB;
      const err = await rejection(space.ensure());
      expect(readings()).toBe(2);
      expect(err).toBeInstanceOf(DiskFullError);
      expect((err as Error).message).toMatch(/has 99\.0 MiB free, less than `--disk-margin` \(100\.0 MiB\)/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('near the margin, every file measures (the first below it is refused, as with a reading per file)', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      let free = 100 * MiB + FREE_SPACE_RECHECK_BYTES;
      const { space, readings } = gate(100 * MiB, () => free);
      await space.ensure();
      await space.ensure();
      expect(readings()).toBe(2);
      free = 100 * MiB - 1;
      expect(await rejection(space.ensure())).toBeInstanceOf(DiskFullError);
      expect(readings()).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a margin of 0 never measures', async () => {
    const { space, readings } = gate(0, () => 0);
    await space.ensure();
    expect(readings()).toBe(0);
  });

  it.skipIf(!canMount)(
    'a real disk filling up near the margin: the first file that would start below it is refused, none before',
    async () => {
      const dir = (await tinyDisk())!;
      const margin = 512 * 1024;
      const store = makeStore(dir, { diskMarginBytes: margin });
      open_.push(store);
      const files = store.forJob({ key: 'k', signal: new AbortController().signal });
      let written = 0;
      let err: unknown;
      for (let i = 0; i < 20 && err === undefined; i++) {
        const stats = await statfs(dir);
        const free = stats.bavail * stats.bsize;
        try {
          await files.fromBytes(pdfBytes(100_000, i + 1), { name: `f${i}.pdf` });
          // Every file that was let in started with at least the margin free.
          expect(free).toBeGreaterThanOrEqual(margin);
          written++;
        } catch (e) {
          err = e;
          expect(free).toBeLessThan(margin);
        }
      }
      expect(err).toBeInstanceOf(DiskFullError);
      expect(written).toBeGreaterThan(0);
      expect((await listDir(dir)).filter((f) => f.endsWith('.pdf'))).toHaveLength(written);
    },
  );
});
