// Servers that close every connection after its response (`Connection: close`): Debian's nginx with
// `keepalive_timeout 0`, PHP's built-in server, and a bare socket that sends a whole response and its FIN at once.
// Under undici 7 a body over 64 KiB read slower than loopback delivers it paused the parser, and the FIN then
// killed the process with an uncaught `assert(!this.paused)` (nodejs/undici#5360). Every file must arrive whole.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileStore } from '../../src/files/file-store.js';
import { type NginxServer, startNginx } from '../helpers/nginx-server.js';
import { type PhpServer, startPhp } from '../helpers/php-server.js';
import { listDir, makeStore, pdfBytes, removeTempDirs, tempDir } from './helpers.js';

const SIZES = [70_000, 300_000, 2_000_000];
const FILES = 24;
const bodies = Array.from({ length: FILES }, (_, i) => pdfBytes(SIZES[i % SIZES.length]!, i + 1));
let docs: string;
let nginx: NginxServer;
let php: PhpServer;
let raw: Server;
let rawOrigin: string;

beforeAll(async () => {
  docs = await tempDir();
  await mkdir(path.join(docs, 'docs'));
  await Promise.all(bodies.map((body, i) => writeFile(path.join(docs, 'docs', `f${i}.pdf`), body)));
  // The whole response and the FIN in one go, as the undici issue's reproduction does.
  raw = createServer((socket) => {
    socket.once('data', (request) => {
      const i = Number(/GET \/docs\/f(\d+)\.pdf/.exec(request.toString())?.[1]);
      const body = bodies[i]!;
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.end(body);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  rawOrigin = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;
  nginx = await startNginx(`keepalive_timeout 0; location /docs/ { root ${docs}; }`);
  php = await startPhp(docs);
}, 30_000);
afterAll(async () => {
  await nginx?.stop();
  await php?.stop();
  await new Promise((resolve) => raw?.close(resolve));
  await removeTempDirs();
});

/** Fetches every file `parallel` at a time; returns the folder. */
async function pullAll(origin: string, parallel: number): Promise<string> {
  const dir = await tempDir();
  const store: FileStore = makeStore(dir, { connections: parallel, retries: 0, session: false });
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < FILES) {
          const i = next++;
          const files = store.forJob({ key: `k${i}`, signal: new AbortController().signal });
          await files.fetch(`${origin}/docs/f${i}.pdf`, { kind: 'pdf' });
        }
      }),
    );
  } finally {
    await store.close();
  }
  return dir;
}

async function expectAllWhole(dir: string): Promise<void> {
  expect(await listDir(dir)).toEqual(bodies.map((_, i) => `f${i}.pdf`).sort());
  for (const [i, body] of bodies.entries()) {
    expect((await readFile(path.join(dir, `f${i}.pdf`))).equals(body), `f${i}.pdf`).toBe(true);
  }
}

describe.each([1, 8])(
  'files over 64 KiB from a server that closes each connection, %i at a time',
  (parallel) => {
    it('a bare socket sending the response and its FIN together', async () => {
      await expectAllWhole(await pullAll(rawOrigin, parallel));
    });

    it('Debian nginx with keepalive_timeout 0', async () => {
      await expectAllWhole(await pullAll(nginx.origin, parallel));
    });

    it('php -S', async () => {
      await expectAllWhole(await pullAll(php.origin, parallel));
    });
  },
);
