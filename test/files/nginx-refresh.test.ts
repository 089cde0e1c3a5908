// A refresh against Debian's nginx on 127.0.0.1 (real ETag and Last-Modified from the file system): pull 12 PDFs,
// then `--refresh-after 0`: every PDF asked with its validators and answered 304 with no body, nothing rewritten
// (same inode, same mtime); one PDF changed on the server: only that one fetched and replaced.
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type NginxServer, startNginx } from '../helpers/nginx-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { pdfBytes } from './helpers.js';

const ADAPTER = path.resolve(import.meta.dirname, '../sites/fixtures/static-files.ts');
const FILES = 12;
const names = Array.from({ length: FILES }, (_, i) => `report ${String(i).padStart(2, '0')}.pdf`);
let docs: string;
let nginx: NginxServer;
let gzipped: NginxServer;
let cwd: string;

beforeAll(async () => {
  docs = await tempDir('pagepool-nginx-docs-');
  for (const [i, name] of names.entries())
    await writeFile(path.join(docs, name), pdfBytes(40_000 + i * 1000, i + 1));
  nginx = await startNginx(`location /docs/ { alias ${docs}/; autoindex on; }`);
  // The file requests carry Chromium's Accept-Encoding: this one sends them gzipped, with a weak ETag.
  gzipped = await startNginx(
    `location /docs/ { alias ${docs}/; autoindex on; gzip on; gzip_types application/pdf; gzip_min_length 1; }`,
  );
  cwd = await tempDir();
}, 30_000);
afterAll(async () => {
  await nginx?.stop();
  await gzipped?.stop();
  await removeTempDirs();
});

const out = () => path.join(cwd, 'downloads', 'static-files');
const pdfLog = async (server = nginx) => (await server.served()).filter((r) => r.uri.endsWith('.pdf'));

function pull(args: string[] = [], server = nginx, folder = cwd) {
  return runCli(
    [
      'run',
      '--site',
      ADAPTER,
      '--base-url',
      `${server.origin}/docs`,
      '--concurrency',
      '4',
      '--quiet',
      ...args,
    ],
    { cwd: folder, timeoutMs: 120_000 },
  );
}

async function files(): Promise<Map<string, { ino: number; mtimeMs: number }>> {
  const map = new Map<string, { ino: number; mtimeMs: number }>();
  for (const name of await readdir(out())) {
    const s = await stat(path.join(out(), name));
    map.set(name, { ino: s.ino, mtimeMs: s.mtimeMs });
  }
  return map;
}

describe('a refresh against nginx', () => {
  it('gzip on (nginx weakens the ETag: W/"..."): the refresh is 304s too', async () => {
    const folder = await tempDir();
    const first = await pull([], gzipped, folder);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const log = await pdfLog(gzipped);
    expect(log.every((l) => l.status === 200 && l.encoding === 'gzip')).toBe(true);
    const manifest = await readFile(path.join(folder, 'downloads', 'manifest.jsonl'), 'utf8');
    expect(manifest).toContain('"etag":"W/');
    const refresh = await pull(['--refresh-after', '0'], gzipped, folder);
    expect({ code: refresh.code, stderr: refresh.stderr }).toEqual({ code: 0, stderr: '' });
    const served = (await pdfLog(gzipped)).slice(log.length);
    expect(served.map((l) => l.status)).toEqual(Array(FILES).fill(304));
  }, 150_000);

  it('pulls, then refreshes with 304s only: no body sent, nothing rewritten', async () => {
    const first = await pull();
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const before = await files();
    expect([...before.keys()].sort()).toEqual(names);
    const logged = (await pdfLog()).length;

    const refresh = await pull(['--refresh-after', '0']);
    expect({ code: refresh.code, stderr: refresh.stderr }).toEqual({ code: 0, stderr: '' });
    const served = (await pdfLog()).slice(logged);
    expect(served).toHaveLength(FILES);
    for (const line of served) expect(line).toMatchObject({ status: 304, bytes: 0 });
    expect(await files()).toEqual(before);
    const report = JSON.parse(
      await readFile(path.join(cwd, 'downloads', '.pagepool', 'report.json'), 'utf8'),
    );
    expect(report.totals).toMatchObject({ done: FILES, unchanged: FILES, updated: 0, bytes: 0 });
  }, 150_000);

  it('one PDF changed on the server: that one fetched and replaced byte-exact, the others 304', async () => {
    const changed = names[3]!;
    const bytes = pdfBytes(40_000 + 3 * 1000, 99);
    await writeFile(path.join(docs, changed), bytes);
    // nginx's ETag is its mtime and size; a second apart makes sure it is a new one.
    const later = new Date(Date.now() + 2000);
    await utimes(path.join(docs, changed), later, later);
    const before = await files();
    const logged = (await pdfLog()).length;

    const refresh = await pull(['--refresh-after', '0']);
    expect({ code: refresh.code, stderr: refresh.stderr }).toEqual({ code: 0, stderr: '' });
    const served = (await pdfLog()).slice(logged);
    expect(served.filter((l) => l.status === 200).map((l) => decodeURIComponent(l.uri))).toEqual([
      `/docs/${changed}`,
    ]);
    expect(served.filter((l) => l.status === 304)).toHaveLength(FILES - 1);
    expect((await readFile(path.join(out(), changed))).equals(bytes)).toBe(true);
    const after = await files();
    for (const name of names) {
      if (name === changed) expect(after.get(name)!.ino).not.toBe(before.get(name)!.ino);
      else expect(after.get(name), name).toEqual(before.get(name));
    }
  }, 150_000);
});
