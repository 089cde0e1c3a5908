// A refresh in the file layer, against the demo portal's real conditional answers: a fetch that held the recorded
// validators gets a 304 and writes nothing; other bytes replace the file atomically, keeping the previous version
// under a name that sorts (--keep-versions); a rendered file is compared by sha256; an old record without
// validators is fetched whole and still compared.
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import type { FileStore } from '../../src/files/file-store.js';
import { versionName, versionStamp } from '../../src/files/file-versions.js';
import type { PreviousFile, SavedFile } from '../../src/files/types.js';
import { signIn } from '../demo/portal-client.js';
import { makeStore, removeTempDirs, sha256, startServer, tempDir } from './helpers.js';

let portal: Portal;
let cookie: string;
const vehicles = makeVehicles(20, 3);
const v10 = vehicles[9]!;
const v11 = vehicles[10]!;

beforeAll(async () => {
  portal = await startPortal({ vehicles: 20, seed: 3 });
  const [name, value] = (await signIn(portal)).split('=') as [string, string];
  cookie = `${name}=${value}`;
});
afterAll(async () => {
  await portal.close();
});
afterEach(async () => {
  portal.setRevision(1);
  await removeTempDirs();
});

const stickerUrl = (stock: string) => `${portal.url}/vehicle/${stock}/sticker.pdf`;
const nameOf = (stock: string) => `${stock}-window-sticker.pdf`;

function store(outDir: string, keepVersions = false): FileStore {
  const [name, value] = cookie.split('=') as [string, string];
  return makeStore(outDir, { cookies: async () => [{ name, value }], keepVersions });
}

async function fetchSticker(
  files: FileStore,
  stock: string,
  previous: readonly PreviousFile[] | null = null,
): Promise<SavedFile> {
  const job = files.forJob({ key: stock, signal: new AbortController().signal, previous });
  return job.fetch(stickerUrl(stock), { kind: 'pdf', name: nameOf(stock) });
}

describe('files.fetch in a refresh', () => {
  it('records the URL and validators; asked again with them, a 304 writes nothing (same inode, same mtime)', async () => {
    const dir = await tempDir();
    const files = store(dir);
    const first = await fetchSticker(files, v10.stock);
    expect(first.http).toEqual({
      url: stickerUrl(v10.stock),
      etag: expect.stringMatching(/^"/),
      lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT',
    });
    expect(first.change).toBeUndefined();
    const file = path.join(dir, nameOf(v10.stock));
    const before = await stat(file);
    const stats = portal.stats();

    const again = await fetchSticker(files, v10.stock, [first]);
    expect(again).toEqual({ ...first, change: 'unchanged' });
    const after = portal.stats();
    expect(after.notModified - stats.notModified).toBe(1);
    expect(after.fileBodyBytes).toBe(stats.fileBodyBytes);
    const now = await stat(file);
    expect({ ino: now.ino, mtimeMs: now.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });
    expect(await readdir(dir)).toEqual([nameOf(v10.stock)]);
    await files.close();
  });

  it('a changed file (revision 2) replaces the old one whole: updated, byte-exact, new validators', async () => {
    const dir = await tempDir();
    const files = store(dir);
    const first = await fetchSticker(files, v10.stock);
    portal.setRevision(2);
    const second = await fetchSticker(files, v10.stock, [first]);
    const bytes = stickerPdf(v10, 0, 2);
    expect(second).toMatchObject({ change: 'updated', bytes: bytes.length, sha256: sha256(bytes) });
    expect(second.http?.etag).not.toBe(first.http?.etag);
    expect(second.kept).toBeUndefined();
    expect((await readFile(path.join(dir, nameOf(v10.stock)))).equals(bytes)).toBe(true);
    expect(await readdir(dir)).toEqual([nameOf(v10.stock)]);
    // Not changed by revision 2: a 304.
    const other = await fetchSticker(files, v11.stock);
    expect((await fetchSticker(files, v11.stock, [other])).change).toBe('unchanged');
    await files.close();
  });

  it('--keep-versions: the previous version keeps a name of its own that lists before the current one', async () => {
    const dir = await tempDir();
    const files = store(dir, true);
    const first = await fetchSticker(files, v10.stock);
    const savedAt = (await stat(path.join(dir, nameOf(v10.stock)))).mtimeMs;
    portal.setRevision(2);
    const second = await fetchSticker(files, v10.stock, [first]);
    const kept = versionName(nameOf(v10.stock), versionStamp(savedAt), 120);
    expect(kept).toMatch(/^S00010-window-sticker\.\d{4}-\d\d-\d\dT\d{6}Z\.pdf$/);
    expect(second.kept).toEqual({ path: kept, bytes: first.bytes, sha256: first.sha256 });
    expect(await readdir(dir)).toEqual([kept, nameOf(v10.stock)].sort());
    expect([kept, nameOf(v10.stock)].sort()).toEqual([kept, nameOf(v10.stock)]);
    expect((await readFile(path.join(dir, kept))).equals(stickerPdf(v10, 0, 1))).toBe(true);
    expect((await readFile(path.join(dir, nameOf(v10.stock)))).equals(stickerPdf(v10, 0, 2))).toBe(true);
    await files.close();
  });

  it('an old record without validators: a plain GET, and the same bytes leave the file untouched', async () => {
    const dir = await tempDir();
    const files = store(dir);
    const first = await fetchSticker(files, v11.stock);
    const { http: _, ...old } = first;
    const file = path.join(dir, nameOf(v11.stock));
    const before = await stat(file);
    const stats = portal.stats();
    const again = await fetchSticker(files, v11.stock, [old]);
    expect(again.change).toBe('unchanged');
    // The body came (no validators to ask with), and nothing was written.
    expect(portal.stats().fileBodyBytes - stats.fileBodyBytes).toBe(first.bytes);
    expect(portal.stats().notModified).toBe(stats.notModified);
    expect(again.http?.etag).toBe(first.http?.etag);
    expect((await stat(file)).ino).toBe(before.ino);
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    await files.close();
  });

  it('a recorded file gone from disk is fetched whole (no 304 for a copy we do not hold) and put back', async () => {
    const dir = await tempDir();
    const files = store(dir);
    const first = await fetchSticker(files, v11.stock);
    await rm(path.join(dir, nameOf(v11.stock)));
    const stats = portal.stats();
    const again = await fetchSticker(files, v11.stock, [first]);
    expect(portal.stats().notModified).toBe(stats.notModified);
    expect(again.change).toBe('unchanged');
    expect((await readFile(path.join(dir, nameOf(v11.stock)))).equals(stickerPdf(v11))).toBe(true);
    await files.close();
  });

  it('validators go only to the URL they came from: a file that moved is fetched whole and compared by sha256', async () => {
    const body = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(500, 7)]);
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf', etag: '"1"' }).end(body);
    });
    const dir = await tempDir();
    const files = makeStore(dir);
    const job = (previous: PreviousFile[] | null) =>
      files.forJob({ key: 'K', signal: new AbortController().signal, previous });
    const first = await job(null).fetch(`${server.origin}/a/doc.pdf`, { name: 'doc.pdf', kind: 'pdf' });
    const moved = await job([first]).fetch(`${server.origin}/b/doc.pdf`, { name: 'doc.pdf', kind: 'pdf' });
    expect(server.requests[1]!.headers['if-none-match']).toBeUndefined();
    expect(moved).toMatchObject({
      change: 'unchanged',
      http: { url: `${server.origin}/b/doc.pdf`, etag: '"1"' },
    });
    await job([moved]).fetch(`${server.origin}/b/doc.pdf`, { name: 'doc.pdf', kind: 'pdf' });
    expect(server.requests[2]!.headers['if-none-match']).toBe('"1"');
    await files.close();
    await server.close();
  });

  it('a file the item did not have before is `added`', async () => {
    const dir = await tempDir();
    const files = store(dir);
    const saved = await fetchSticker(files, v11.stock, []);
    expect(saved.change).toBe('added');
    await files.close();
  });
});

describe('a rendered file in a refresh (fromBytes) is compared by sha256', () => {
  it('the same bytes: unchanged, untouched; other bytes: updated, the old kept with --keep-versions', async () => {
    const dir = await tempDir();
    const files = store(dir, true);
    const png = (seed: number) =>
      Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, seed)]);
    const job = (previous: PreviousFile[] | null) =>
      files.forJob({ key: 'C0001', signal: new AbortController().signal, previous });
    const first = await job(null).fromBytes(png(1), { name: 'C0001.png', kind: 'png' });
    const file = path.join(dir, 'C0001.png');
    const before = await stat(file);
    const same = await job([first]).fromBytes(png(1), { name: 'C0001.png', kind: 'png' });
    expect(same).toEqual({ ...first, change: 'unchanged' });
    expect((await stat(file)).ino).toBe(before.ino);
    expect(await readdir(dir)).toEqual(['C0001.png']);
    const other = await job([first]).fromBytes(png(2), { name: 'C0001.png', kind: 'png' });
    expect(other).toMatchObject({ change: 'updated', sha256: sha256(png(2)) });
    expect(other.kept?.path).toMatch(/^C0001\.\d{4}-\d\d-\d\dT\d{6}Z\.png$/);
    expect((await readFile(path.join(dir, other.kept!.path))).equals(png(1))).toBe(true);
    expect((await readFile(file)).equals(png(2))).toBe(true);
    await files.close();
  });

  it('bytes a stopped run already put in place (not yet recorded) are not kept as a version of themselves', async () => {
    const dir = await tempDir();
    const files = store(dir, true);
    const png = (seed: number) =>
      Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, seed)]);
    const job = (previous: PreviousFile[] | null) =>
      files.forJob({ key: 'C0002', signal: new AbortController().signal, previous });
    const first = await job(null).fromBytes(png(1), { name: 'C0002.png', kind: 'png' });
    // The run before wrote version 2 and was killed before its record: the checkpoint still says version 1.
    await writeFile(path.join(dir, 'C0002.png'), png(2));
    const again = await job([first]).fromBytes(png(2), { name: 'C0002.png', kind: 'png' });
    expect(again.change).toBe('updated');
    expect(again.kept).toBeUndefined();
    expect(await readdir(dir)).toEqual(['C0002.png']);
    await files.close();
  });
});
