import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { journalLine } from '../../src/checkpoint/records.js';
import { repairCheckpoint } from '../../src/checkpoint/repair.js';

const at = '2025-01-02T03:04:05.000Z';
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagepool-repair-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('backs up the journal and keeps only its valid lines', async () => {
  const path = join(dir, 'checkpoint.json');
  const original = [
    journalLine({
      t: 'done',
      key: 'a',
      attempt: 1,
      at,
      files: [{ path: 'a.pdf', bytes: 1, sha256: 'a'.repeat(64) }],
    }),
    'garbage\n',
    journalLine({ t: 'failed', key: 'b', attempt: 1, at, reason: 'x', permanent: true }),
    '{"t":"done","key":"c","attempt":1}\n',
    journalLine({ t: 'done', key: 'd', attempt: 1, at, files: [] }),
    '{"t":"sta',
  ].join('');
  await writeFile(`${path}l`, original);
  await expect(Checkpoint.open({ path })).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', line: 2 });
  const result = await repairCheckpoint(path);
  expect(result).toMatchObject({ kept: 3, dropped: 3 });
  expect(result.backup).toMatch(/checkpoint\.jsonl\.corrupt-\d{8}-\d{6}-\d{3}$/);
  expect(await readFile(result.backup!, 'utf8')).toBe(original);
  const warnings: string[] = [];
  const checkpoint = await Checkpoint.open({ path, onWarning: (m) => warnings.push(m) });
  expect(warnings).toEqual([]);
  expect(checkpoint.summary()).toMatchObject({ done: 2, failed: 1, pending: 0 });
  expect(checkpoint.isDone('a') && checkpoint.isDone('d')).toBe(true);
  await checkpoint.close();
});

it('says so when there is no checkpoint', async () => {
  await expect(repairCheckpoint(join(dir, 'checkpoint.json'))).rejects.toMatchObject({ code: 'CONFIG' });
});
