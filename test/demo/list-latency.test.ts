// DEMO_LIST_LATENCY_MS: the listing pages have a latency of their own; detail pages keep the page latency.
import { afterEach, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { request, signIn } from './portal-client.js';

const started: Portal[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal({ vehicles: 30, cards: 3, ...options });
  started.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

/** Requests all `paths` at once; returns each one's status and ms until its body ended, and their finishing order. */
async function race(p: Portal, cookie: string, paths: string[]) {
  const startedAt = performance.now();
  const order: string[] = [];
  const results = await Promise.all(
    paths.map(async (path) => {
      const res = await request(p, path, cookie);
      await res.arrayBuffer();
      order.push(path);
      return { status: res.status, ms: performance.now() - startedAt };
    }),
  );
  return { results, order };
}

describe('listLatencyMs', () => {
  it('delays every listing page by its own latency, not the page latency', async () => {
    const p = await portal({ pageLatencyMs: 0, listLatencyMs: 500 });
    const cookie = await signIn(p);
    const listings = [
      '/inventory',
      '/inventory?page=2',
      '/inventory?q=S00001',
      '/cards',
      '/inventory?page=9',
    ];
    const { results, order } = await race(p, cookie, [...listings, '/vehicle/S00001']);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 404, 200]);
    for (const r of results.slice(0, listings.length)) expect(r.ms).toBeGreaterThanOrEqual(499);
    // The detail page, asked last, is answered first.
    expect(order[0]).toBe('/vehicle/S00001');
  });

  it('wins over the page latency the other way round too', async () => {
    const p = await portal({ pageLatencyMs: 500, listLatencyMs: 0 });
    const cookie = await signIn(p);
    const { results, order } = await race(p, cookie, ['/vehicle/S00001', '/card/C0001', '/inventory']);
    expect(results[0]!.ms).toBeGreaterThanOrEqual(499);
    expect(results[1]!.ms).toBeGreaterThanOrEqual(499);
    expect(order[0]).toBe('/inventory');
  });

  it('is the page latency when not set', async () => {
    const p = await portal({ pageLatencyMs: 300 });
    expect(p.options.listLatencyMs).toBeNull();
    const cookie = await signIn(p);
    const { results } = await race(p, cookie, ['/inventory', '/cards']);
    for (const r of results) expect(r.ms).toBeGreaterThanOrEqual(299);
  });

  it('also delays a forbidden listing by it', async () => {
    const p = await portal({ listLatencyMs: 400, forbiddenListing: true });
    const cookie = await signIn(p);
    const { results } = await race(p, cookie, ['/inventory']);
    expect(results[0]).toMatchObject({ status: 403 });
    expect(results[0]!.ms).toBeGreaterThanOrEqual(399);
  });
});
