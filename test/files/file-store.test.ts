// FileStore end to end: option validation, hostile names landing inside the folder, name
// collisions between items, and abandoned attempts that must never replace a good file.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Download } from 'playwright';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  classify,
  FileInvalidError,
  PermanentError,
  SessionExpiredError,
} from '../../src/errors.js';
import { FileStore } from '../../src/files/file-store.js';
import {
  listDir,
  makeStore,
  pdfBytes,
  rejection,
  removeTempDirs,
  sha256,
  startServer,
  type TestServer,
  tempDir,
} from './helpers.js';

const open: Array<TestServer | FileStore> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});
afterAll(removeTempDirs);

const live = () => new AbortController().signal;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

describe('options', () => {
  it('reports every bad option at once, naming the field and the value', async () => {
    const err = await rejection(
      (async () =>
        new FileStore({
          outDir: 'relative/dir',
          connections: 0,
          cookies: async () => [],
          retries: -1,
          maxNameLength: 5,
          minSpeedBytesPerSec: -1,
          minSpeedWindowMs: 50,
        }))(),
    );
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('Expected `outDir` to be an absolute path, got `relative/dir`');
    expect(message).toContain('Expected `connections` to be an integer from 1 to 1024, got `0`');
    expect(message).toContain('Expected `retries` to be an integer from 0 to 100, got `-1`');
    expect(message).toContain('Expected `maxNameLength` to be an integer from 16 to 240, got `5`');
    expect(message).toContain(
      'Expected `minSpeedBytesPerSec` to be an integer from 0 to 1073741824, got `-1`',
    );
    expect(message).toContain('Expected `minSpeedWindowMs` to be an integer from 100 to 3600000, got `50`');
  });
});

describe("an adapter's bad input", () => {
  it('fails the item for good with one line naming the item and the problem; nothing is asked or written', async () => {
    const server = await startServer((_req, res) => res.end(pdfBytes(100)));
    open.push(server);
    const dir = await tempDir();
    const store = makeStore(dir);
    open.push(store);
    const files = store.forJob({ key: 'S00042', signal: live() });
    // What an adapter in plain JavaScript (or with a cast) can hand over; each message as the user reads it.
    const cases: Array<[Promise<unknown>, string]> = [
      [
        files.fetch('/docs/a.pdf'),
        'files.fetch() needs an absolute http or https URL, got `/docs/a.pdf` (resolve a relative link: new URL(href, page.url()))',
      ],
      [files.fetch('mailto:a@b.c'), 'files.fetch() needs an absolute http or https URL, got `mailto:a@b.c`'],
      [files.fetch(undefined as never), 'files.fetch() needs an absolute http or https URL, got undefined'],
      [
        files.fetch(`${server.origin}/a.pdf`, { kind: 'docx' as never }),
        "files.fetch() needs `kind` to be 'pdf', 'png', 'jpeg' or 'any', got `docx`",
      ],
      [
        files.fetch(`${server.origin}/a.pdf`, { headers: { 'x-n': 1 } as never }),
        'files.fetch() needs `headers` to be an object of strings, got an object',
      ],
      [
        files.fetch(`${server.origin}/a.pdf`, null as never),
        'files.fetch() needs its options to be an object, got null',
      ],
      [
        files.fromBytes('text' as never, { name: 'a.txt' }),
        'files.fromBytes() needs a Uint8Array or Buffer, got `text`',
      ],
      [
        files.fromBytes(Buffer.from('x'), { name: 7 as never }),
        'files.fromBytes() needs `name` to be a string, got number `7`',
      ],
      [files.fromDownload({} as never), 'files.fromDownload() needs a Playwright Download, got an object'],
      [
        files.screenshot([] as never, { name: 'x.png' }),
        'files.screenshot() needs a Playwright Locator, got an array',
      ],
    ];
    for (const [promise, problem] of cases) {
      const err = await rejection(promise);
      expect(err).toBeInstanceOf(PermanentError);
      expect(classify(err)).toBe('permanent');
      expect((err as Error).message).toBe(`item \`S00042\`: ${problem}`);
    }
    expect(server.requests).toEqual([]);
    expect(await listDir(dir)).toEqual([]);
  });
});

describe('names', () => {
  const hostile = [
    '../../x',
    '..\\x',
    'C:\\x',
    'a\u0000b',
    'CON',
    'con.txt',
    'n'.repeat(300),
    'trail...',
    'été 報告',
    '',
  ];

  it('keeps every hostile name inside the output folder, readable', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'out');
    const store = makeStore(dir);
    open.push(store);
    const saved = [];
    for (const [i, name] of hostile.entries()) {
      const files = store.forJob({ key: `key-${i}`, signal: live() });
      saved.push(await files.fromBytes(Buffer.from(`file ${i}`), { name }));
    }
    const names = saved.map((s) => s.path);
    expect(names).toEqual([
      'x',
      `x~${sha256(Buffer.from('key-1')).slice(0, 8)}`,
      `x~${sha256(Buffer.from('key-2')).slice(0, 8)}`,
      'ab',
      '_CON',
      '_con.txt',
      'n'.repeat(120),
      'trail',
      'été 報告',
      'key-9',
    ]);
    // Nothing escaped to the parent, and each file holds its own bytes.
    expect(await listDir(parent)).toEqual(['out']);
    expect((await listDir(dir)).sort()).toEqual([...names].sort());
    for (const [i, s] of saved.entries()) {
      expect(await readFile(path.join(dir, s.path), 'utf8')).toBe(`file ${i}`);
    }
  });

  it('gives a second key wanting the same name a deterministic suffix; the same key keeps its name', async () => {
    const body = pdfBytes(2_000);
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf' }).end(body);
    });
    const run = async () => {
      const dir = await tempDir();
      const store = makeStore(dir);
      open.push(store);
      const a = await store.forJob({ key: 'vin-A', signal: live() }).fetch(`${server.origin}/a/sticker.pdf`);
      const b = await store.forJob({ key: 'vin-B', signal: live() }).fetch(`${server.origin}/b/sticker.pdf`);
      const again = await store
        .forJob({ key: 'vin-A', signal: live() })
        .fetch(`${server.origin}/a/sticker.pdf`);
      return { a: a.path, b: b.path, again: again.path, files: await listDir(dir) };
    };
    open.push(server);
    const first = await run();
    const hash = sha256(Buffer.from('vin-B')).slice(0, 8);
    expect(first).toEqual({
      a: 'sticker.pdf',
      b: `sticker~${hash}.pdf`,
      again: 'sticker.pdf',
      files: ['sticker.pdf', `sticker~${hash}.pdf`],
    });
    expect(await run()).toEqual(first);
  });

  it('adds the extension of the expected kind when the name has none', async () => {
    const store = makeStore(await tempDir());
    open.push(store);
    const saved = await store
      .forJob({ key: 'card-1', signal: live() })
      .fromBytes(PNG, { name: 'card 1', kind: 'png' });
    expect(saved.path).toBe('card 1.png');
  });
});

describe('fromBytes', () => {
  it('writes the bytes with their sha256 and leaves no temp file', async () => {
    const dir = await tempDir();
    const store = makeStore(dir);
    open.push(store);
    const saved = await store
      .forJob({ key: 'k', signal: live() })
      .fromBytes(PNG, { name: 'c.png', kind: 'png' });
    expect(saved).toEqual({ path: 'c.png', bytes: PNG.length, sha256: sha256(PNG) });
    expect(await listDir(dir)).toEqual(['c.png']);
  });

  it('refuses bytes of the wrong kind, and HTML as session expiry, writing nothing', async () => {
    const dir = await tempDir();
    const store = makeStore(dir);
    open.push(store);
    const files = store.forJob({ key: 'k', signal: live() });
    expect(await rejection(files.fromBytes(PNG, { name: 'x.pdf', kind: 'pdf' }))).toBeInstanceOf(
      FileInvalidError,
    );
    expect(
      await rejection(files.fromBytes(Buffer.from('<html></html>'), { name: 'x.jpg', kind: 'jpeg' })),
    ).toBeInstanceOf(SessionExpiredError);
    expect(await listDir(dir)).toEqual([]);
  });
});

/** A stand-in for Playwright's Download whose saveAs runs `onSave` after writing the bytes. */
function fakeDownload(bytes: Buffer, onSave: () => void = () => {}): Download {
  return {
    suggestedFilename: () => 'sticker.pdf',
    url: () => 'http://127.0.0.1/sticker.pdf',
    saveAs: async (target: string) => {
      await writeFile(target, bytes);
      onSave();
    },
  } as unknown as Download;
}

describe('abandoned attempts', () => {
  it('a late download whose signal aborted before the rename does not replace the good file', async () => {
    const dir = await tempDir();
    const store = makeStore(dir);
    open.push(store);
    const good = pdfBytes(5_000, 1);
    await store.forJob({ key: 'k', signal: live() }).fromDownload(fakeDownload(good), { kind: 'pdf' });

    const late = new AbortController();
    const stale = pdfBytes(5_000, 2);
    // The abort lands while saveAs is still writing: the attempt must notice before renaming.
    const err = await rejection(
      store.forJob({ key: 'k', signal: late.signal }).fromDownload(
        fakeDownload(stale, () => late.abort(new Error('task deadline'))),
        { kind: 'pdf' },
      ),
    );
    expect((err as Error).message).toBe('task deadline');
    expect(sha256(await readFile(path.join(dir, 'sticker.pdf')))).toBe(sha256(good));
    // Its bytes are cleaned up once saveAs settles.
    await expect.poll(() => listDir(dir)).toEqual(['sticker.pdf']);
  });

  it('a late HTTP attempt aborted at the end of its body does not replace the good file', async () => {
    const good = pdfBytes(50_000, 1);
    const stale = pdfBytes(50_000, 2);
    let late: AbortController | undefined;
    const server = await startServer((_req, res, seen) => {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': good.length });
      if (seen === 1) res.end(good);
      else res.end(stale, () => late?.abort(new Error('abandoned')));
    });
    const dir = await tempDir();
    const store = makeStore(dir);
    open.push(server, store);
    await store.forJob({ key: 'k', signal: live() }).fetch(`${server.origin}/d.pdf`, { kind: 'pdf' });
    late = new AbortController();
    await rejection(
      store.forJob({ key: 'k', signal: late.signal }).fetch(`${server.origin}/d.pdf`, { kind: 'pdf' }),
    );
    expect(sha256(await readFile(path.join(dir, 'd.pdf')))).toBe(sha256(good));
  });

  it('two attempts at one item never share a .part: the second waits, both files whole', async () => {
    const v1 = pdfBytes(200_000, 1);
    let release: (() => void) | undefined;
    const server = await startServer((_req, res, seen) => {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': v1.length });
      if (seen === 1) {
        // Hold the first response half-way until the second attempt has been started.
        res.write(v1.subarray(0, 100_000));
        release = () => res.end(v1.subarray(100_000));
      } else {
        res.end(v1);
      }
    });
    const dir = await tempDir();
    const store = makeStore(dir);
    open.push(server, store);
    const first = store
      .forJob({ key: 'k', signal: live() })
      .fetch(`${server.origin}/same.pdf`, { kind: 'pdf' });
    await expect.poll(() => release !== undefined).toBe(true);
    const second = store
      .forJob({ key: 'k', signal: live() })
      .fetch(`${server.origin}/same.pdf`, { kind: 'pdf' });
    // The second cannot have sent its request: it waits for the lock on same.pdf.part.
    await new Promise((r) => setTimeout(r, 100));
    expect(server.requests).toHaveLength(1);
    release?.();
    const [a, b] = await Promise.all([first, second]);
    expect(a.sha256).toBe(sha256(v1));
    expect(b.sha256).toBe(sha256(v1));
    expect(server.requests).toHaveLength(2);
    expect(await listDir(dir)).toEqual(['same.pdf']);
  });
});
