// File requests look like the page's own (issue 28 point 2), with a real Chromium: the headers read from one of
// its navigations, compressed bodies decoded and checked after decoding, and cookies a file response sets (on a
// redirect too) taken into the browser's context, so the page's next request carries them.
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Browser, BrowserContext } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileInvalidError, PermanentError } from '../../src/errors.js';
import {
  BROWSER_HEADERS,
  browserHeadersFor,
  captureBrowserHeaders,
} from '../../src/files/browser-headers.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import {
  listDir,
  makeStore,
  pdfBytes,
  rejection,
  removeTempDirs,
  serveRange,
  startServer,
  type TestServer,
  tempDir,
} from './helpers.js';

let browser: Browser;
let context: BrowserContext;
let headers: Record<string, string>;
beforeAll(async () => {
  browser = await launchTestBrowser();
  context = await browser.newContext();
  headers = await captureBrowserHeaders(context);
}, 60_000);
const open: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
  await browser?.close();
  await removeTempDirs();
});

async function serve(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(handler);
  open.push(server);
  return server;
}

/** A store sending the captured headers, with the context's cookies both ways. */
async function browserStore() {
  const dir = await tempDir();
  const store = makeStore(dir, {
    headers,
    cookies: (url) => context.cookies(url),
    addCookies: (cookies) => context.addCookies(cookies),
  });
  open.push(store);
  return { dir, files: store.forJob({ key: 'k', signal: new AbortController().signal }) };
}

/** What the browser itself sends to `server` for a navigation (no interception: as it goes over the wire). */
async function pageRequestHeaders(server: TestServer, pathname: string) {
  const page = await context.newPage();
  try {
    await page.goto(`${server.origin}${pathname}`);
  } finally {
    await page.close();
  }
  const seen = server.requests.findLast((r) => r.url === pathname);
  if (!seen) throw new Error(`the page did not request ${pathname}`);
  return seen.headers;
}

describe("the browser's headers", () => {
  it('are read from a real navigation: the User-Agent, Accept, Accept-Encoding and client hints Chromium sends', async () => {
    const server = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>x'),
    );
    const sent = await pageRequestHeaders(server, '/page');
    expect(Object.keys(headers).sort()).toEqual(BROWSER_HEADERS.filter((h) => sent[h] !== undefined).sort());
    for (const name of Object.keys(headers)) expect(headers[name], name).toBe(sent[name]);
    expect(headers['user-agent']).toMatch(/Chrome\//);
    expect(headers['accept-encoding']).toMatch(/gzip/);
    expect(headers['sec-ch-ua']).toMatch(/Chromium/);
  });

  it('go with every file request, redirects included; an adapter header overrides one', async () => {
    const pdf = pdfBytes(80_000);
    const server = await serve((req, res) => {
      if (req.url === '/a.pdf') res.writeHead(302, { location: '/b.pdf' }).end();
      else serveRange(req, res, pdf);
    });
    const { files } = await browserStore();
    await files.fetch(`${server.origin}/a.pdf`, { kind: 'pdf', headers: { Accept: 'application/pdf' } });
    expect(server.requests.map((r) => r.url)).toEqual(['/a.pdf', '/b.pdf']);
    for (const { headers: got } of server.requests) {
      for (const name of Object.keys(headers)) {
        if (name !== 'accept') expect(got[name], name).toBe(headers[name]);
      }
      expect(got.accept).toBe('application/pdf');
    }
  });

  it('leave the client hints out for a plain-http origin that is not loopback, as Chromium does', () => {
    const sent = { 'user-agent': 'UA', 'sec-ch-ua': '"Chromium";v="1"', 'sec-ch-ua-mobile': '?0' };
    expect(browserHeadersFor(new URL('http://portal.example/x'), sent)).toEqual({ 'user-agent': 'UA' });
    expect(browserHeadersFor(new URL('https://portal.example/x'), sent)).toEqual(sent);
    expect(browserHeadersFor(new URL('http://127.0.0.1:8080/x'), sent)).toEqual(sent);
    expect(browserHeadersFor(new URL('http://localhost/x'), sent)).toEqual(sent);
  });
});

const encoders: Record<string, ((b: Buffer) => Buffer) | undefined> = {
  gzip: (b) => zlib.gzipSync(b),
  deflate: (b) => zlib.deflateSync(b),
  br: (b) => zlib.brotliCompressSync(b),
  // Node 20 cannot encode zstd: Debian's zstd does it.
  zstd: (b) => {
    const native = (zlib as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
    if (native) return native(b);
    const out = spawnSync('zstd', ['-c', '-q'], { input: b, maxBuffer: 64 * 1024 * 1024 });
    if (out.status !== 0) throw new Error(`zstd failed: ${out.stderr}`);
    return out.stdout;
  },
};

describe('a compressed body', () => {
  it.each(['gzip', 'deflate', 'br', 'zstd', 'raw deflate'])(
    '%s: decoded, checked as a PDF after decoding, byte-exact',
    async (name) => {
      const pdf = pdfBytes(300_000, name.length);
      const coding = name === 'raw deflate' ? 'deflate' : name;
      const encoded = name === 'raw deflate' ? zlib.deflateRawSync(pdf) : encoders[coding]!(pdf);
      const server = await serve((_req, res) => {
        res.writeHead(200, {
          'content-type': 'application/pdf',
          'content-encoding': coding,
          'content-length': encoded.length,
          etag: '"v1"',
        });
        res.end(encoded);
      });
      const { dir, files } = await browserStore();
      const saved = await files.fetch(`${server.origin}/c.pdf`, { kind: 'pdf' });
      expect(saved.bytes).toBe(pdf.length);
      expect((await readFile(path.join(dir, 'c.pdf'))).equals(pdf)).toBe(true);
      expect(await listDir(dir)).toEqual(['c.pdf']);
    },
  );

  it('cut mid-body is fetched again whole (no Range: the .part holds decoded bytes), byte-exact', async () => {
    const pdf = pdfBytes(400_000, 3);
    const encoded = zlib.gzipSync(pdf, { level: 0 });
    const server = await serve((_req, res, seen) => {
      res.writeHead(200, {
        'content-type': 'application/pdf',
        'content-encoding': 'gzip',
        'content-length': encoded.length,
        etag: '"v1"',
      });
      if (seen === 1) res.write(encoded.subarray(0, 150_000), () => res.socket?.destroy());
      else res.end(encoded);
    });
    const { dir, files } = await browserStore();
    await files.fetch(`${server.origin}/g.pdf`, { kind: 'pdf' });
    expect(server.requests.map((r) => r.headers.range)).toEqual([undefined, undefined]);
    expect((await readFile(path.join(dir, 'g.pdf'))).equals(pdf)).toBe(true);
    expect(await listDir(dir)).toEqual(['g.pdf']);
  });

  it('that does not decode is a FileInvalidError and leaves nothing', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-encoding': 'gzip' });
      res.end(Buffer.concat([zlib.gzipSync(pdfBytes(1000)).subarray(0, 40), Buffer.alloc(500, 7)]));
    });
    const { dir, files } = await browserStore();
    const err = await rejection(files.fetch(`${server.origin}/bad.pdf`, { kind: 'pdf' }));
    expect(err).toBeInstanceOf(FileInvalidError);
    expect((err as Error).message).toMatch(
      new RegExp(`^The gzip body from ${server.origin}/bad.pdf cannot be decoded`),
    );
    expect(await listDir(dir)).toEqual([]);
  });

  it('in an encoding nobody asked for is permanent, one request', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-encoding': 'compress' }).end('xx');
    });
    const { dir, files } = await browserStore();
    const err = await rejection(files.fetch(`${server.origin}/lzw.pdf`, { kind: 'pdf' }));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(
      `${server.origin}/lzw.pdf sent a body pagepool cannot decode (Content-Encoding: compress)`,
    );
    expect(server.requests).toHaveLength(1);
    expect(await listDir(dir)).toEqual([]);
  });
});

describe('cookies a file response sets', () => {
  it('go into the browser context (302 and final response), the next hop and the page carry them', async () => {
    const pdf = pdfBytes(70_000, 9);
    const server = await serve((req, res) => {
      if (req.url === '/files/a.pdf') {
        res.writeHead(302, { location: '/files/b.pdf', 'set-cookie': 'hop=1; Path=/; HttpOnly' }).end();
      } else if (req.url === '/files/b.pdf') {
        res.setHeader('set-cookie', [
          'sid=rotated; Path=/; SameSite=Lax',
          'here=1',
          'gone=; Max-Age=0; Path=/',
        ]);
        serveRange(req, res, pdf);
      } else {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<p>page');
      }
    });
    const host = new URL(server.origin).hostname;
    await context.addCookies([
      { name: 'sid', value: 'old', domain: host, path: '/' },
      { name: 'gone', value: 'x', domain: host, path: '/' },
    ]);
    const { files } = await browserStore();
    await files.fetch(`${server.origin}/files/a.pdf`, { kind: 'pdf' });
    expect(server.requests[1]?.headers.cookie?.split('; ').sort()).toEqual(['gone=x', 'hop=1', 'sid=old']);
    const jar = (await context.cookies()).filter((c) => c.domain === host);
    const byName = Object.fromEntries(jar.map((c) => [c.name, c]));
    expect(byName.sid).toMatchObject({ value: 'rotated', domain: host, path: '/', sameSite: 'Lax' });
    expect(byName.hop).toMatchObject({ value: '1', path: '/', httpOnly: true });
    // No Path: the folder of the URL that set it.
    expect(byName.here).toMatchObject({ value: '1', path: '/files' });
    expect(byName.gone).toBeUndefined();
    const sent = await pageRequestHeaders(server, '/files/next');
    expect(sent.cookie?.split('; ').sort()).toEqual(['here=1', 'hop=1', 'sid=rotated']);
  });

  it('for another domain is dropped, as a browser drops it', async () => {
    const pdf = pdfBytes(10_000, 10);
    const server = await serve((req, res) => {
      res.setHeader('set-cookie', 'evil=1; Domain=portal.example; Path=/');
      serveRange(req, res, pdf);
    });
    const { files } = await browserStore();
    await files.fetch(`${server.origin}/x.pdf`, { kind: 'pdf' });
    expect((await context.cookies()).map((c) => c.name)).not.toContain('evil');
  });
});
