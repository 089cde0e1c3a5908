import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { type CheckpointFs, nodeCheckpointFs } from '../../src/checkpoint/checkpoint-fs.js';
import type { SavedFile } from '../../src/files/types.js';
import { PowerCutFs } from './power-cut-fs.js';

const fileOf = (key: string, bytes = 10): SavedFile => ({
  path: `site/${key}.pdf`,
  bytes,
  sha256: 'ab'.repeat(32),
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagepool-checkpoint-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Everything a resuming run can observe about `keys`. */
function observe(checkpoint: Checkpoint, keys: string[]) {
  return {
    summary: checkpoint.summary(),
    keys: keys.map((k) => [
      k,
      checkpoint.isDone(k),
      checkpoint.shouldSkip(k),
      checkpoint.shouldSkip(k, { retryFailed: true }),
    ]),
  };
}

describe('Checkpoint', () => {
  it('keeps every record of 32 concurrent writers x 10,000 done records', async () => {
    const path = join(dir, '.pagepool', 'checkpoint.json');
    // Real files, but fdatasync skipped (and counted): this test is about the mutex and whole lines, and
    // 10,000 real fsyncs take minutes on a busy disk. Durability has the power-cut tests below.
    let syncs = 0;
    const fs: CheckpointFs = {
      ...nodeCheckpointFs,
      async openAppend(file) {
        const opened = await nodeCheckpointFs.openAppend(file);
        return {
          ...opened,
          sync: async () => {
            syncs++;
          },
        };
      },
    };
    const checkpoint = await Checkpoint.open({
      path,
      manifestPath: join(dir, 'manifest.jsonl'),
      compactEvery: 1_000_000,
      fs,
    });
    await Promise.all(
      Array.from({ length: 32 }, async (_, w) => {
        for (let i = 0; i < 10_000; i++) await checkpoint.done(`w${w}-${i}`, 1, [fileOf(`w${w}-${i}`)]);
      }),
    );
    const journal = (await readFile(`${path}l`, 'utf8')).split('\n');
    expect(journal.pop()).toBe('');
    expect(journal).toHaveLength(320_000);
    const keys = new Set(journal.map((line) => (JSON.parse(line) as { t: string; key: string }).key));
    expect(keys.size).toBe(320_000);
    // Group commit: the writers waiting together share one write and one fsync (journal + manifest each).
    expect(syncs).toBeLessThanOrEqual((2 * 320_000) / 16);
    await checkpoint.close();
    const manifest = (await readFile(join(dir, 'manifest.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(manifest).toHaveLength(320_000);
    const reopened = await Checkpoint.open({ path });
    expect(reopened.summary()).toMatchObject({ done: 320_000, failed: 0, pending: 0, bytes: 3_200_000 });
    for (let w = 0; w < 32; w++) expect(reopened.isDone(`w${w}-9999`)).toBe(true);
    await reopened.close();
    // 10,000 batches of real writes plus a 320,000-item compaction: minutes when the 2 cores are shared.
  }, 300_000);

  it('skips done keys in any order, permanent failures unless retryFailed, never transient ones', async () => {
    const path = join(dir, 'checkpoint.json');
    const checkpoint = await Checkpoint.open({ path });
    await checkpoint.started('a', 1);
    await checkpoint.done('a', 1, [fileOf('a', 5)]);
    await checkpoint.failed('p', 1, { reason: 'HTTP 404', code: 'PERMANENT', permanent: true });
    await checkpoint.failed('t', 1, { reason: 'timeout', permanent: false });
    await checkpoint.started('s', 1);
    await checkpoint.failed('late', 1, { reason: 'timeout', permanent: false });
    await checkpoint.done('late', 2, [fileOf('late', 7)]);
    await checkpoint.failed('a', 2, { reason: 'ignored after done', permanent: true });
    await checkpoint.close();
    for (const round of [1, 2]) {
      const reopened = await Checkpoint.open({ path, compactEvery: 1_000 });
      const source = ['s', 't', 'late', 'p', 'new', 'a'];
      expect(source.filter((k) => !reopened.shouldSkip(k))).toEqual(['s', 't', 'new']);
      expect(source.filter((k) => !reopened.shouldSkip(k, { retryFailed: true }))).toEqual([
        's',
        't',
        'p',
        'new',
      ]);
      expect(reopened.summary()).toMatchObject({
        done: round === 1 ? 2 : 3,
        failed: 1,
        pending: 2,
        bytes: 12,
        failuresByReason: [
          { reason: 'HTTP 404', count: 1, permanent: true },
          { reason: 'timeout', count: 1, permanent: false },
        ],
      });
      if (round === 1) {
        // Round 2 reads round 1's snapshot plus this journal (the close() compacts).
        await reopened.started('x', 1);
        await reopened.failed('x', 1, { reason: 'boom', permanent: false });
        await reopened.done('x', 2, []);
        expect(reopened.isDone('x')).toBe(true);
      }
      // Every open checkpoint holds its journal open: close it, or the GC closes it with a warning.
      await reopened.close();
    }
  });

  it('writes the manifest in step with done records', async () => {
    const path = join(dir, '.pagepool', 'checkpoint.json');
    const manifestPath = join(dir, 'manifest.jsonl');
    const checkpoint = await Checkpoint.open({ path, manifestPath });
    await checkpoint.done('k1', 1, [
      fileOf('k1', 3),
      { path: 'site/k1-2.png', bytes: 4, sha256: 'cd'.repeat(32) },
    ]);
    await checkpoint.failed('k2', 1, { reason: 'x', permanent: true });
    const lines = (await readFile(manifestPath, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { key: 'k1', path: 'site/k1.pdf', bytes: 3, sha256: 'ab'.repeat(32) },
      { key: 'k1', path: 'site/k1-2.png', bytes: 4, sha256: 'cd'.repeat(32) },
    ]);
    await checkpoint.close();
    await checkpoint.close();
    await expect(checkpoint.done('k3', 1, [])).rejects.toThrow(/closed/);
  });

  it('an item done again after a crash between its manifest and journal lines gets no second line', async () => {
    const path = join(dir, '.pagepool', 'checkpoint.json');
    const manifestPath = join(dir, 'manifest.jsonl');
    const readManifest = async () =>
      (await readFile(manifestPath, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const first = await Checkpoint.open({ path, manifestPath });
    await first.done('k0', 1, [fileOf('k0', 1)]);
    await first.started('k1', 1);
    await first.started('k2', 1);
    await first.close();
    // What a SIGKILL between the manifest write and the journal write leaves: lines for two items not done.
    const orphan = (key: string, bytes: number) => `${JSON.stringify({ key, ...fileOf(key, bytes) })}\n`;
    await appendFile(manifestPath, orphan('k1', 5) + orphan('k2', 6));
    const resumed = await Checkpoint.open({ path, manifestPath });
    await resumed.done('k1', 2, [fileOf('k1', 5)]);
    // k2's file changed between the runs: its new line is kept (the last line for a path wins).
    await resumed.done('k2', 2, [fileOf('k2', 7)]);
    // A key done again in the same run is not an orphan: nothing is skipped for it.
    await resumed.done('k1', 3, [fileOf('k1', 5)]);
    await resumed.close();
    expect(await readManifest()).toEqual([
      { key: 'k0', ...fileOf('k0', 1) },
      { key: 'k1', ...fileOf('k1', 5) },
      { key: 'k2', ...fileOf('k2', 6) },
      { key: 'k2', ...fileOf('k2', 7) },
      { key: 'k1', ...fileOf('k1', 5) },
    ]);
  });

  it('with uploads, a done item uploaded after a crash gets one line with its object', async () => {
    const path = join(dir, '.pagepool', 'checkpoint.json');
    const manifestPath = join(dir, 'manifest.jsonl');
    const plain = await Checkpoint.open({ path, manifestPath });
    await plain.done('k1', 1, [fileOf('k1', 5)]);
    await plain.close();
    const uploaded = { ...fileOf('k1', 5), object: 's3://b/site/k1.pdf', etag: 'e1' };
    // A run with uploads wrote the uploaded line and was killed before its journal line.
    await appendFile(manifestPath, `${JSON.stringify({ key: 'k1', ...uploaded })}\n`);
    const resumed = await Checkpoint.open({ path, manifestPath, uploads: true });
    expect(resumed.isDone('k1')).toBe(false);
    await resumed.done('k1', 2, [uploaded]);
    expect(resumed.isDone('k1')).toBe(true);
    await resumed.close();
    const lines = (await readFile(manifestPath, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { key: 'k1', ...fileOf('k1', 5) },
      { key: 'k1', ...uploaded },
    ]);
  });

  it('compacts automatically and reloads the same state from snapshot + journal', async () => {
    const path = join(dir, 'checkpoint.json');
    const checkpoint = await Checkpoint.open({ path, compactEvery: 7 });
    const keys: string[] = [];
    for (let i = 0; i < 40; i++) {
      const key = `k${i}`;
      keys.push(key);
      await checkpoint.started(key, 1);
      if (i % 3 === 0) await checkpoint.done(key, 1, [fileOf(key, i)]);
      else if (i % 3 === 1) await checkpoint.failed(key, 1, { reason: `r${i % 2}`, permanent: i % 2 === 0 });
    }
    const before = observe(checkpoint, keys);
    const journalLines = (await readFile(`${path}l`, 'utf8')).split('\n').length - 1;
    expect(journalLines).toBeLessThan(7);
    const snapshot = JSON.parse(await readFile(path, 'utf8')) as {
      version: number;
      items: Record<string, unknown>;
    };
    expect(snapshot.version).toBe(1);
    expect(Object.keys(snapshot.items).length).toBeGreaterThan(30);
    // Not closed: reopen from the snapshot and the live journal, as after a crash.
    const reopened = await Checkpoint.open({ path, compactEvery: 7 });
    expect(observe(reopened, keys)).toEqual(before);
    await reopened.close();
    const again = await Checkpoint.open({ path });
    expect(observe(again, keys)).toEqual(before);
    await again.close();
    // The "crashed" instance still holds the journal open: close it rather than leave it to the GC.
    await checkpoint.close();
  });

  it('rejects bad options with a message naming the field', async () => {
    await expect(Checkpoint.open({ path: join(dir, 'c.json'), compactEvery: 0 })).rejects.toMatchObject({
      code: 'CONFIG',
      message: 'Expected `compactEvery` to be a positive integer, got `0`',
    });
  });
});

describe('Checkpoint under a power cut', () => {
  const path = '/mem/.pagepool/checkpoint.json';
  const manifestPath = '/mem/manifest.jsonl';

  async function runUntilCut(fs: PowerCutFs, cutAt: number) {
    let ops = 0;
    let fired = false;
    fs.beforeOp = () => {
      fired ||= ++ops === cutAt;
      return ops === cutAt;
    };
    const confirmed = new Set<string>();
    const submitted = new Set<string>();
    let checkpoint: Checkpoint;
    try {
      checkpoint = await Checkpoint.open({ path, manifestPath, fs, compactEvery: 25 });
    } catch {
      return { confirmed, submitted, fired };
    }
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; i < 15; i++) {
          const key = `w${w}-${i}`;
          try {
            await checkpoint.started(key, 1);
            if (i % 4 === 3) {
              await checkpoint.failed(key, 1, { reason: 'x', permanent: true });
            } else {
              submitted.add(key);
              await checkpoint.done(key, 1, [fileOf(key)]);
              confirmed.add(key);
            }
          } catch {
            return;
          }
        }
      }),
    );
    await checkpoint.close().catch(() => {});
    return { confirmed, submitted, fired };
  }

  it.each([
    ['keeps only fsynced bytes', 'none' as const],
    ['keeps a random part of unsynced bytes', 'prefix' as const],
  ])(
    'every cut point: reopen %s; confirmed done stay done, nothing half-applied',
    async (_, keepUnsynced) => {
      let cuts = 0;
      for (let cutAt = 1; cutAt < 1_000; cutAt++) {
        const fs = new PowerCutFs();
        fs.keepUnsynced = keepUnsynced;
        const { confirmed, submitted, fired } = await runUntilCut(fs, cutAt);
        if (!fired) break;
        cuts++;
        fs.beforeOp = null;
        const warnings: string[] = [];
        const reopened = await Checkpoint.open({
          path,
          manifestPath,
          fs,
          onWarning: (m) => warnings.push(m),
        });
        for (const key of confirmed) expect(reopened.isDone(key)).toBe(true);
        const summary = reopened.summary();
        let done = 0;
        for (let w = 0; w < 6; w++) {
          for (let i = 0; i < 15; i++) {
            const key = `w${w}-${i}`;
            if (reopened.isDone(key)) {
              done++;
              expect(submitted.has(key)).toBe(true);
            }
          }
        }
        expect(summary.done).toBe(done);
        if (keepUnsynced === 'none') {
          const manifest = fs.contents(manifestPath)?.toString('utf8') ?? '';
          const listed = new Set(
            manifest
              .split('\n')
              .filter(Boolean)
              .map((l) => (JSON.parse(l) as { key: string }).key),
          );
          for (let w = 0; w < 6; w++)
            for (let i = 0; i < 15; i++)
              if (reopened.isDone(`w${w}-${i}`)) expect(listed.has(`w${w}-${i}`)).toBe(true);
        }
        // The items a resume pulls again leave one manifest line each, whatever the cut left behind.
        for (const key of submitted) if (!reopened.isDone(key)) await reopened.done(key, 2, [fileOf(key)]);
        const keys = (fs.contents(manifestPath)?.toString('utf8') ?? '')
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { key: string }).key);
        expect(new Set(keys).size).toBe(keys.length);
        // The journal must accept appends after any cut.
        await reopened.done('after-cut', 1, []);
        await reopened.close();
        const final = await Checkpoint.open({ path, fs });
        expect(final.isDone('after-cut')).toBe(true);
        for (const key of confirmed) expect(final.isDone(key)).toBe(true);
      }
      // Every operation of a run with 90 items, 2+ compactions and a close was a cut point.
      expect(cuts).toBeGreaterThan(60);
    },
  );

  it.each([
    ['before the snapshot rename', 'rename', 0],
    ['after the rename, before the folder fsync', 'syncDir', 0],
    ['after the snapshot is durable, before the journal reset', 'truncate', 0],
    ['after the journal reset, before its fsync', 'sync', 0],
  ])('a crash during compaction %s reloads the state from before', async (_, op, skip) => {
    const fs = new PowerCutFs();
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const checkpoint = await Checkpoint.open({ path, fs });
    for (const [i, key] of keys.entries()) {
      await checkpoint.started(key, 1);
      if (i % 3 === 0) await checkpoint.done(key, 2, [fileOf(key, i)]);
      if (i % 3 === 1) await checkpoint.failed(key, 1, { reason: `r${i % 2}`, permanent: i % 2 === 0 });
    }
    await checkpoint.compact();
    // A second round: the next compaction merges the snapshot with a new journal.
    for (const [i, key] of keys.entries()) {
      if (i % 3 === 1) await checkpoint.done(key, 3, [fileOf(key, 100 + i)]);
      if (i % 3 === 2) await checkpoint.failed(key, 2, { reason: 'late', permanent: true });
    }
    const before = observe(checkpoint, keys);
    let seen = 0;
    let fired = false;
    fs.beforeOp = (o, p) => {
      if (o !== op) return false;
      if (op === 'sync' && !p.endsWith('.jsonl')) return false;
      if (seen++ < skip) return false;
      fired = true;
      return true;
    };
    await expect(checkpoint.compact()).rejects.toMatchObject({ code: 'EIO' });
    expect(fired).toBe(true);
    fs.beforeOp = null;
    const reopened = await Checkpoint.open({ path, fs });
    expect(observe(reopened, keys)).toEqual(before);
    await reopened.close();
    const again = await Checkpoint.open({ path, fs });
    expect(observe(again, keys)).toEqual(before);
  });
});
