// A full disk stops the item with DiskFullError and leaves no partial file behind:
// a real 1 MiB tmpfs when we may mount one, an injected ENOSPC otherwise (and always).
import { execFileSync } from 'node:child_process';
import { mkdir, open, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DiskFullError } from '../../src/errors.js';
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
