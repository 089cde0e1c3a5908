import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { formatStatus, readStatus } from '../../src/checkpoint/status.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagepool-status-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function snapshotOfFolder(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(dir)) out[name] = await readFile(join(dir, name), 'latin1');
  return out;
}

it('reads a live checkpoint, torn tail included, without changing any file', async () => {
  const path = join(dir, 'checkpoint.json');
  const checkpoint = await Checkpoint.open({ path, compactEvery: 3 });
  await checkpoint.done('a', 1, [{ path: 'a.pdf', bytes: 1500, sha256: 'a'.repeat(64) }]);
  await checkpoint.failed('b', 1, { reason: 'HTTP 404 – not found', permanent: true });
  await checkpoint.failed('c', 2, { reason: 'timeout', permanent: false });
  await checkpoint.started('d', 1);
  await writeFile(`${path}l`, `${await readFile(`${path}l`, 'utf8')}{"t":"done","ke`);
  const before = await snapshotOfFolder();
  const summary = await readStatus(path);
  expect(await snapshotOfFolder()).toEqual(before);
  expect(summary).toMatchObject({ done: 1, failed: 1, pending: 2, bytes: 1500 });
  expect(summary.failuresByReason).toEqual([
    { reason: 'HTTP 404 – not found', count: 1, permanent: true, examples: ['b'] },
    { reason: 'timeout', count: 1, permanent: false, examples: ['c'] },
  ]);
  const text = formatStatus(summary, path);
  expect(text).toMatch(/^[\x20-\x7e\n]*$/);
  expect(text).toContain(path);
  // The words of the run summary: one failed and will be retried, one failed permanently, one in flight.
  expect(text).toMatch(/ done +1 items, 1\.5 KB$/m);
  expect(text).toMatch(/ failed \(will be retried\) +1 items, tried again on the next run$/m);
  expect(text).toMatch(/ failed permanently +1 items, skipped unless --retry-failed$/m);
  expect(text).toMatch(/ started, not finished +1 items, /m);
  expect(text).toContain('HTTP 404 ? not found');
  await checkpoint.close().catch(() => {});
});
