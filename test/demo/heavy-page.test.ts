// DEMO_HEAVY and DEMO_SCRIPT_LINK_EVERY over HTTP: what the heavy page, its script, stylesheet and photos weigh.
import { Script } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { request, signIn } from './portal-client.js';

const started: Portal[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal({ vehicles: 10, ...options });
  started.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

/** Elements in server HTML: start tags (the JSON blob holds no `<`). */
function elements(html: string): number {
  return html.match(/<[a-zA-Z][a-zA-Z0-9]*/g)?.length ?? 0;
}

const STICKER_LINK = /<a id="download-sticker"[^>]*href="\/vehicle\/(S\d+)\/sticker\.pdf"/;

async function get(p: Portal, path: string, cookie?: string, headers: Record<string, string> = {}) {
  const res = await request(p, path, cookie, { headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

describe('heavy', () => {
  it('serves detail pages of about 150 KB and 2,000 elements that keep the sticker link', async () => {
    const p = await portal({ heavy: true });
    const cookie = await signIn(p);
    const sizes: number[] = [];
    for (const stock of ['S00001', 'S00002', 'S00007']) {
      const { res, body } = await get(p, `/vehicle/${stock}`, cookie);
      const html = body.toString();
      expect(res.status).toBe(200);
      sizes.push(body.length);
      expect(body.length).toBeGreaterThan(140_000);
      expect(body.length).toBeLessThan(170_000);
      expect(elements(html)).toBeGreaterThan(1_900);
      expect(elements(html)).toBeLessThan(2_200);
      expect(STICKER_LINK.exec(html)?.[1]).toBe(stock);
      expect(html).toContain('<link rel="stylesheet" href="/static/heavy.css">');
      expect(html).toContain('<script src="/static/heavy.js" defer></script>');
      const photos = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
      expect(photos).toEqual(Array.from({ length: 8 }, (_, i) => `/photos/${stock}/${i + 1}.png`));
    }
    expect(new Set(sizes).size).toBe(3);
    expect(p.stats().pagesServed).toEqual({ S00001: 1, S00002: 1, S00007: 1 });
  });

  it('is the same page for the same seed and vehicle, another for another seed', async () => {
    const a = await portal({ heavy: true, seed: 4 });
    const b = await portal({ heavy: true, seed: 4 });
    const c = await portal({ heavy: true, seed: 5 });
    const page = async (p: Portal, path: string) => (await get(p, path, await signIn(p))).body;
    expect((await page(a, '/vehicle/S00003')).equals(await page(b, '/vehicle/S00003'))).toBe(true);
    expect((await page(a, '/static/heavy.js')).equals(await page(b, '/static/heavy.js'))).toBe(true);
    expect((await page(a, '/vehicle/S00003')).equals(await page(c, '/vehicle/S00003'))).toBe(false);
  });

  it('serves a 200-300 KB script and a 70 KB stylesheet, public and cacheable, 304 when unchanged', async () => {
    const p = await portal({ heavy: true });
    for (const [path, type, min, max] of [
      ['/static/heavy.js', 'text/javascript; charset=utf-8', 200_000, 300_000],
      ['/static/heavy.css', 'text/css; charset=utf-8', 60_000, 80_000],
    ] as const) {
      // No cookie: assets are public, like a CDN's.
      const { res, body } = await get(p, path);
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 200, type]);
      expect(body.length).toBeGreaterThan(min);
      expect(body.length).toBeLessThan(max);
      expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
      const again = await get(p, path, undefined, { 'if-none-match': etag });
      expect([again.res.status, again.body.length]).toEqual([304, 0]);
      if (path.endsWith('.js')) new Script(body.toString(), { filename: path });
    }
    // Assets are not item files: no file counters move.
    expect(p.stats()).toMatchObject({ notModified: 0, fileBodyBytes: 0, filesServed: {} });
  });

  it('serves 8 real PNG photos per vehicle, different for each vehicle, and 404 for others', async () => {
    const p = await portal({ heavy: true });
    const seen = new Set<string>();
    for (const stock of ['S00001', 'S00002']) {
      for (let n = 1; n <= 8; n++) {
        const { res, body } = await get(p, `/photos/${stock}/${n}.png`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('image/png');
        expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
        expect(body.subarray(1, 4).toString()).toBe('PNG');
        expect([body.readUInt32BE(16), body.readUInt32BE(20)]).toEqual([160, 120]);
        seen.add(body.toString('base64'));
      }
    }
    expect(seen.size).toBe(16);
    for (const path of ['/photos/S00001/9.png', '/photos/S00001/0.png', '/photos/S99999/1.png']) {
      expect((await get(p, path)).res.status).toBe(404);
    }
  });

  it('is off by default: a light page, and no heavy assets', async () => {
    const p = await portal();
    const cookie = await signIn(p);
    const { body } = await get(p, '/vehicle/S00001', cookie);
    expect(body.length).toBeLessThan(5_000);
    expect(body.toString()).not.toContain('heavy');
    expect((await get(p, '/static/heavy.js', cookie)).res.status).toBe(404);
    expect((await get(p, '/photos/S00001/1.png', cookie)).res.status).toBe(404);
  });
});

describe('scriptLinkEvery', () => {
  for (const heavy of [false, true]) {
    it(`leaves the sticker link of every Nth vehicle to a script (${heavy ? 'heavy' : 'light'} pages)`, async () => {
      const p = await portal({ heavy, scriptLinkEvery: 3 });
      const cookie = await signIn(p);
      for (const [stock, byScript] of [
        ['S00001', false],
        ['S00003', true],
        ['S00005', false],
        ['S00006', true],
      ] as const) {
        const html = (await get(p, `/vehicle/${stock}`, cookie)).body.toString();
        if (byScript) {
          expect(html, stock).not.toMatch(/<a[^>]*download-sticker/);
          expect(html, stock).not.toContain('sticker.pdf');
          expect(html, stock).toContain('<p id="sticker-slot"></p>');
          expect(html, stock).toContain(`encodeURIComponent("${stock}")`);
        } else {
          expect(STICKER_LINK.exec(html)?.[1], stock).toBe(stock);
          expect(html, stock).not.toContain('sticker-slot');
        }
      }
      // The sticker itself is served as always.
      expect((await get(p, '/vehicle/S00003/sticker.pdf', cookie)).res.status).toBe(200);
    });
  }
});
