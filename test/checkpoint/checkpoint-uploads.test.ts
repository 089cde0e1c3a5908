// What the checkpoint records about uploads: saved-but-not-uploaded items, each file's object and ETag, and
// old checkpoints (written before uploads existed) loading unchanged.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { nodeCheckpointFs } from '../../src/checkpoint/checkpoint-fs.js';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint-loader.js';
import type { RecordedFile } from '../../src/checkpoint/recorded-file.js';
import { formatStatus, readStatus } from '../../src/checkpoint/status.js';

const sha = (c: string): string => c.repeat(64);
const file = (path: string, bytes: number, c = 'a'): RecordedFile => ({ path, bytes, sha256: sha(c) });
const uploaded = (f: RecordedFile): RecordedFile => ({
  ...f,
  object: `s3://bucket/run/${f.path}`,
  etag: `${f.sha256.slice(0, 32)}`,
});

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagepool-checkpoint-uploads-'));
  path = join(dir, '.pagepool', 'checkpoint.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A checkpoint exactly as the version before uploads wrote it: a compacted snapshot plus a journal. */
async function writeOldCheckpoint(): Promise<void> {
  await mkdir(join(dir, '.pagepool'), { recursive: true });
  await writeFile(
    path,
    '{"version":1,"createdAt":"2025-01-01T00:00:00.000Z","updatedAt":"2025-01-01T00:00:02.000Z","items":{\n' +
      `"A":{"status":"done","attempts":1,"at":"2025-01-01T00:00:01.000Z","files":[{"path":"demo/A.pdf","bytes":3,"sha256":"${sha('a')}"}]},\n` +
      '"B":{"status":"failed","attempts":2,"at":"2025-01-01T00:00:02.000Z","reason":"HTTP 404","permanent":true,"code":"PERMANENT"}\n' +
      '}}\n',
  );
  await writeFile(
    `${path}l`,
    '{"t":"started","key":"C","attempt":1,"at":"2025-01-01T00:00:03.000Z"}\n' +
      `{"t":"done","key":"C","attempt":1,"at":"2025-01-01T00:00:04.000Z","files":[{"path":"demo/C.pdf","bytes":5,"sha256":"${sha('c')}"},{"path":"demo/C.png","bytes":7,"sha256":"${sha('d')}"}]}\n` +
      '{"t":"started","key":"D","attempt":1,"at":"2025-01-01T00:00:05.000Z"}\n' +
      '{"t":"done","key":"E","attempt":1,"at":"2025-01-01T00:00:06.000Z","files":[]}\n',
  );
}

describe('Checkpoint uploads', () => {
  it('loads a checkpoint written before uploads existed, as before', async () => {
    await writeOldCheckpoint();
    const cp = await Checkpoint.open({ path });
    try {
      expect(['A', 'B', 'C', 'D', 'E'].map((k) => [k, cp.isDone(k), cp.shouldSkip(k)])).toEqual([
        ['A', true, true],
        ['B', false, true],
        ['C', true, true],
        ['D', false, false],
        ['E', true, true],
      ]);
      expect(cp.summary()).toMatchObject({ done: 3, failed: 1, pending: 1, uploaded: 0, bytes: 15 });
      // Without uploads, done items' files stay on disk (not in memory) and nothing is handed out.
      expect(cp.pendingUploads('A')).toBeNull();
    } finally {
      await cp.close();
    }
  });

  it('a run that uploads finishes the done items of an old checkpoint without pulling them again', async () => {
    await writeOldCheckpoint();
    let cp = await Checkpoint.open({ path, uploads: true });
    expect(['A', 'C', 'E'].map((k) => [k, cp.isDone(k), cp.shouldSkip(k)])).toEqual([
      ['A', false, false],
      ['C', false, false],
      // No files: nothing to upload.
      ['E', true, true],
    ]);
    expect(cp.pendingUploads('A')).toEqual([file('demo/A.pdf', 3, 'a')]);
    expect(cp.pendingUploads('C')).toEqual([file('demo/C.pdf', 5, 'c'), file('demo/C.png', 7, 'd')]);
    expect(cp.pendingUploads('D')).toBeNull();
    expect(cp.pendingUploads('B')).toBeNull();

    await cp.done('A', 1, cp.pendingUploads('A')!.map(uploaded));
    // C: one of two uploaded before a crash (no close).
    const [c1, c2] = cp.pendingUploads('C')!;
    await cp.done('C', 1, [uploaded(c1!), c2!]);
    cp = await Checkpoint.open({ path, uploads: true });
    try {
      expect(cp.isDone('A')).toBe(true);
      expect(cp.isUploaded('A')).toBe(true);
      expect(cp.pendingUploads('A')).toBeNull();
      expect(cp.isDone('C')).toBe(false);
      expect(cp.pendingUploads('C')).toEqual([uploaded(c1!), c2!]);
      expect(cp.summary()).toMatchObject({ done: 3, uploaded: 1, pending: 1 });
      await cp.done('C', 1, [uploaded(c1!), uploaded(c2!)]);
      expect(cp.isDone('C')).toBe(true);
    } finally {
      await cp.close();
    }
    // After close (a compaction), the snapshot keeps every object and ETag.
    const loaded = await loadCheckpoint(nodeCheckpointFs, path, `${path}l`, { keepFiles: true });
    expect(loaded.state.filesOf('C')).toEqual([uploaded(c1!), uploaded(c2!)]);
    expect((await readStatus(path)).uploaded).toBe(2);
  });

  it('saved files survive a crash and a compaction: resume uploads them instead of pulling again', async () => {
    const files = [file('cards/K.png', 11, 'e'), file('cards/K-back.png', 12, 'f')];
    const manifestPath = join(dir, 'manifest.jsonl');
    let cp = await Checkpoint.open({ path, manifestPath, uploads: true });
    await cp.started('K', 1);
    await cp.saved('K', 1, files);
    expect(cp.shouldSkip('K')).toBe(false);
    // The upload failed transiently: the files are still whole on disk and recorded.
    await cp.failed('K', 1, { reason: 'Upload failed: 503', code: 'UPLOAD_FAILED', permanent: false });
    // Crash: no close.
    cp = await Checkpoint.open({ path, manifestPath, uploads: true });
    expect(cp.pendingUploads('K')).toEqual(files);
    expect(cp.summary()).toMatchObject({ done: 0, pending: 1, uploaded: 0 });
    await cp.compact();
    await cp.started('K', 2);
    expect(cp.pendingUploads('K')).toEqual(files);
    // Crash again, after the compaction wrote the saved item into the snapshot.
    cp = await Checkpoint.open({ path, manifestPath, uploads: true });
    try {
      expect(cp.pendingUploads('K')).toEqual(files);
      await cp.done('K', 2, files.map(uploaded));
      expect(cp.isDone('K')).toBe(true);
      expect(cp.pendingUploads('K')).toBeNull();
    } finally {
      await cp.close();
    }
    const manifest = (await readFile(manifestPath, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(manifest).toEqual(files.map((f) => ({ key: 'K', ...uploaded(f) })));
    const status = await readStatus(path);
    expect(status).toMatchObject({ done: 1, pending: 0, uploaded: 1, bytes: 23 });
    expect(formatStatus(status, path)).toContain('  uploaded 1 items (every file in the bucket)');
  });

  it('a done item is not undone by a late saved record', async () => {
    const cp = await Checkpoint.open({ path, uploads: true });
    try {
      const files = [uploaded(file('x/L.pdf', 4))];
      await cp.done('L', 1, files);
      await cp.saved('L', 1, [file('x/L.pdf', 4)]);
      expect(cp.isDone('L')).toBe(true);
      expect(cp.pendingUploads('L')).toBeNull();
    } finally {
      await cp.close();
    }
  });
});
