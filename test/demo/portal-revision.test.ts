// DEMO_REVISION and conditional requests over HTTP: a pull, an unchanged refresh that sends no file body, and a
// refresh after setRevision(2) that gets exactly the changed files and misses the removed items.
import { afterEach, describe, expect, it } from 'vitest';
import { cardPng } from '../../src/demo/card-png.js';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { request, rowStocks, signIn } from './portal-client.js';

const started: Portal[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal(options);
  started.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

/** Every stock number the listing shows, following rel=next. */
async function listAll(p: Portal, cookie: string): Promise<string[]> {
  const stocks: string[] = [];
  let path: string | undefined = '/inventory';
  for (let i = 0; path && i < 100; i++) {
    const html = await (await request(p, path, cookie)).text();
    stocks.push(...rowStocks(html));
    path = /<a rel="next" href="([^"]+)"/.exec(html)?.[1];
  }
  return stocks;
}

interface Copy {
  etag: string;
  lastModified: string;
  body: Buffer;
}

async function pull(p: Portal, cookie: string, stock: string): Promise<Copy> {
  const res = await request(p, `/vehicle/${stock}/sticker.pdf`, cookie);
  expect([stock, res.status]).toEqual([stock, 200]);
  return {
    etag: res.headers.get('etag')!,
    lastModified: res.headers.get('last-modified')!,
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** A refresh of one copy: 'unchanged' on a 304 (no body), the new copy on a 200, 'gone' on a 404. */
async function refresh(p: Portal, cookie: string, stock: string, copy: Copy, by: 'etag' | 'date') {
  const headers = by === 'etag' ? { 'if-none-match': copy.etag } : { 'if-modified-since': copy.lastModified };
  const res = await request(p, `/vehicle/${stock}/sticker.pdf`, cookie, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status === 304) {
    expect(body.length).toBe(0);
    expect(res.headers.get('etag')).toBe(copy.etag);
    return 'unchanged';
  }
  if (res.status === 404) return 'gone';
  expect(res.status).toBe(200);
  return { etag: res.headers.get('etag')!, lastModified: res.headers.get('last-modified')!, body };
}

describe('revision and conditional requests', () => {
  it('answers an unchanged refresh with 304s and no file bytes, then serves revision 2 at the same URL', async () => {
    const p = await portal({ vehicles: 100 });
    const cookie = await signIn(p);
    const vehicles = makeVehicles(100, 1);
    const stocks = await listAll(p, cookie);
    expect(stocks).toHaveLength(100);

    const copies = new Map<string, Copy>();
    for (const stock of stocks) copies.set(stock, await pull(p, cookie, stock));
    const pulledBytes = [...copies.values()].reduce((sum, c) => sum + c.body.length, 0);
    expect(p.stats()).toMatchObject({ fileBodyBytes: pulledBytes, notModified: 0 });
    expect(copies.get('S00001')!.lastModified).toBe('Mon, 01 Jan 2024 00:00:00 GMT');

    for (const by of ['etag', 'date'] as const) {
      for (const stock of stocks) {
        expect([stock, await refresh(p, cookie, stock, copies.get(stock)!, by)]).toEqual([
          stock,
          'unchanged',
        ]);
      }
    }
    // 200 refreshes, not one body byte more.
    expect(p.stats()).toMatchObject({ fileBodyBytes: pulledBytes, notModified: 200 });

    p.setRevision(2);
    expect(p.revision).toBe(2);
    const now = await listAll(p, cookie);
    expect(now).toEqual(stocks.filter((s) => s !== 'S00050' && s !== 'S00100'));
    expect(await (await request(p, '/inventory', cookie)).text()).toContain('(98 vehicles)');

    const updated: string[] = [];
    const gone: string[] = [];
    let newBytes = 0;
    for (const [index, stock] of stocks.entries()) {
      const result = await refresh(p, cookie, stock, copies.get(stock)!, 'etag');
      if (result === 'gone') gone.push(stock);
      else if (result !== 'unchanged') {
        updated.push(stock);
        newBytes += result.body.length;
        expect(result.body.equals(stickerPdf(vehicles[index]!, 0, 2))).toBe(true);
        expect(result.body.equals(copies.get(stock)!.body)).toBe(false);
        expect(result.body.toString('latin1')).toContain('(Market adjustment \\(edition 2\\))');
        expect(result.etag).not.toBe(copies.get(stock)!.etag);
        expect(result.lastModified).toBe('Tue, 02 Jan 2024 00:00:00 GMT');
        // By date too: the old Last-Modified is older than the new file.
        const byDate = await refresh(p, cookie, stock, copies.get(stock)!, 'date');
        expect(typeof byDate).toBe('object');
        expect(await refresh(p, cookie, stock, result, 'etag')).toBe('unchanged');
      }
    }
    expect(updated).toEqual(['S00010', 'S00020', 'S00030', 'S00040', 'S00060', 'S00070', 'S00080', 'S00090']);
    expect(gone).toEqual(['S00050', 'S00100']);
    for (const path of ['/vehicle/S00050', '/vehicle/S00100/sticker.pdf']) {
      expect((await request(p, path, cookie)).status).toBe(404);
    }
    expect(rowStocks(await (await request(p, '/inventory?q=S00050', cookie)).text())).toEqual([]);
    // 90 unchanged + 8 re-checked updates answered 304; the updated bodies sent twice (by ETag, by date).
    expect(p.stats()).toMatchObject({ notModified: 200 + 90 + 8, fileBodyBytes: pulledBytes + 2 * newBytes });
  });

  it('changes and removes cards by the same rule', async () => {
    const p = await portal({ vehicles: 1, cards: 50, revision: 2 });
    const cookie = await signIn(p);
    const png = await request(p, '/card/C0010.png', cookie);
    const body = Buffer.from(await png.arrayBuffer());
    expect(body.equals(cardPng('C0010', 2))).toBe(true);
    expect(body.equals(cardPng('C0010'))).toBe(false);
    expect(png.headers.get('last-modified')).toBe('Tue, 02 Jan 2024 00:00:00 GMT');
    const page = await (await request(p, '/card/C0010', cookie)).text();
    p.setRevision(1);
    expect(await (await request(p, '/card/C0010', cookie)).text()).not.toBe(page);
    expect((await request(p, '/card/C0050.png', cookie)).status).toBe(200);
    p.setRevision(2);
    expect((await request(p, '/card/C0050.png', cookie)).status).toBe(404);
    expect((await request(p, '/card/C0050', cookie)).status).toBe(404);
    const list = await (await request(p, '/cards?page=2', cookie)).text();
    expect(list).toContain('(49)');
    expect(list).toContain('/card/C0049');
    expect(list).not.toContain('/card/C0050');
  });

  it('answers HEAD with a 304 too, and counts only bytes really written', async () => {
    const p = await portal({ vehicles: 2, truncateRate: 0 });
    const cookie = await signIn(p);
    const pdf = stickerPdf(makeVehicles(2, 1)[0]!);
    const path = '/vehicle/S00001/sticker.pdf';
    const head = await request(p, path, cookie, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const etag = head.headers.get('etag')!;
    expect(
      (await request(p, path, cookie, { method: 'HEAD', headers: { 'if-none-match': etag } })).status,
    ).toBe(304);
    const range = await request(p, path, cookie, { headers: { range: 'bytes=100-199' } });
    expect((await range.arrayBuffer()).byteLength).toBe(100);
    expect(p.stats()).toMatchObject({ notModified: 1, fileBodyBytes: 100 });

    const cut = await portal({ vehicles: 1, truncateRate: 1 });
    const res = await request(cut, path, await signIn(cut));
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect(cut.stats().fileBodyBytes).toBe(Math.floor(pdf.length / 2));
  });

  it('rejects a revision out of range, naming it, and keeps serving the one it had', async () => {
    const p = await portal({ vehicles: 1, revision: 3 });
    for (const bad of [0, 1.5, 1001, Number.NaN]) {
      expect(() => p.setRevision(bad)).toThrow(RangeError);
      expect(() => p.setRevision(bad)).toThrow('`revision`');
    }
    expect(p.revision).toBe(3);
    expect(p.options.revision).toBe(3);
  });
});
