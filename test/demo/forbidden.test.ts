// DEMO_FORBIDDEN_EVERY / DEMO_FORBIDDEN_LISTING: 403 to a logged-in user, with a portal page and the session kept.
import { afterEach, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
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

/** A 403 that is the portal's own page for a signed-in user, not a way back to the login. */
async function expectForbiddenPage(res: Response, what: string): Promise<void> {
  expect([what, res.status]).toEqual([what, 403]);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.getSetCookie()).toEqual([]);
  const html = await res.text();
  expect(html).toContain('You may not see this document');
  expect(html).toContain('id="logout"');
  expect(html).not.toMatch(/name="password"/);
}

describe('forbiddenEvery', () => {
  it('forbids the page and the file of every Nth vehicle and card, and only those', async () => {
    const p = await portal({ vehicles: 7, cards: 4, forbiddenEvery: 3 });
    const cookie = await signIn(p);
    for (const path of [
      '/vehicle/S00003',
      '/vehicle/S00003/sticker.pdf',
      '/vehicle/S00006',
      '/vehicle/S00006/sticker.pdf',
      '/card/C0003',
      '/card/C0003.png',
    ]) {
      await expectForbiddenPage(await request(p, path, cookie), path);
    }
    for (const path of ['/vehicle/S00001', '/vehicle/S00007/sticker.pdf', '/card/C0004.png']) {
      const res = await request(p, path, cookie);
      await res.arrayBuffer();
      expect([path, res.status]).toEqual([path, 200]);
    }
    // The forbidden rows stay in the listing, and the session is still good after all those 403s.
    const listing = await request(p, '/inventory', cookie);
    expect(rowStocks(await listing.text())).toContain('S00003');
    expect(p.stats()).toMatchObject({ sent403: 6, logins: 1, filesServed: { S00007: 1, C0004: 1 } });
    expect(p.stats().pagesServed).toEqual({ S00001: 1 });
  });

  it('answers 403 after the file latency and ahead of any fault', async () => {
    const p = await portal({ vehicles: 2, forbiddenEvery: 2, failureRate: 1 });
    const cookie = await signIn(p);
    expect((await request(p, '/vehicle/S00002/sticker.pdf', cookie)).status).toBe(403);
    expect((await request(p, '/vehicle/S00001/sticker.pdf', cookie)).status).toBe(500);
    expect(p.stats()).toMatchObject({ sent403: 1, sent5xx: 1 });
  });

  it('still sends a visitor without a session to the login', async () => {
    const p = await portal({ vehicles: 3, forbiddenEvery: 1 });
    const res = await request(p, '/vehicle/S00001/sticker.pdf');
    expect([res.status, res.headers.get('location')]).toEqual([302, '/login']);
    expect(p.stats().sent403).toBe(0);
  });
});

describe('forbiddenListing', () => {
  it('forbids every listing page and the search, but not the items', async () => {
    const p = await portal({ vehicles: 30, cards: 3, forbiddenListing: true });
    const cookie = await signIn(p);
    for (const path of [
      '/inventory',
      '/inventory?page=2',
      '/inventory?q=S00001',
      '/cards',
      '/cards?page=1',
    ]) {
      await expectForbiddenPage(await request(p, path, cookie), path);
    }
    expect((await request(p, '/vehicle/S00001', cookie)).status).toBe(200);
    expect((await request(p, '/card/C0001.png', cookie)).status).toBe(200);
    expect((await request(p, '/inventory')).status).toBe(302);
    expect(p.stats()).toMatchObject({ sent403: 5, logins: 1 });
  });

  it('is off by default, like forbiddenEvery', async () => {
    const p = await portal({ vehicles: 3 });
    const cookie = await signIn(p);
    for (const path of ['/inventory', '/cards', '/vehicle/S00003', '/vehicle/S00003/sticker.pdf']) {
      expect((await request(p, path, cookie)).status).toBe(200);
    }
    expect(p.stats().sent403).toBe(0);
  });
});
