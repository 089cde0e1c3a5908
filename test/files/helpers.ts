// Shared by the file-layer tests: a port-0 HTTP server that records what it saw, a temp folder,
// deterministic PDF bytes and a FileStore with fast retries.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FileStore, type FileStoreOptions } from '../../src/files/file-store.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: number) => void;

/** A server on 127.0.0.1, port 0; `seen` is the 1-based count of requests so far. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A valid-looking PDF of exactly `size` bytes; `seed` changes every byte after the header. */
export function pdfBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  const header = Buffer.from('%PDF-1.7\n');
  header.copy(out, 0, 0, Math.min(size, header.length));
  let x = seed * 2654435761;
  for (let i = header.length; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = 32 + ((x >>> 16) % 90);
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const made: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-files-'));
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Every entry of a folder, sorted: tests assert on exactly what a user would find there. */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** A store writing to `outDir` with near-instant retries and no disk margin unless told. */
export function makeStore(outDir: string, overrides: Partial<FileStoreOptions> = {}): FileStore {
  return new FileStore({
    outDir,
    connections: 4,
    cookies: async () => [],
    retries: 3,
    retryMinTimeoutMs: 5,
    diskMarginBytes: 0,
    ...overrides,
  });
}

/** Resolves with the rejection of `promise` (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('Expected the promise to reject, but it resolved');
}

/** Serves `body` honouring `Range` with an ETag, like a well-behaved static file server. */
export function serveRange(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  options: { etag?: string; cutAfter?: number; honourRange?: boolean } = {},
): void {
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/pdf', 'accept-ranges': 'bytes' };
  if (options.etag !== undefined) headers.etag = options.etag;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  const rangeOk =
    range !== null && options.honourRange !== false && (ifRange === undefined || ifRange === options.etag);
  let start = 0;
  if (rangeOk) {
    start = Number(range[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
  }
  headers['content-length'] = body.length - start;
  res.writeHead(rangeOk ? 206 : 200, headers);
  const slice = body.subarray(start);
  if (options.cutAfter !== undefined && options.cutAfter < slice.length) {
    // Part of the body, then the socket dies right behind it: the bytes and the close arrive together.
    res.write(slice.subarray(0, options.cutAfter), () => res.socket?.destroy());
    return;
  }
  res.end(slice);
}
