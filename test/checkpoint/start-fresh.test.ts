import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { startFresh } from '../../src/checkpoint/start-fresh.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagepool-fresh-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('moves snapshot, journal and manifest into a backup folder, then a new run starts empty', async () => {
  const path = join(dir, '.pagepool', 'checkpoint.json');
  const manifestPath = join(dir, 'manifest.jsonl');
  const checkpoint = await Checkpoint.open({ path, manifestPath });
  await checkpoint.done('a', 1, [{ path: 'a.pdf', bytes: 1, sha256: 'a'.repeat(64) }]);
  await checkpoint.close();
  const manifest = await readFile(manifestPath, 'utf8');
  const backup = await startFresh(path, manifestPath);
  expect(backup).not.toBeNull();
  expect((await readdir(backup!)).sort()).toEqual(['checkpoint.json', 'checkpoint.jsonl', 'manifest.jsonl']);
  expect(await readFile(join(backup!, 'manifest.jsonl'), 'utf8')).toBe(manifest);
  expect(await readdir(join(dir, '.pagepool'))).toEqual([backup!.split('/').pop()]);
  expect(await readdir(dir)).not.toContain('manifest.jsonl');
  const fresh = await Checkpoint.open({ path, manifestPath });
  expect(fresh.isDone('a')).toBe(false);
  await fresh.close();
});

it('returns null when there is nothing to move', async () => {
  await mkdir(join(dir, '.pagepool'));
  expect(await startFresh(join(dir, '.pagepool', 'checkpoint.json'))).toBeNull();
});
