// writeFileAtomic: the one helper for small whole files (report.json, the last listing, traces).
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/files/atomic-write.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(async () => {
  await removeTempDirs();
});

/** A PID no process has: one that has just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid as number;
}

describe('writeFileAtomic', () => {
  it("removes the temporary files a killed writer left of the same file, never a live process's", async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'checkpoint.listing.json');
    const dead = `checkpoint.listing.json.${deadPid()}.0a1b2c3d.tmp`;
    const live = `checkpoint.listing.json.${process.ppid}.0a1b2c3d.tmp`;
    const other = `report.json.${deadPid()}.0a1b2c3d.tmp`;
    for (const name of [dead, live, other]) await writeFile(path.join(dir, name), 'torn');

    await writeFileAtomic(file, '{"listed":3}\n');

    expect(await readFile(file, 'utf8')).toBe('{"listed":3}\n');
    // Another file's leftovers go when that file is written again.
    expect((await readdir(dir)).sort()).toEqual([live, 'checkpoint.listing.json', other].sort());
  });
});
