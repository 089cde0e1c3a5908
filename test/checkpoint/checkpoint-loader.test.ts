import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { CheckpointCorruptError } from '../../src/checkpoint/checkpoint-corrupt-error.js';
import { journalLine } from '../../src/checkpoint/records.js';

const at = '2025-01-02T03:04:05.000Z';
const lines = [
  journalLine({ t: 'started', key: 'a', attempt: 1, at }),
  journalLine({
    t: 'done',
    key: 'a',
    attempt: 1,
    at,
    files: [{ path: 'site/a.pdf', bytes: 11, sha256: 'f'.repeat(64) }],
  }),
  journalLine({
    t: 'failed',
    key: 'b',
    attempt: 1,
    at,
    reason: 'HTTP 404',
    code: 'PERMANENT',
    permanent: true,
  }),
  journalLine({ t: 'started', key: 'c', attempt: 1, at }),
  journalLine({
    t: 'done',
    key: 'c',
    attempt: 1,
    at,
    files: [{ path: 'site/c-é.pdf', bytes: 5, sha256: 'e'.repeat(64) }],
  }),
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagepool-loader-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loading a journal', () => {
  it('drops a torn last line at every byte offset, warns, and appends after the last good line', async () => {
    const full = Buffer.from(lines.join(''));
    const lastStart = Buffer.byteLength(lines.slice(0, -1).join(''));
    for (let cut = lastStart + 1; cut < full.length; cut++) {
      const sub = join(dir, String(cut));
      const path = join(sub, 'checkpoint.json');
      const warnings: string[] = [];
      await mkdir(sub);
      await writeFile(`${path}l`, full.subarray(0, cut));
      const checkpoint = await Checkpoint.open({ path, onWarning: (m) => warnings.push(m) });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`${path}l`);
      expect(warnings[0]).toContain('dropped 1 incomplete record');
      expect(checkpoint.isDone('a')).toBe(true);
      expect(checkpoint.isDone('c')).toBe(false);
      expect(checkpoint.summary()).toMatchObject({ done: 1, failed: 1, pending: 1, bytes: 11 });
      await checkpoint.done('d', 1, []);
      const journal = await readFile(`${path}l`, 'utf8');
      expect(journal).toBe(lines.slice(0, -1).join('') + journal.slice(lastStart));
      const appended = journal.slice(lastStart).split('\n');
      expect(appended).toHaveLength(2);
      expect(JSON.parse(appended[0]!)).toMatchObject({ t: 'done', key: 'd' });
      await checkpoint.close();
      const reopened = await Checkpoint.open({ path });
      expect(reopened.summary()).toMatchObject({ done: 2, failed: 1, pending: 1 });
      await reopened.close();
    }
  });

  it('stops at a corrupt middle line without changing any file, and repair makes it loadable', async () => {
    const path = join(dir, 'checkpoint.json');
    const bad = [...lines];
    bad[2] = '{"t":"failed","key":"b","att\n';
    const original = Buffer.from(bad.join(''));
    await writeFile(`${path}l`, original);
    const error = await Checkpoint.open({ path, onWarning: () => {} }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CheckpointCorruptError);
    expect(error).toMatchObject({ code: 'CHECKPOINT_CORRUPT', file: `${path}l`, line: 3 });
    const message = (error as Error).message;
    expect(message).toContain(`${path}l`);
    expect(message).toContain('line 3');
    expect(message).toContain(`pagepool repair --checkpoint ${path}`);
    expect(await readFile(`${path}l`)).toEqual(original);
    expect(await readdir(dir)).toEqual(['checkpoint.jsonl']);
  });

  it('treats a line with a wrong shape like invalid JSON', async () => {
    const path = join(dir, 'checkpoint.json');
    await writeFile(
      `${path}l`,
      [lines[0], '{"t":"done","key":"a","attempt":1,"at":"x","files":"nope"}\n', lines[2]].join(''),
    );
    await expect(Checkpoint.open({ path })).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', line: 2 });
  });

  it('rejects a corrupt snapshot with the file and line', async () => {
    const path = join(dir, 'checkpoint.json');
    await writeFile(
      path,
      '{"version":1,"createdAt":null,"updatedAt":null,"items":{\n"a":{"status":"done","attempts":1,\n}}\n',
    );
    await expect(Checkpoint.open({ path })).rejects.toMatchObject({
      code: 'CHECKPOINT_CORRUPT',
      file: path,
      line: 2,
    });
  });

  it('reads a snapshot in any valid JSON layout', async () => {
    const path = join(dir, 'checkpoint.json');
    const items = {
      a: {
        status: 'done',
        attempts: 2,
        at,
        files: [{ path: 'site/a.pdf', bytes: 3, sha256: 'a'.repeat(64) }],
      },
      b: { status: 'failed', attempts: 1, at, reason: 'gone', permanent: true },
    };
    await writeFile(path, JSON.stringify({ version: 1, createdAt: at, updatedAt: at, items }, null, 2));
    const checkpoint = await Checkpoint.open({ path });
    expect(checkpoint.summary()).toMatchObject({ done: 1, failed: 1, bytes: 3, firstUpdate: at });
    await checkpoint.close();
    const rewritten = JSON.parse(await readFile(path, 'utf8')) as { items: unknown };
    expect(rewritten.items).toEqual(items);
  });
});
