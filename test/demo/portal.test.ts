import { inflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cardPng } from '../../src/demo/card-png.js';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { checkPdfStructure } from './pdf-structure.js';
import { login, request, rowStocks, sessionCookie, signIn } from './portal-client.js';

const started: Portal[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal(options);
  started.push(p);
  return p;
}
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(started.splice(0).map((p) => p.close()));
});

describe('login and licence', () => {
  it('logs in with the right credentials and refuses wrong ones, counting both', async () => {
    const p = await portal();
    const form = await (await request(p, '/login')).text();
    expect(form).toMatch(/<input[^>]+name="username"/);
    expect(form).toMatch(/<input[^>]+type="password"[^>]+name="password"/);
    expect(form).toContain('<button type="submit">');

    const ok = await login(p);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/licence');
    const setCookie = ok.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/^pp_session=[\w-]{16,}; HttpOnly; Path=\/; SameSite=Lax$/);

    const bad = await login(p, 'demo', 'nope');
    expect(bad.status).toBe(401);
    expect(sessionCookie(bad)).toBeUndefined();
    expect(await bad.text()).toContain('<p class="error">Invalid username or password</p>');
    expect(p.stats()).toMatchObject({ logins: 1, loginFailures: 1 });
  });

  it('escapes what the user typed when it re-renders the form', async () => {
    const p = await portal();
    const html = await (await login(p, '"><script>alert(1)</script>', 'x')).text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('requires the licence before the inventory, and again after every login', async () => {
    const p = await portal();
    const cookie = sessionCookie(await login(p))!;
    const early = await request(p, '/inventory', cookie);
    expect(early.status).toBe(302);
    expect(early.headers.get('location')).toBe('/login');

    const licence = await (await request(p, '/licence', cookie)).text();
    expect(licence).toMatch(/<input type="checkbox" id="accept" name="accept">/);
    expect(licence).toContain('id="accept-licence"');
    const refused = await request(p, '/licence', cookie, { method: 'POST', body: '' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('class="error"');

    const accepted = await request(p, '/licence', cookie, { method: 'POST', body: 'accept=on' });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toBe('/inventory');
    expect((await request(p, '/inventory', cookie)).status).toBe(200);

    const second = sessionCookie(await login(p))!;
    expect(second).not.toBe(cookie);
    expect((await request(p, '/inventory', second)).status).toBe(302);
    expect((await request(p, '/inventory', cookie)).status).toBe(200);
  });

  // Chromium asks for /favicon.ico on the licence page; answering that with a cookie-clearing
  // redirect logged the browser out before it could accept the licence.
  it('keeps the cookie of a session that has not accepted the licence yet', async () => {
    const p = await portal();
    const cookie = sessionCookie(await login(p))!;
    for (const path of ['/favicon.ico', '/inventory', '/vehicle/S00001']) {
      const res = await request(p, path, cookie);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect((await request(p, '/licence', cookie, { method: 'POST', body: 'accept=on' })).status).toBe(303);
    expect((await request(p, '/inventory', cookie)).status).toBe(200);
  });

  it('redirects every private route to /login without a cookie, but not the public ones', async () => {
    const p = await portal();
    for (const path of [
      '/inventory',
      '/vehicle/S00001',
      '/vehicle/S00001/sticker.pdf',
      '/cards',
      '/card/C0001',
      '/card/C0001.png',
      '/nowhere',
    ]) {
      const res = await request(p, path);
      expect([path, res.status, res.headers.get('location')]).toEqual([path, 302, '/login']);
    }
    expect((await request(p, '/licence')).status).toBe(302);
    expect((await request(p, '/', 'pp_session=forged')).headers.get('location')).toBe('/inventory');
    const stale = await request(p, '/inventory', 'pp_session=forged');
    expect(stale.headers.getSetCookie().join()).toContain('Max-Age=0');
    const css = await request(p, '/static/site.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    const stats = await request(p, '/_stats');
    expect(stats.status).toBe(200);
    expect(await stats.json()).toMatchObject({ logins: 0, requests: 12 });
  });

  it('logs out', async () => {
    const p = await portal();
    const cookie = await signIn(p);
    const out = await request(p, '/logout', cookie, { method: 'POST', body: '' });
    expect(out.status).toBe(303);
    expect((await request(p, '/inventory', cookie)).status).toBe(302);
  });

  it('drops a session older than sessionLifetimeMs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const p = await portal({ sessionLifetimeMs: 60_000 });
    const cookie = await signIn(p);
    vi.setSystemTime(new Date('2030-01-01T00:01:00Z'));
    expect((await request(p, '/inventory', cookie)).status).toBe(200);
    vi.setSystemTime(new Date('2030-01-01T00:01:00.001Z'));
    const expired = await request(p, '/inventory', cookie);
    expect(expired.status).toBe(302);
    expect(expired.headers.get('location')).toBe('/login');
    // Deleted, not just refused: going back in time does not bring it back.
    vi.setSystemTime(new Date('2030-01-01T00:00:30Z'));
    expect((await request(p, '/inventory', cookie)).status).toBe(302);
  });
});

describe('sessionIdPrefix', () => {
  it('starts every session cookie value with the prefix, and no prefix by default', async () => {
    const p = await portal({ sessionIdPrefix: 'canary-7_X' });
    for (let i = 0; i < 3; i++) {
      const cookie = sessionCookie(await login(p))!;
      expect(cookie).toMatch(/^pp_session=canary-7_X[\w-]{16,}$/);
    }
    const plain = await portal();
    expect(sessionCookie(await login(plain))).not.toContain('canary');
  });

  it('a prefixed session works like any other', async () => {
    const p = await portal({ sessionIdPrefix: 'SECRET' });
    const cookie = await signIn(p);
    expect(cookie.startsWith('pp_session=SECRET')).toBe(true);
    expect((await request(p, '/inventory', cookie)).status).toBe(200);
  });
});

describe('stats().expiredSessions', () => {
  it('counts each session dropped for its age once, whether a request or the next login finds it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const p = await portal({ sessionLifetimeMs: 60_000 });
    const first = await signIn(p);
    const second = await signIn(p);
    const loggedOut = await signIn(p);
    await request(p, '/logout', loggedOut, { method: 'POST', body: '' });
    expect(p.stats().expiredSessions).toBe(0);

    vi.setSystemTime(new Date('2030-01-01T00:01:00.001Z'));
    // A request with an expired session: dropped and counted once, however often it is presented again.
    expect((await request(p, '/inventory', first)).status).toBe(302);
    expect((await request(p, '/inventory', first)).status).toBe(302);
    expect(p.stats().expiredSessions).toBe(1);
    // The next login sweeps the other expired session; a logged-out one was deleted, not expired.
    await signIn(p);
    expect(p.stats().expiredSessions).toBe(2);
    expect((await request(p, '/inventory', second)).status).toBe(302);
    expect(p.stats().expiredSessions).toBe(2);
    const overHttp = (await (await request(p, '/_stats')).json()) as {
      expiredSessions: number;
      logins: number;
    };
    expect(overHttp).toMatchObject({ expiredSessions: 2, logins: 4 });
  });

  it('stays 0 when sessions never expire', async () => {
    const p = await portal();
    const cookie = await signIn(p);
    await signIn(p);
    expect((await request(p, '/inventory', cookie)).status).toBe(200);
    expect(p.stats().expiredSessions).toBe(0);
  });
});

describe('inventory at 5,000 vehicles', () => {
  let p: Portal;
  let cookie: string;
  beforeAll(async () => {
    p = await startPortal({ vehicles: 5000, seed: 11 });
    cookie = await signIn(p);
  });
  afterAll(() => p.close());

  it('pages through every vehicle exactly once, 25 per page, with rel=next until the last page', async () => {
    const seen: string[] = [];
    let path: string | undefined = '/inventory';
    let pages = 0;
    while (path && pages < 250) {
      const html = await (await request(p, path, cookie)).text();
      pages++;
      expect(html).toContain(`Page ${pages} of 200`);
      expect(html).toContain('<table id="inventory">');
      seen.push(...rowStocks(html));
      path = /<a rel="next" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    }
    expect(pages).toBe(200);
    expect(seen).toEqual(makeVehicles(5000, 11).map((v) => v.stock));
    expect((await request(p, '/inventory?page=201', cookie)).status).toBe(404);
    expect((await request(p, '/inventory?page=zero', cookie)).status).toBe(400);
  });

  it('links each row to its detail page and finds one vehicle by stock number, any case', async () => {
    const first = await (await request(p, '/inventory?page=3', cookie)).text();
    expect(first).toMatch(/<tr data-stock="S00051">[\s\S]*?<a href="\/vehicle\/S00051">View<\/a>/);
    const found = await (await request(p, '/inventory?q=s04321', cookie)).text();
    expect(rowStocks(found)).toEqual(['S04321']);
    expect(found).toMatch(/<form id="search" method="get"[^>]*>[\s\S]*name="q"/);
    const none = await (await request(p, '/inventory?q=S99999', cookie)).text();
    expect(rowStocks(none)).toEqual([]);
    expect(none).toContain('No vehicle matches');
  });
});

describe('vehicles and stickers', () => {
  let p: Portal;
  let cookie: string;
  const vehicle = makeVehicles(40, 5)[36]!;
  const pdf = stickerPdf(vehicle);
  beforeAll(async () => {
    p = await startPortal({ vehicles: 40, seed: 5 });
    cookie = await signIn(p);
  });
  afterAll(() => p.close());

  it('shows a detail page with the sticker link, and 404 for an unknown stock', async () => {
    const res = await request(p, `/vehicle/${vehicle.stock}`, cookie);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain(`<h1>${vehicle.year} ${vehicle.make} ${vehicle.model}</h1>`);
    expect(html).toContain(`<dd class="mono">${vehicle.vin}</dd>`);
    expect(html).toMatch(
      new RegExp(
        `<a id="download-sticker"[^>]*href="/vehicle/${vehicle.stock}/sticker.pdf"[^>]*>Download window sticker</a>`,
      ),
    );
    expect((await request(p, '/vehicle/S99999', cookie)).status).toBe(404);
    expect((await request(p, '/vehicle/S99999/sticker.pdf', cookie)).status).toBe(404);
    expect(p.stats().pagesServed[vehicle.stock]).toBe(1);
  });

  it('serves the sticker as a valid PDF with download headers', async () => {
    const res = await request(p, `/vehicle/${vehicle.stock}/sticker.pdf`, cookie);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(body.equals(pdf)).toBe(true);
    expect(body.subarray(0, 5).toString()).toBe('%PDF-');
    expect(body.subarray(-6).toString()).toBe('%%EOF\n');
    checkPdfStructure(body);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="${vehicle.stock}-window-sticker.pdf"`,
    );
    expect(res.headers.get('content-length')).toBe(String(pdf.length));
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{40}"$/);
    expect(res.headers.get('last-modified')).toBe('Mon, 01 Jan 2024 00:00:00 GMT');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
  });

  it('honours Range, If-Range and answers 416 past the end', async () => {
    const path = `/vehicle/${vehicle.stock}/sticker.pdf`;
    const before = p.stats().filesServed[vehicle.stock] ?? 0;
    const beforeZero = p.stats().filesFromZero[vehicle.stock] ?? 0;
    const beforeResumed = p.stats().filesResumed;
    const etag = (await request(p, path, cookie, { method: 'HEAD' })).headers.get('etag')!;

    const part = await request(p, path, cookie, { headers: { range: 'bytes=10-99' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-99/${pdf.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(pdf.subarray(10, 100))).toBe(true);

    const rest = await request(p, path, cookie, { headers: { range: 'bytes=1000-', 'if-range': etag } });
    expect(rest.status).toBe(206);
    expect(Buffer.from(await rest.arrayBuffer()).equals(pdf.subarray(1000))).toBe(true);

    const byDate = await request(p, path, cookie, {
      headers: { range: 'bytes=1000-', 'if-range': 'Mon, 01 Jan 2024 00:00:00 GMT' },
    });
    expect(byDate.status).toBe(206);
    await byDate.arrayBuffer();

    for (const ifRange of ['"0000"', 'Tue, 02 Jan 2024 00:00:00 GMT', `W/${etag}`]) {
      const full = await request(p, path, cookie, { headers: { range: 'bytes=1000-', 'if-range': ifRange } });
      expect([ifRange, full.status]).toEqual([ifRange, 200]);
      expect(Buffer.from(await full.arrayBuffer()).equals(pdf)).toBe(true);
    }

    const beyond = await request(p, path, cookie, { headers: { range: `bytes=${pdf.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${pdf.length}`);

    const cached = await request(p, path, cookie, { headers: { 'if-none-match': etag } });
    expect(cached.status).toBe(304);
    // Bodies started: the 206s and the 200s, not the HEAD, the 416 or the 304.
    expect(p.stats().filesServed[vehicle.stock]).toBe(before + 6);
    // From byte 0: the three 200s. From a later byte: the three 206s.
    expect(p.stats().filesFromZero[vehicle.stock]).toBe(beforeZero + 3);
    expect(p.stats().filesResumed).toBe(beforeResumed + 3);
  });

  it('pads stickers to stickerPadBytes', async () => {
    const padded = await portal({ vehicles: 3, stickerPadBytes: 200_000 });
    const c = await signIn(padded);
    const body = Buffer.from(await (await request(padded, '/vehicle/S00002/sticker.pdf', c)).arrayBuffer());
    expect(body.length).toBeGreaterThanOrEqual(200_000);
    expect(body.equals(stickerPdf(makeVehicles(3, 1)[1]!, 200_000))).toBe(true);
  });
});

describe('trading cards', () => {
  it('lists cards with pagination, renders a fixed-size card and serves its PNG', async () => {
    const p = await portal({ cards: 30, pageSize: 25 });
    const cookie = await signIn(p);
    const page1 = await (await request(p, '/cards?page=1', cookie)).text();
    expect(page1).toContain('<a href="/card/C0001">C0001</a>');
    expect(page1).toContain('Page 1 of 2');
    expect(page1).toContain('<a rel="next" href="/cards?page=2">');
    const page2 = await (await request(p, '/cards?page=2', cookie)).text();
    expect(page2).toContain('/card/C0030');
    expect(page2).not.toContain('rel="next"');

    const card = await (await request(p, '/card/C0007', cookie)).text();
    expect(card).toMatch(/<div id="card" class="card" data-card="C0007" style="width:240px;height:336px;/);
    expect(card).toContain('C0007');
    expect((await request(p, '/card/C0031', cookie)).status).toBe(404);

    const res = await request(p, '/card/C0007.png', cookie);
    const png = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(png.equals(cardPng('C0007'))).toBe(true);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([240, 336]);
    const idat = png.subarray(41, 41 + png.readUInt32BE(33));
    expect(png.toString('latin1', 37, 41)).toBe('IDAT');
    expect(inflateSync(idat).length).toBe(336 * (240 * 3 + 1));
    expect(p.stats()).toMatchObject({ filesServed: { C0007: 1 }, pagesServed: { C0007: 1 } });
  });
});

describe('faults', () => {
  /** The statuses one item's sticker answers over `n` sequential attempts; a cut body reads as 'cut'. */
  async function statuses(p: Portal, cookie: string, n: number): Promise<(number | string)[]> {
    const out: (number | string)[] = [];
    for (let i = 0; i < n; i++) {
      const res = await request(p, '/vehicle/S00003/sticker.pdf', cookie);
      try {
        await res.arrayBuffer();
        out.push(res.status);
      } catch {
        out.push('cut');
      }
    }
    return out;
  }

  it('repeats the same fault sequence for the same seed, and counts each fault', async () => {
    const faults = { failureRate: 0.3, rateLimitRate: 0.2, truncateRate: 0.2, retryAfterSec: 7 };
    const a = await portal({ ...faults, seed: 21 });
    const b = await portal({ ...faults, seed: 21 });
    const c = await portal({ ...faults, seed: 22 });
    const seqA = await statuses(a, await signIn(a), 16);
    const seqB = await statuses(b, await signIn(b), 16);
    const seqC = await statuses(c, await signIn(c), 16);
    expect(seqB).toEqual(seqA);
    expect(seqC).not.toEqual(seqA);
    expect(new Set(seqA).size).toBeGreaterThan(2);
    const count = (v: number | string) => seqA.filter((s) => s === v).length;
    expect(a.stats()).toMatchObject({
      sent5xx: count(500),
      sent429: count(429),
      truncated: count('cut'),
      filesServed: { S00003: count(200) + count('cut') },
    });
    expect(count(200) + count(500) + count(429) + count('cut')).toBe(16);
  });

  it('sends Retry-After with a 429 and cuts a truncated file after half its bytes', async () => {
    const limited = await portal({ rateLimitRate: 1, retryAfterSec: 7 });
    const res = await request(limited, '/vehicle/S00001', await signIn(limited));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');

    const cut = await portal({ truncateRate: 1 });
    const full = stickerPdf(makeVehicles(1, 1)[0]!);
    const file = await request(cut, '/vehicle/S00001/sticker.pdf', await signIn(cut));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-length')).toBe(String(full.length));
    await expect(file.arrayBuffer()).rejects.toThrow();
    expect(cut.stats()).toMatchObject({ truncated: 1, filesServed: { S00001: 1 } });
  });

  it('answers an HTML-expired file with a 200 "session expired" page, no redirect, the session still valid', async () => {
    const p = await portal({ htmlExpiredRate: 1 });
    const cookie = await signIn(p);
    const res = await request(p, '/vehicle/S00001/sticker.pdf', cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('Your session has expired');
    // Only files get it; the session was never dropped, so the detail page still answers.
    expect((await request(p, '/vehicle/S00001', cookie)).status).toBe(200);
    expect((await request(p, '/card/C0001.png', cookie)).headers.get('content-type')).toMatch(/^text\/html/);
    expect(p.stats()).toMatchObject({ htmlExpired: 2, filesServed: {}, expiredSessions: 0, logins: 1 });
  });

  it('stalls a body after its first KiB, and stalls a resumed range the same way', async () => {
    const p = await portal({ stallRate: 1 });
    const cookie = await signIn(p);
    const pdf = stickerPdf(makeVehicles(1, 1)[0]!);
    const path = '/vehicle/S00001/sticker.pdf';

    /** Reads until at least `bytes` arrived (or the body ended), then drops the connection. */
    async function readSome(res: Response, bytes: number): Promise<Buffer> {
      const reader = res.body!.getReader();
      const chunks: Buffer[] = [];
      let got = 0;
      while (got < bytes) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(Buffer.from(value));
        got += value.byteLength;
      }
      await reader.cancel();
      return Buffer.concat(chunks);
    }

    const first = await request(p, path, cookie);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-length')).toBe(String(pdf.length));
    // The burst, then at least one byte of the trickle: all of it the file's own bytes, and far from the end.
    const head = await readSome(first, 1025);
    expect(head.length).toBeLessThan(pdf.length);
    expect(head.equals(pdf.subarray(0, head.length))).toBe(true);

    const etag = first.headers.get('etag')!;
    const rest = await request(p, path, cookie, { headers: { range: 'bytes=1024-', 'if-range': etag } });
    expect(rest.status).toBe(206);
    const more = await readSome(rest, 1024);
    expect(more.equals(pdf.subarray(1024, 1024 + more.length))).toBe(true);
    expect(p.stats()).toMatchObject({
      stalled: 2,
      filesServed: { S00001: 2 },
      filesFromZero: { S00001: 1 },
      filesResumed: 1,
    });
  });

  it('sends every file body at fileBytesPerSec, whole', async () => {
    const p = await portal({ fileBytesPerSec: 8192, stickerPadBytes: 6000 });
    const pdf = stickerPdf(makeVehicles(1, 1)[0]!, 6000);
    const res = await request(p, '/vehicle/S00001/sticker.pdf', await signIn(p));
    const reader = res.body!.getReader();
    const chunks: Buffer[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
    }
    expect(Buffer.concat(chunks).equals(pdf)).toBe(true);
    // Paced in ticks, not sent in one write.
    expect(chunks.length).toBeGreaterThan(1);
  });

  it('answers every item request 429 during a burst, on the portal clock', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const p = await portal({ rateLimitBurstEveryMs: 10_000, rateLimitBurstMs: 2_000, retryAfterSec: 2 });
    const cookie = await signIn(p);
    const at = async (ms: number, path: string) => {
      vi.setSystemTime(new Date(Date.parse('2030-01-01T00:00:00Z') + ms));
      const res = await request(p, path, cookie);
      await res.arrayBuffer();
      return [res.status, res.headers.get('retry-after')];
    };
    expect(await at(7_999, '/vehicle/S00001')).toEqual([200, null]);
    expect(await at(8_000, '/vehicle/S00001')).toEqual([429, '2']);
    expect(await at(9_000, '/vehicle/S00001/sticker.pdf')).toEqual([429, '2']);
    // Not an item route: the listing goes on.
    expect(await at(9_500, '/inventory')).toEqual([200, null]);
    expect(await at(10_000, '/vehicle/S00001/sticker.pdf')).toEqual([200, null]);
    expect(await at(18_500, '/card/C0001')).toEqual([429, '2']);
    expect(p.stats().sent429).toBe(3);
  });

  it('holds a stuck request until close(), which ends it', async () => {
    const p = await portal({ stuckRate: 1 });
    const cookie = await signIn(p);
    const pending = request(p, '/card/C0001', cookie);
    for (let i = 0; i < 1000 && p.stats().stuck === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(p.stats().stuck).toBe(1);
    const outcome = pending.then(
      () => 'answered',
      () => 'failed',
    );
    await p.close();
    expect(await outcome).toBe('failed');
  });

  it('closes while a request waits out its latency', async () => {
    const p = await portal({ pageLatencyMs: 600_000 });
    const pending = request(p, '/login').then(
      () => 'answered',
      () => 'failed',
    );
    for (let i = 0; i < 1000 && p.stats().requests === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await p.close();
    expect(await pending).toBe('failed');
  });

  it('limits item requests per second with a sliding window', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const p = await portal({ rateLimitPerSec: 2, retryAfterSec: 3 });
    const cookie = await signIn(p);
    const codes: number[] = [];
    for (const path of ['/vehicle/S00001', '/card/C0001', '/vehicle/S00002', '/inventory']) {
      codes.push((await request(p, path, cookie)).status);
    }
    // The inventory is not an item route, so the limiter leaves it alone.
    expect(codes).toEqual([200, 200, 429, 200]);
    vi.setSystemTime(new Date('2030-01-01T00:00:01Z'));
    expect((await request(p, '/vehicle/S00002', cookie)).status).toBe(200);
    expect(p.stats().sent429).toBe(1);
  });
});

describe('startPortal', () => {
  it('rejects a bad option before listening, naming it and its value', async () => {
    await expect(startPortal({ vehicles: -5 })).rejects.toThrow(RangeError);
    await expect(startPortal({ vehicles: -5 })).rejects.toThrow('`vehicles`');
    await expect(startPortal({ vehicles: -5 })).rejects.toThrow('`-5`');
    await expect(startPortal({ host: 7 as unknown as string })).rejects.toThrow(TypeError);
  });

  it('reports its url, port and options, and close() can be called twice', async () => {
    const p = await portal({ cards: 3 });
    expect(p.url).toBe(`http://127.0.0.1:${p.port}`);
    expect(p.port).toBeGreaterThan(0);
    expect(p.options.cards).toBe(3);
    await p.close();
    await p.close();
  });
});
