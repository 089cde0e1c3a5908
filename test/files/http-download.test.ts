// HTTP downloads through FileStore.fetch against a local server: cuts, resume, status codes,
// session expiry and timeouts, asserted on the bytes on disk and the requests the server saw.
import { mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import {
  classify,
  FileInvalidError,
  PermanentError,
  RateLimitedError,
  SessionExpiredError,
  TransferError,
  TransferTooSlowError,
} from '../../src/errors.js';
import { parseContentRange } from '../../src/files/http-download.js';
import { parseRetryAfter } from '../../src/files/http-status.js';
import { signIn } from '../demo/portal-client.js';
import {
  listDir,
  makeStore,
  pdfBytes,
  rejection,
  removeTempDirs,
  serveRange,
  sha256,
  startServer,
  tempDir,
} from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});
afterAll(removeTempDirs);

// The folder of the latest setup().
let currentDir = '';
const part = (name: string) => path.join(currentDir, `${name}.part`);

async function setup(
  handler: Parameters<typeof startServer>[0],
  overrides: Parameters<typeof makeStore>[1] = {},
) {
  const server = await startServer(handler);
  const dir = await tempDir();
  currentDir = dir;
  const store = makeStore(dir, overrides);
  open.push(server, store);
  const job = new AbortController();
  const files = store.forJob({ key: 'item-1', signal: job.signal });
  return { server, dir, store, files, abort: (reason: unknown) => job.abort(reason) };
}

describe('fetch: cuts and resume', () => {
  it('retries a connection cut mid-body and ends with the whole file (no validator: from zero)', async () => {
    const body = pdfBytes(300_000);
    const { server, dir, files } = await setup((_req, res, seen) => {
      if (seen === 1) {
        res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': body.length });
        res.write(body.subarray(0, 100_000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': body.length }).end(body);
    });
    const saved = await files.fetch(`${server.origin}/docs/report.pdf`, { kind: 'pdf' });
    // The URL is recorded (a refresh asks it again); the server sent no validators to record.
    expect(saved).toEqual({
      path: 'report.pdf',
      bytes: body.length,
      sha256: sha256(body),
      http: { url: `${server.origin}/docs/report.pdf` },
    });
    expect(sha256(await readFile(path.join(dir, 'report.pdf')))).toBe(sha256(body));
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.headers.range).toBeUndefined();
    expect(await listDir(dir)).toEqual(['report.pdf']);
  });

  it('resumes after a cut with Range + If-Range and the file is byte-exact', async () => {
    const body = pdfBytes(400_000, 2);
    const { server, dir, files } = await setup((req, res, seen) =>
      serveRange(req, res, body, {
        etag: '"v1"',
        ...(seen === 1 ? { cutAfter: 150_000 } : {}),
      }),
    );
    const saved = await files.fetch(`${server.origin}/a/b.pdf`, { kind: 'pdf' });
    expect(sha256(await readFile(path.join(dir, 'b.pdf')))).toBe(sha256(body));
    expect(saved.sha256).toBe(sha256(body));
    expect(saved.bytes).toBe(body.length);
    expect(server.requests).toHaveLength(2);
    const second = server.requests[1]?.headers;
    expect(second?.range).toBe('bytes=150000-');
    expect(second?.['if-range']).toBe('"v1"');
    expect(await listDir(dir)).toEqual(['b.pdf']);
  });

  // The bytes before a cut and the close arrive together (the server dies right behind its last write): every
  // byte that came is in the `.part`, and the retry asks for exactly the rest.
  it.each([1, 9, 1000, 65_535, 65_536, 65_537, 150_000, 399_999])(
    'a cut after %i bytes is resumed from exactly that byte (206), byte-exact',
    async (cutAfter) => {
      const body = pdfBytes(400_000, cutAfter);
      const { server, dir, files } = await setup((req, res, seen) =>
        serveRange(req, res, body, { etag: '"v1"', ...(seen === 1 ? { cutAfter } : {}) }),
      );
      const saved = await files.fetch(`${server.origin}/c.pdf`, { kind: 'pdf' });
      expect(server.requests.map((r) => r.headers.range)).toEqual([undefined, `bytes=${cutAfter}-`]);
      expect(saved).toMatchObject({ bytes: body.length, sha256: sha256(body) });
      expect((await readFile(path.join(dir, 'c.pdf'))).equals(body)).toBe(true);
      expect(await listDir(dir)).toEqual(['c.pdf']);
    },
  );

  it('resumes a .part left by an earlier run (new store), hashing the whole file', async () => {
    const body = pdfBytes(200_000, 3);
    const { server, dir } = await setup((req, res) => serveRange(req, res, body, { etag: '"v1"' }));
    const url = `${server.origin}/x/doc.pdf`;
    await writeFile(path.join(dir, 'doc.pdf.part'), body.subarray(0, 70_000));
    await writeFile(
      path.join(dir, 'doc.pdf.part.json'),
      JSON.stringify({ url, etag: '"v1"', length: body.length }),
    );
    const store = makeStore(dir);
    open.push(store);
    const saved = await store
      .forJob({ key: 'k', signal: new AbortController().signal })
      .fetch(url, { kind: 'pdf' });
    expect(server.requests.map((r) => r.headers.range)).toEqual(['bytes=70000-']);
    expect(saved.sha256).toBe(sha256(body));
    expect(sha256(await readFile(path.join(dir, 'doc.pdf')))).toBe(sha256(body));
    expect(await listDir(dir)).toEqual(['doc.pdf']);
  });

  it('restarts from zero when the server ignores Range (200): no splice', async () => {
    const body = pdfBytes(300_000, 4);
    const { server, dir, files } = await setup((req, res, seen) =>
      serveRange(req, res, body, {
        etag: '"v1"',
        honourRange: false,
        ...(seen === 1 ? { cutAfter: 120_000 } : {}),
      }),
    );
    const saved = await files.fetch(`${server.origin}/r.pdf`, { kind: 'pdf' });
    expect(server.requests[1]?.headers.range).toBe('bytes=120000-');
    expect(sha256(await readFile(path.join(dir, 'r.pdf')))).toBe(sha256(body));
    expect(saved.bytes).toBe(body.length);
  });

  it('restarts with the new version when the ETag changed between attempts (If-Range mismatch)', async () => {
    const v1 = pdfBytes(300_000, 5);
    const v2 = pdfBytes(250_000, 6);
    const { server, dir, files } = await setup((req, res, seen) => {
      if (seen === 1) serveRange(req, res, v1, { etag: '"v1"', cutAfter: 100_000 });
      else serveRange(req, res, v2, { etag: '"v2"' });
    });
    const saved = await files.fetch(`${server.origin}/v.pdf`, { kind: 'pdf' });
    expect(server.requests[1]?.headers['if-range']).toBe('"v1"');
    expect(sha256(await readFile(path.join(dir, 'v.pdf')))).toBe(sha256(v2));
    expect(saved).toMatchObject({ bytes: v2.length, sha256: sha256(v2) });
  });

  it('handles 416 on a resume by downloading again from zero', async () => {
    const body = pdfBytes(100_000, 7);
    const { server, dir } = await setup((req, res) => {
      if (req.headers.range !== undefined) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      serveRange(req, res, body, { etag: '"v1"' });
    });
    const url = `${server.origin}/s.pdf`;
    // A stale, longer-than-the-file `.part` from an earlier run.
    await writeFile(path.join(dir, 's.pdf.part'), pdfBytes(150_000, 8));
    await writeFile(path.join(dir, 's.pdf.part.json'), JSON.stringify({ url, etag: '"v1"' }));
    const store = makeStore(dir);
    open.push(store);
    await store.forJob({ key: 'k', signal: new AbortController().signal }).fetch(url, { kind: 'pdf' });
    expect(server.requests.map((r) => r.headers.range)).toEqual(['bytes=150000-', undefined]);
    expect(sha256(await readFile(path.join(dir, 's.pdf')))).toBe(sha256(body));
    expect(await listDir(dir)).toEqual(['s.pdf']);
  });

  it('a `.part` with no `.part.json` (a crash before it) is neither resumed nor left behind', async () => {
    const body = pdfBytes(80_000, 10);
    const { server, dir, files } = await setup(
      (req, res) => {
        // First a 503 (the `.part` must be gone already), then the file.
        if (server.requests.length === 1) res.writeHead(503).end();
        else serveRange(req, res, body, { etag: '"v1"' });
      },
      { retries: 0 },
    );
    const url = `${server.origin}/s.pdf`;
    await writeFile(path.join(dir, 's.pdf.part'), pdfBytes(30_000, 11));
    expect(await rejection(files.fetch(url, { kind: 'pdf' }))).not.toBeInstanceOf(PermanentError);
    expect(await listDir(dir)).toEqual([]);
    await writeFile(path.join(dir, 's.pdf.part'), pdfBytes(30_000, 11));
    await files.fetch(url, { kind: 'pdf' });
    expect(server.requests.map((r) => r.headers.range)).toEqual([undefined, undefined]);
    expect(sha256(await readFile(path.join(dir, 's.pdf')))).toBe(sha256(body));
    expect(await listDir(dir)).toEqual(['s.pdf']);
  });

  it('retries a short body (fewer bytes than Content-Length) and fails after `retries`', async () => {
    const body = pdfBytes(50_000, 9);
    const { server, dir, files } = await setup(
      (_req, res) => {
        // Fewer bytes than promised, then the server hangs up.
        res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': body.length + 10 });
        res.write(body, () => res.socket?.end());
      },
      { retries: 2 },
    );
    const err = await rejection(files.fetch(`${server.origin}/short.pdf`, { kind: 'pdf' }));
    expect(server.requests).toHaveLength(3);
    expect(err).not.toBeInstanceOf(PermanentError);
    expect(await listDir(dir)).toEqual([]);
  });
});

describe('fetch: status codes and session expiry', () => {
  it('an HTML page instead of a PDF -> SessionExpiredError, no file and no .part', async () => {
    const { server, dir, files } = await setup((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><form>login</form>');
    });
    const err = await rejection(files.fetch(`${server.origin}/doc.pdf`, { kind: 'pdf' }));
    expect(err).toBeInstanceOf(SessionExpiredError);
    expect(server.requests).toHaveLength(1);
    expect(await listDir(dir)).toEqual([]);
  });

  it('HTML bytes sent as application/pdf -> SessionExpiredError, nothing on disk', async () => {
    const { server, dir, files } = await setup((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/pdf', etag: '"x"' })
        .end('\n  <html><body>Please log in</body></html>');
    });
    expect(await rejection(files.fetch(`${server.origin}/doc.pdf`, { kind: 'pdf' }))).toBeInstanceOf(
      SessionExpiredError,
    );
    expect(await listDir(dir)).toEqual([]);
  });

  it('kind any still refuses an HTML page unless the name asks for .html', async () => {
    const { server, dir, files } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>page</html>');
    });
    expect(await rejection(files.fetch(`${server.origin}/file.bin`))).toBeInstanceOf(SessionExpiredError);
    const saved = await files.fetch(`${server.origin}/x`, { name: 'page.html' });
    expect(saved.path).toBe('page.html');
    expect(await listDir(dir)).toEqual(['page.html']);
  });

  it('a PDF with the wrong magic bytes is a FileInvalidError, retried, and leaves nothing', async () => {
    const { server, dir, files } = await setup((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/pdf' })
        .end(Buffer.from('PK\u0003\u0004 zip, not pdf'));
    });
    expect(await rejection(files.fetch(`${server.origin}/z.pdf`, { kind: 'pdf' }))).toBeInstanceOf(
      FileInvalidError,
    );
    expect(server.requests).toHaveLength(4);
    expect(await listDir(dir)).toEqual([]);
  });

  it('302 to a login page -> SessionExpiredError, cookies sent on every hop', async () => {
    const { server, dir } = await setup((req, res) => {
      if (req.url === '/doc.pdf') res.writeHead(302, { location: '/login?next=/doc.pdf' }).end();
      else
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><form action=/login></form></html>');
    });
    const store = makeStore(dir, {
      cookies: async () => [{ name: 'sid', value: 'abc' }],
      headers: { 'user-agent': 'pagepool-test' },
    });
    open.push(store);
    const files = store.forJob({ key: 'k', signal: new AbortController().signal });
    expect(await rejection(files.fetch(`${server.origin}/doc.pdf`, { kind: 'pdf' }))).toBeInstanceOf(
      SessionExpiredError,
    );
    expect(server.requests.map((r) => r.url)).toEqual(['/doc.pdf', '/login?next=/doc.pdf']);
    expect(server.requests.every((r) => r.headers.cookie === 'sid=abc')).toBe(true);
    expect(server.requests.every((r) => r.headers['user-agent'] === 'pagepool-test')).toBe(true);
    expect(await listDir(dir)).toEqual([]);
  });

  it('follows a redirect to the real file', async () => {
    const body = pdfBytes(10_000);
    const { server, dir, files } = await setup((req, res) => {
      if (req.url === '/go') res.writeHead(307, { location: '/files/real.pdf' }).end();
      else res.writeHead(200, { 'content-type': 'application/pdf' }).end(body);
    });
    const saved = await files.fetch(`${server.origin}/go`, { kind: 'pdf' });
    expect(sha256(await readFile(path.join(dir, saved.path)))).toBe(sha256(body));
  });

  it('404 -> PermanentError after exactly one request', async () => {
    const { server, files } = await setup((_req, res) => res.writeHead(404).end('nope'));
    expect(await rejection(files.fetch(`${server.origin}/gone.pdf`, { kind: 'pdf' }))).toBeInstanceOf(
      PermanentError,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('410 -> PermanentError after exactly one request', async () => {
    const { server, files } = await setup((_req, res) => res.writeHead(410).end());
    expect(await rejection(files.fetch(`${server.origin}/gone.pdf`))).toBeInstanceOf(PermanentError);
    expect(server.requests).toHaveLength(1);
  });

  it('429: the file waits out its Retry-After and goes again on its own', async () => {
    const body = pdfBytes(5_000);
    const { server, files } = await setup((_req, res, seen) => {
      if (seen <= 2) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(200, { 'content-type': 'application/pdf' }).end(body);
    });
    const started = performance.now();
    const saved = await files.fetch(`${server.origin}/busy.pdf`, { kind: 'pdf' });
    expect(saved.sha256).toBe(sha256(body));
    expect(server.requests).toHaveLength(3);
    // Two Retry-Afters of 1 s (each plus up to a quarter at random).
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_990);
  });

  it('429 after 429: RateLimitedError with retryAfterMs after `rateLimitRetries` waits, for the queue', async () => {
    const { server, files } = await setup((_req, res) => res.writeHead(429, { 'retry-after': '0' }).end(), {
      rateLimitRetries: 4,
    });
    const err = await rejection(files.fetch(`${server.origin}/busy.pdf`));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(0);
    expect(server.requests).toHaveLength(1 + 4);
  });

  it('a Retry-After past `rateLimitWaitMs` (default 30 s) goes to the queue at once: one request', async () => {
    const { server, files } = await setup((_req, res) => res.writeHead(429, { 'retry-after': '60' }).end());
    const err = await rejection(files.fetch(`${server.origin}/busy.pdf`));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(60_000);
    expect(server.requests).toHaveLength(1);
  });

  it('a 429 wait ends with the item: aborted, the fetch rejects at once with the reason', async () => {
    const { server, files, abort } = await setup((_req, res) =>
      res.writeHead(429, { 'retry-after': '20' }).end(),
    );
    const fetching = rejection(files.fetch(`${server.origin}/busy.pdf`));
    for (let i = 0; i < 200 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    // The 429 has been answered and the fetch is in its wait.
    await new Promise((r) => setTimeout(r, 100));
    const reason = new Error('deadline');
    abort(reason);
    expect(await fetching).toBe(reason);
    expect(server.requests).toHaveLength(1);
  });

  it('503 is retried and succeeds when the server recovers', async () => {
    const body = pdfBytes(5_000);
    const { server, files } = await setup((_req, res, seen) => {
      if (seen < 3) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/pdf' }).end(body);
    });
    const saved = await files.fetch(`${server.origin}/flaky.pdf`, { kind: 'pdf' });
    expect(saved.sha256).toBe(sha256(body));
    expect(server.requests).toHaveLength(3);
  });

  it('names the file from Content-Disposition', async () => {
    const { server, dir, files } = await setup((_req, res) => {
      res
        .writeHead(200, {
          'content-type': 'application/pdf',
          'content-disposition': `attachment; filename="fallback.pdf"; filename*=UTF-8''Fen%C3%AAtre%20%C3%A9t%C3%A9.pdf`,
        })
        .end(pdfBytes(1000));
    });
    const saved = await files.fetch(`${server.origin}/download?id=1`, { kind: 'pdf' });
    expect(saved.path).toBe('Fenêtre été.pdf');
    expect(await listDir(dir)).toEqual(['Fenêtre été.pdf']);
  });
});

describe('fetch against the demo portal', () => {
  const vehicle = makeVehicles(1, 1)[0]!;
  const NAME = `${vehicle.stock}-window-sticker.pdf`;

  async function demo(options: Parameters<typeof startPortal>[0]) {
    const portal = await startPortal({ vehicles: 1, ...options });
    open.push(portal);
    const [name, value] = (await signIn(portal)).split('=') as [string, string];
    const dir = await tempDir();
    // Each call is a later attempt: a new store, no retries of its own, a 1 s speed window.
    const fetchOnce = () => {
      const store = makeStore(dir, {
        cookies: async () => [{ name, value }],
        retries: 0,
        minSpeedWindowMs: 1000,
      });
      open.push(store);
      const files = store.forJob({ key: vehicle.stock, signal: new AbortController().signal });
      return files.fetch(`${portal.url}/vehicle/${vehicle.stock}/sticker.pdf`, { kind: 'pdf', name: NAME });
    };
    return { portal, dir, fetchOnce };
  }

  it('a 200 text/html "session expired" page instead of the PDF -> SessionExpiredError (re-login), one request, nothing on disk', async () => {
    const { portal, dir, fetchOnce } = await demo({ htmlExpiredRate: 1 });
    const err = await rejection(fetchOnce());
    expect(err).toBeInstanceOf(SessionExpiredError);
    expect(classify(err)).toBe('relogin');
    expect((err as Error).message).toMatch(/^Expected a pdf from http:\/\/.+, got an HTML page \(text\/html/);
    // Not retried as a corrupt file: the file store leaves the re-login to the queue.
    expect(portal.stats()).toMatchObject({ htmlExpired: 1, filesServed: {} });
    expect(await listDir(dir)).toEqual([]);
  });

  it('a body cut short keeps its bytes in the .part and every retry resumes it: served from byte 0 once', async () => {
    // Every answer, resumed ranges too, is cut after half of what it promised.
    const { portal, dir, fetchOnce } = await demo({ truncateRate: 1 });
    const pdf = stickerPdf(vehicle);
    const sizes: number[] = [];
    for (let i = 0; i < 3; i++) {
      await rejection(fetchOnce());
      const kept = await readFile(path.join(dir, `${NAME}.part`));
      expect(kept.equals(pdf.subarray(0, kept.length))).toBe(true);
      sizes.push(kept.length);
    }
    // Each cut sends half of what it promised. The client keeps every byte it received before the socket
    // dropped; on a very loaded machine the last buffered chunk of a cut can still be lost with the socket, so
    // a retry may gain less than its half, but the part never shrinks and is never fetched from byte 0 again.
    const first = Math.floor(pdf.length / 2);
    expect(sizes[0]).toBeGreaterThan(0);
    expect(sizes[0]).toBeLessThanOrEqual(first);
    expect(sizes[1]).toBeGreaterThanOrEqual(sizes[0]!);
    expect(sizes[2]).toBeGreaterThanOrEqual(sizes[1]!);
    expect(sizes[2]).toBeGreaterThan(sizes[0]!);
    expect(portal.stats()).toMatchObject({
      truncated: 3,
      filesFromZero: { [vehicle.stock]: 1 },
      filesResumed: 2,
    });
  });

  it('keeps the .part of a stalled body through an HTML-expired page and a 429 (waited out), then resumes it: served from byte 0 once', async () => {
    // Seed 452 gives this sticker: stall, html-expired, rate-limit, then a normal answer.
    const { portal, dir, fetchOnce } = await demo({
      seed: 452,
      stallRate: 0.25,
      htmlExpiredRate: 0.25,
      rateLimitRate: 0.25,
    });
    // The inventory follows the seed too, but vehicle 1 keeps its stock number.
    const pdf = stickerPdf(makeVehicles(1, 452)[0]!);
    const kept = [`${NAME}.part`, `${NAME}.part.json`];
    expect(await rejection(fetchOnce())).toBeInstanceOf(TransferTooSlowError);
    expect(await listDir(dir)).toEqual(kept);
    const partSize = (await readFile(path.join(dir, `${NAME}.part`))).length;
    expect(await rejection(fetchOnce())).toBeInstanceOf(SessionExpiredError);
    expect(await listDir(dir)).toEqual(kept);
    expect((await readFile(path.join(dir, `${NAME}.part`))).length).toBe(partSize);
    // The 429 waits out its Retry-After inside the fetch; the answer after it resumes the `.part`.
    const saved = await fetchOnce();
    expect(saved.bytes).toBe(pdf.length);
    expect((await readFile(path.join(dir, NAME))).equals(pdf)).toBe(true);
    expect(await listDir(dir)).toEqual([NAME]);
    expect(portal.stats()).toMatchObject({
      stalled: 1,
      htmlExpired: 1,
      sent429: 1,
      filesFromZero: { [vehicle.stock]: 1 },
      filesResumed: 1,
    });
  }, 60_000);
});

describe('fetch: timeouts and cancellation', () => {
  it('the body-idle timeout fires on a server that stalls after the headers', async () => {
    const { server, dir, files } = await setup(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': 10_000 });
        res.write(pdfBytes(1000)); // then silence, never ending
      },
      { bodyIdleTimeoutMs: 200, retries: 1 },
    );
    const err = await rejection(files.fetch(`${server.origin}/stall.pdf`, { kind: 'pdf' }));
    expect(err).toBeInstanceOf(TransferError);
    expect(err).toMatchObject({ code: 'TRANSFER_FAILED', reason: 'UND_ERR_BODY_TIMEOUT' });
    expect((err as Error).message).toBe(
      `GET ${server.origin}/stall.pdf: the body stalled (no data in time) (UND_ERR_BODY_TIMEOUT) after 1000 of 10000 bytes of stall.pdf; the next attempt starts over (this response cannot be resumed)`,
    );
    expect(server.requests).toHaveLength(2);
    expect(await listDir(dir)).toEqual([]);
  });

  it('the job signal aborts an in-flight download and no retry starts', async () => {
    const controller = new AbortController();
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': 10_000 });
      res.write(pdfBytes(1000), () => controller.abort(new Error('task deadline')));
    });
    const dir = await tempDir();
    const store = makeStore(dir);
    open.push(server, store);
    const err = await rejection(
      store.forJob({ key: 'k', signal: controller.signal }).fetch(`${server.origin}/a.pdf`),
    );
    expect((err as Error).message).toBe('task deadline');
    expect(server.requests).toHaveLength(1);
    expect((await listDir(dir)).filter((n) => !n.endsWith('.part') && !n.endsWith('.json'))).toEqual([]);
  });
});

describe('fetch: a failure inside the HTTP client', () => {
  it("is the item's retryable TransferError naming the URL and the client's code (connection refused)", async () => {
    const gone = await startServer(() => {});
    const origin = gone.origin;
    await gone.close();
    const dir = await tempDir();
    const store = makeStore(dir, { retries: 1 });
    open.push(store);
    const files = store.forJob({ key: 'k', signal: new AbortController().signal });
    const err = await rejection(files.fetch(`${origin}/a.pdf`, { kind: 'pdf' }));
    expect(err).toBeInstanceOf(TransferError);
    expect(err).toMatchObject({
      code: 'TRANSFER_FAILED',
      reason: 'ECONNREFUSED',
      url: `${origin}/a.pdf`,
      chain: [`${origin}/a.pdf`],
    });
    expect((err as Error).message).toBe(`GET ${origin}/a.pdf: connection refused (ECONNREFUSED)`);
    expect(classify(err)).toBe('retry');
    expect(await listDir(dir)).toEqual([]);
  });

  it('after a redirect names the chain that led to the URL that failed', async () => {
    const gone = await startServer(() => {});
    const dead = gone.origin;
    await gone.close();
    const { server, dir, files } = await setup((_req, res) => {
      res.writeHead(302, { location: `${dead}/b.pdf` }).end();
    });
    const err = await rejection(files.fetch(`${server.origin}/a.pdf`, { kind: 'pdf' }));
    expect(err).toMatchObject({
      code: 'TRANSFER_FAILED',
      reason: 'ECONNREFUSED',
      url: `${dead}/b.pdf`,
      chain: [`${server.origin}/a.pdf`, `${dead}/b.pdf`],
    });
    expect((err as Error).message).toBe(
      `GET ${server.origin}/a.pdf -> 302 ${dead}/b.pdf: connection refused (ECONNREFUSED)`,
    );
    expect(await listDir(dir)).toEqual([]);
  });

  it('a status after redirects names the chain too', async () => {
    const { server, files } = await setup((req, res) => {
      if (req.url === '/a.pdf') res.writeHead(301, { location: '/b.pdf' }).end();
      else if (req.url === '/b.pdf') res.writeHead(307, { location: '/c.pdf' }).end();
      else res.writeHead(404).end();
    });
    const err = await rejection(files.fetch(`${server.origin}/a.pdf`, { kind: 'pdf' }));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(
      `${server.origin}/a.pdf -> 301 ${server.origin}/b.pdf -> 307 ${server.origin}/c.pdf does not exist (404)`,
    );
  });

  it('a connection closed mid-body is a TransferError after `retries`, nothing left without a validator', async () => {
    const { server, dir, files } = await setup(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': 200_000 });
        res.write(pdfBytes(100_000), () => res.socket?.destroy());
      },
      { retries: 2 },
    );
    const err = await rejection(files.fetch(`${server.origin}/cut.pdf`, { kind: 'pdf' }));
    expect(err).toBeInstanceOf(TransferError);
    expect((err as TransferError).url).toBe(`${server.origin}/cut.pdf`);
    expect((err as Error).message).toBe(
      `GET ${server.origin}/cut.pdf: the connection closed mid-body (UND_ERR_SOCKET) after 100000 of 200000 bytes of cut.pdf; the next attempt starts over (this response cannot be resumed)`,
    );
    expect(server.requests).toHaveLength(3);
    expect(await listDir(dir)).toEqual([]);
  });

  it('a range answered short (206 with less than its total) says so, keeps the bytes and resumes after them', async () => {
    const body = pdfBytes(200_000, 6);
    const { server, dir, files } = await setup(
      (req, res, seen) => {
        if (seen > 1) return serveRange(req, res, body, { etag: '"v1"' });
        // A server that sends a range in pieces: 70000-119999 of 200000, then the response ends, whole.
        res.writeHead(206, {
          'content-type': 'application/pdf',
          etag: '"v1"',
          'content-range': 'bytes 70000-119999/200000',
          'content-length': 50_000,
        });
        res.end(body.subarray(70_000, 120_000));
      },
      { retries: 0 },
    );
    const url = `${server.origin}/x/doc.pdf`;
    await writeFile(path.join(dir, 'doc.pdf.part'), body.subarray(0, 70_000));
    await writeFile(
      path.join(dir, 'doc.pdf.part.json'),
      JSON.stringify({ url, etag: '"v1"', length: body.length }),
    );
    const err = await rejection(files.fetch(url, { kind: 'pdf' }));
    expect((err as Error).message).toBe(
      `GET ${url}: the body ended after 120000 of 200000 bytes of doc.pdf; the next attempt resumes from byte 120000`,
    );
    const saved = await files.fetch(url, { kind: 'pdf' });
    expect(server.requests.map((r) => r.headers.range)).toEqual(['bytes=70000-', 'bytes=120000-']);
    expect(saved).toMatchObject({ bytes: body.length, sha256: sha256(body) });
  });

  it("a cut download's message says which file, how many bytes of how many came, and that it will resume", async () => {
    const body = pdfBytes(400_000, 5);
    const { server, dir, files } = await setup(
      (req, res, seen) =>
        serveRange(req, res, body, { etag: '"v1"', ...(seen === 1 ? { cutAfter: 150_000 } : {}) }),
      { retries: 0 },
    );
    const url = `${server.origin}/docs/report.pdf`;
    const err = await rejection(files.fetch(url, { kind: 'pdf' }));
    expect(err).toBeInstanceOf(TransferError);
    expect((err as Error).message).toBe(
      `GET ${url}: the connection closed mid-body (UND_ERR_SOCKET) after 150000 of 400000 bytes of report.pdf; the next attempt resumes from byte 150000`,
    );
    // What it says is what happens: the `.part` holds those bytes, and the next attempt asks for the rest.
    expect(await listDir(dir)).toEqual(['report.pdf.part', 'report.pdf.part.json']);
    const saved = await files.fetch(url, { kind: 'pdf' });
    expect(server.requests.map((r) => r.headers.range)).toEqual([undefined, 'bytes=150000-']);
    expect(saved).toMatchObject({ bytes: body.length, sha256: sha256(body) });
  });
});

describe('fetch: nothing left open', () => {
  it('a failure between the headers and the body (here `.part.json` cannot be written) drops the connection', async () => {
    // A body nobody reads holds its connection, and the agent's close() waits for it: a run that stopped for a
    // full disk (ENOSPC writing `.part.json`) never exited. Here the same failure, from a folder in the way.
    const body = pdfBytes(4_000_000);
    let dropped!: Promise<void>;
    const { server, store, files } = await setup((_req, res) => {
      mkdirSync(`${part('report.pdf')}.json`);
      dropped = new Promise((resolve) => res.on('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': body.length, etag: '"v1"' });
      res.end(body);
    });
    const err = await rejection(files.fetch(`${server.origin}/docs/report.pdf`, { kind: 'pdf' }));
    expect((err as NodeJS.ErrnoException).code).toMatch(/^E(IS)?DIR|ERR_FS_EISDIR$/);
    expect(server.requests).toHaveLength(1);
    const within = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms, 'still open'));
    expect(await Promise.race([dropped.then(() => 'dropped'), within(10_000)])).toBe('dropped');
    expect(await Promise.race([store.close().then(() => 'closed'), within(10_000)])).toBe('closed');
  });
});

describe('header parsing', () => {
  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBe(30_000);
  });

  it('parses Content-Range', () => {
    expect(parseContentRange('bytes 100-199/1000')).toEqual({ start: 100, total: 1000 });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ start: 0, total: undefined });
    expect(parseContentRange('items 1-2/3')).toBeUndefined();
  });
});
