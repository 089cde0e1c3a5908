// `pagepool run` with real Chromium against Debian's nginx on 127.0.0.1: an autoindex listing of 30 PDFs over
// 64 KiB, `keepalive_timeout 0` (every response `Connection: close`, the case that crashed undici 7), once as
// stored and once gzipped (the file requests carry Chromium's Accept-Encoding, so nginx compresses them). Every
// file byte-exact against the one nginx serves from disk, nothing left behind, at 1 and at 8 pages.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type NginxServer, startNginx } from '../helpers/nginx-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { pdfBytes } from './helpers.js';

const ADAPTER = path.resolve(import.meta.dirname, '../sites/fixtures/static-files.ts');
const FILES = 30;
let docs: string;
let plain: NginxServer;
let gzipped: NginxServer;

beforeAll(async () => {
  docs = await tempDir('pagepool-nginx-docs-');
  for (let i = 0; i < FILES; i++) {
    await writeFile(
      path.join(docs, `report ${String(i).padStart(2, '0')}.pdf`),
      pdfBytes(70_000 + i * 8_000, i + 1),
    );
  }
  const site = (extra: string) =>
    `keepalive_timeout 0; location /docs/ { alias ${docs}/; autoindex on; ${extra} }`;
  plain = await startNginx(site(''));
  gzipped = await startNginx(
    site('gzip on; gzip_types application/pdf; gzip_min_length 1; gzip_comp_level 1;'),
  );
}, 30_000);
afterAll(async () => {
  await plain?.stop();
  await gzipped?.stop();
  await removeTempDirs();
});

/** nginx's log lines for PDFs. */
async function pdfLog(server: NginxServer) {
  return (await server.served()).filter((r) => r.uri.endsWith('.pdf'));
}

async function pull(server: NginxServer, pages: number) {
  const cwd = await tempDir();
  const result = await runCli(
    [
      'run',
      '--site',
      ADAPTER,
      '--base-url',
      `${server.origin}/docs`,
      '--concurrency',
      String(pages),
      '--quiet',
    ],
    { cwd, timeoutMs: 120_000 },
  );
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  const out = path.join(cwd, 'downloads', 'static-files');
  const want = (await readdir(docs)).sort();
  // Nothing but the files: no `.part`, no `.part.json`.
  expect((await readdir(out)).sort()).toEqual(want);
  for (const name of want) {
    const [got, original] = await Promise.all([
      readFile(path.join(out, name)),
      readFile(path.join(docs, name)),
    ]);
    expect(got.equals(original), name).toBe(true);
  }
}

describe.each([1, 8])('nginx with keepalive_timeout 0, %i pages', (pages) => {
  it('every PDF byte-exact, each served once with Connection: close', async () => {
    const before = (await pdfLog(plain)).length;
    await pull(plain, pages);
    const served = (await pdfLog(plain)).slice(before);
    expect(served).toHaveLength(FILES);
    for (const line of served)
      expect(line).toMatchObject({ status: 200, connection: 'close', encoding: '-' });
  }, 150_000);

  it('gzip on: every PDF sent gzipped and saved decoded, byte-exact', async () => {
    const before = (await pdfLog(gzipped)).length;
    await pull(gzipped, pages);
    const served = (await pdfLog(gzipped)).slice(before);
    expect(served).toHaveLength(FILES);
    for (const line of served)
      expect(line).toMatchObject({ status: 200, connection: 'close', encoding: 'gzip' });
  }, 150_000);
});
