// DEMO_COMPRESS over HTTP (node:http, which does not decode): pages and files in the coding the request allows.
import * as zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ENCODINGS } from '../../src/demo/content-encoding.js';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { type RawResponse, rawRequest, signIn } from './portal-client.js';

const started: Portal[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal({ vehicles: 3, ...options });
  started.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

const DECODE: Record<string, (b: Buffer) => Buffer> = {
  br: zlib.brotliDecompressSync,
  gzip: zlib.gunzipSync,
  deflate: zlib.inflateSync,
  zstd: (b) => (zlib as unknown as Record<string, (x: Buffer) => Buffer>).zstdDecompressSync!(b),
};

function get(p: Portal, path: string, cookie: string | undefined, headers: Record<string, string> = {}) {
  return rawRequest(p, path, { headers: { ...headers, ...(cookie ? { cookie } : {}) } });
}

/** The body as the client would read it: decoded as Content-Encoding says, after checking the length. */
function decoded(res: RawResponse): Buffer {
  expect(res.headers['content-length']).toBe(String(res.body.length));
  const coding = res.headers['content-encoding'];
  return coding ? DECODE[coding]!(res.body) : res.body;
}

describe('compress', () => {
  it('sends pages in each coding the request allows, the same page once decoded', async () => {
    const p = await portal({ compress: true });
    const cookie = await signIn(p);
    const plain = await get(p, '/inventory', cookie, { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    for (const coding of ENCODINGS) {
      const res = await get(p, '/inventory', cookie, { 'accept-encoding': coding });
      expect([coding, res.status, res.headers['content-encoding']]).toEqual([coding, 200, coding]);
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(res.body.length).toBeLessThan(plain.body.length / 2);
      expect(decoded(res).equals(plain.body)).toBe(true);
    }
    // Chromium's header gets br; an error page and a HEAD are coded too.
    const chromium = await get(p, '/vehicle/S99999', cookie, {
      'accept-encoding': 'gzip, deflate, br, zstd',
    });
    expect([chromium.status, chromium.headers['content-encoding']]).toEqual([404, 'br']);
    expect(decoded(chromium).toString()).toContain('does not exist');
    const head = await rawRequest(p, '/login', { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } });
    expect(head.headers['content-encoding']).toBe('gzip');
    expect(head.body.length).toBe(0);
  });

  it('sends files coded, with an ETag of their own, 304 for that ETag, and counts the coded bytes', async () => {
    const p = await portal({ compress: true, stickerPadBytes: 0 });
    const cookie = await signIn(p);
    const pdf = stickerPdf(makeVehicles(3, 1)[1]!);
    const path = '/vehicle/S00002/sticker.pdf';
    const plain = await get(p, path, cookie);
    expect(plain.body.equals(pdf)).toBe(true);
    const identityTag = plain.headers.etag!;
    let written = plain.body.length;
    for (const coding of ENCODINGS) {
      const res = await get(p, path, cookie, { 'accept-encoding': coding });
      expect([coding, res.headers['content-encoding'], res.headers.vary]).toEqual([
        coding,
        coding,
        'Accept-Encoding',
      ]);
      expect(decoded(res).equals(pdf)).toBe(true);
      expect(res.headers.etag).toBe(identityTag.replace(/"$/, `-${coding}"`));
      expect(res.headers['content-type']).toBe('application/pdf');
      written += res.body.length;
      const again = await get(p, path, cookie, {
        'accept-encoding': coding,
        'if-none-match': res.headers.etag!,
      });
      expect([again.status, again.body.length]).toEqual([304, 0]);
      // The identity ETag names other bytes than the coded ones.
      const other = await get(p, path, cookie, { 'accept-encoding': coding, 'if-none-match': identityTag });
      expect(other.status).toBe(200);
      written += other.body.length;
    }
    expect(p.stats()).toMatchObject({ fileBodyBytes: written, notModified: ENCODINGS.length });
  });

  it('answers a Range request with identity bytes, whatever the request accepts', async () => {
    const p = await portal({ compress: true, stickerPadBytes: 100_000 });
    const cookie = await signIn(p);
    const pdf = stickerPdf(makeVehicles(3, 1)[0]!, 100_000);
    const path = '/vehicle/S00001/sticker.pdf';
    const coded = await get(p, path, cookie, { 'accept-encoding': 'gzip' });
    const plainTag = (await get(p, path, cookie)).headers.etag!;
    const part = await get(p, path, cookie, {
      'accept-encoding': 'gzip',
      range: 'bytes=1000-',
      'if-range': plainTag,
    });
    expect(part.status).toBe(206);
    expect(part.headers['content-encoding']).toBeUndefined();
    expect(part.headers.vary).toBe('Accept-Encoding');
    expect(part.headers['content-range']).toBe(`bytes 1000-${pdf.length - 1}/${pdf.length}`);
    expect(part.body.equals(pdf.subarray(1000))).toBe(true);
    // Resuming coded bytes against the identity file must not splice them: If-Range with the coded ETag fails,
    // and the whole identity file comes instead.
    const whole = await get(p, path, cookie, {
      'accept-encoding': 'gzip',
      range: 'bytes=1000-',
      'if-range': coded.headers.etag!,
    });
    expect([whole.status, whole.headers['content-encoding']]).toEqual([200, undefined]);
    expect(whole.body.equals(pdf)).toBe(true);
  });

  it('codes the public assets too', async () => {
    const p = await portal({ compress: true, heavy: true });
    for (const path of ['/static/site.css', '/static/heavy.js', '/static/heavy.css']) {
      const res = await get(p, path, undefined, { 'accept-encoding': 'br' });
      expect([path, res.headers['content-encoding'], res.headers['cache-control']]).toEqual([
        path,
        'br',
        'public, max-age=3600',
      ]);
      expect(decoded(res).length).toBeGreaterThan(res.body.length * 2);
    }
  });

  it('is off by default: no coding and no Vary, whatever the request accepts', async () => {
    const p = await portal();
    const cookie = await signIn(p);
    for (const path of ['/inventory', '/vehicle/S00001/sticker.pdf', '/static/site.css']) {
      const res = await get(p, path, cookie, { 'accept-encoding': 'gzip, deflate, br, zstd' });
      expect([path, res.headers['content-encoding'], res.headers.vary]).toEqual([path, undefined, undefined]);
    }
  });
});
