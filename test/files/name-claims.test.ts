// Names across runs: what an earlier run saved (read back from the manifest) keeps its owner, whatever
// order a later run claims names in; nothing another key saved is ever overwritten.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { readManifestClaims } from '../../src/checkpoint/manifest-claims.js';
import { ConfigError } from '../../src/errors.js';
import type { FileStore } from '../../src/files/file-store.js';
import { listDir, makeStore, pdfBytes, removeTempDirs, sha256, tempDir } from './helpers.js';

const open: FileStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
afterAll(removeTempDirs);

const live = () => new AbortController().signal;
const bodyOf = (key: string) => pdfBytes(3_000, key.length * 7 + key.charCodeAt(key.length - 1));

/** One run as the engine does it: the store in <out>/site, the manifest naming files from <out>. */
async function run(out: string, order: string[]) {
  const manifestPath = path.join(out, 'manifest.jsonl');
  const checkpoint = await Checkpoint.open({
    path: path.join(out, '.pagepool', 'checkpoint.json'),
    manifestPath,
  });
  const claims = await readManifestClaims(manifestPath, out);
  const store = makeStore(path.join(out, 'site'), { claims });
  open.push(store);
  const names: Record<string, string> = {};
  try {
    for (const key of order) {
      if (checkpoint.isDone(key)) continue;
      const saved = await store
        .forJob({ key, signal: live() })
        .fromBytes(bodyOf(key), { name: 'sticker.pdf' });
      names[key] = saved.path;
      await checkpoint.done(key, 1, [{ ...saved, path: `site/${saved.path}` }]);
    }
  } finally {
    await checkpoint.close();
  }
  return names;
}

it('keeps an earlier run’s names with their keys when a later run claims them in another order', async () => {
  const out = await tempDir();
  const hash = (key: string) => sha256(Buffer.from(key)).slice(0, 8);
  // Run 1 saves B (first, plain name) and C; A was never reached (a crash, --max, a failure).
  expect(await run(out, ['vin-B', 'vin-C'])).toEqual({
    'vin-B': 'sticker.pdf',
    'vin-C': `sticker~${hash('vin-C')}.pdf`,
  });
  // Run 2 reaches A first: the plain name belongs to B on disk, so A takes its own suffix.
  expect(await run(out, ['vin-A', 'vin-C', 'vin-B'])).toEqual({
    'vin-A': `sticker~${hash('vin-A')}.pdf`,
  });
  const dir = path.join(out, 'site');
  expect(await listDir(dir)).toEqual(
    ['sticker.pdf', `sticker~${hash('vin-A')}.pdf`, `sticker~${hash('vin-C')}.pdf`].sort(),
  );
  for (const [key, name] of [
    ['vin-B', 'sticker.pdf'],
    ['vin-A', `sticker~${hash('vin-A')}.pdf`],
    ['vin-C', `sticker~${hash('vin-C')}.pdf`],
  ] as const) {
    expect(sha256(await readFile(path.join(dir, name))), key).toBe(sha256(bodyOf(key)));
  }
});

it('a later run never overwrites or replaces a file another key saved: it takes a name of its own', async () => {
  const out = await tempDir();
  const hash = (key: string) => sha256(Buffer.from(key)).slice(0, 8);
  await run(out, ['vin-B']);
  const plain = path.join(out, 'site', 'sticker.pdf');
  const before = await stat(plain);
  // A reaches the plain name first in this run; on disk it is B's.
  expect(await run(out, ['vin-A'])).toEqual({ 'vin-A': `sticker~${hash('vin-A')}.pdf` });
  const after = await stat(plain);
  // The same file, untouched: not rewritten, not renamed over (even with the same bytes).
  expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });
  expect(sha256(await readFile(plain))).toBe(sha256(bodyOf('vin-B')));
  expect(sha256(await readFile(path.join(out, 'site', `sticker~${hash('vin-A')}.pdf`)))).toBe(
    sha256(bodyOf('vin-A')),
  );
  expect(await listDir(path.join(out, 'site'))).toEqual(
    ['sticker.pdf', `sticker~${hash('vin-A')}.pdf`].sort(),
  );
});

it('reads claims from the manifest: last line wins, torn and foreign lines skipped, missing file is empty', async () => {
  const out = await tempDir();
  expect(await readManifestClaims(path.join(out, 'none.jsonl'), out)).toEqual([]);
  const { writeFile } = await import('node:fs/promises');
  const manifest = path.join(out, 'manifest.jsonl');
  await writeFile(
    manifest,
    [
      '{"key":"a","path":"site/x.pdf","bytes":1,"sha256":"s"}',
      'not json',
      '{"key":"","path":"site/y.pdf"}',
      '{"key":"b","path":"site/x.pdf","bytes":1,"sha256":"s"}',
      '{"key":"c","path":"other/z.pdf"}',
      '{"key":"d","pa',
    ].join('\n'),
  );
  expect(await readManifestClaims(manifest, out)).toEqual([
    [path.join(out, 'site', 'x.pdf'), 'b'],
    [path.join(out, 'other', 'z.pdf'), 'c'],
  ]);
});

it('ignores claims outside the folder and rejects claims that are not pairs', async () => {
  const out = await tempDir();
  const dir = path.join(out, 'site');
  const store = makeStore(dir, {
    claims: [
      [path.join(out, 'other', 'sticker.pdf'), 'vin-X'],
      [path.join(dir, 'sub', 'sticker.pdf'), 'vin-X'],
    ],
  });
  open.push(store);
  const saved = await store
    .forJob({ key: 'vin-A', signal: live() })
    .fromBytes(bodyOf('vin-A'), { name: 'sticker.pdf' });
  expect(saved.path).toBe('sticker.pdf');
  expect(() => makeStore(dir, { claims: [[1, 'k']] as unknown as Array<[string, string]> })).toThrow(
    ConfigError,
  );
  expect(() => makeStore(dir, { claims: 5 as unknown as Array<[string, string]> })).toThrow(ConfigError);
});
