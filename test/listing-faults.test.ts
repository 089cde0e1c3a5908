// A listing page that fails the way any page of a real portal fails now and then (a 503, a 429, a dropped
// connection) is tried again, by the run's own attempt policy: the listing goes on and the run pulls everything.
// Before, any listing error but an expired session ended the run (exit 1) after the rows read so far.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startPortal } from '../src/demo/portal.js';
import { runCli } from './helpers/cli.js';
import { type PortalProxy, startPortalProxy } from './helpers/portal-proxy.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const N = 60; // 3 listing pages of 25
const portal = await startPortal({ vehicles: N });
const proxies: PortalProxy[] = [];
afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  await portal.close();
  await removeTempDirs();
});

const env = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };
const listing = (page: number) => (r: { path: string }) => r.path === `/inventory?page=${page}`;

describe('a listing page that fails', () => {
  it('503 once and 429 once: tried again (the 429 after its Retry-After), every item pulled, exit 0', async () => {
    const answered = new Set<string>();
    const proxy = await startPortalProxy(portal.url, {
      intercept: (req) => {
        const once = (status: number, headers: Record<string, string> = {}) => {
          if (answered.has(req.path)) return undefined;
          answered.add(req.path);
          return { status, headers };
        };
        if (listing(2)(req)) return once(503);
        if (listing(3)(req)) return once(429, { 'retry-after': '2' });
        return undefined;
      },
    });
    proxies.push(proxy);
    const cwd = await tempDir();
    const result = await runCli(
      ['run', '--site', 'demo', '--base-url', proxy.url, '--concurrency', '2', '--quiet'],
      {
        cwd,
        env,
        timeoutMs: 120_000,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const pdfs = (await readdir(path.join(cwd, 'downloads', 'demo'))).filter((f) => f.endsWith('.pdf'));
    expect(pdfs).toHaveLength(N);
    const page3 = proxy.requests.filter(listing(3));
    expect(page3.map((r) => r.status)).toEqual([429, 200]);
    expect(page3[1]!.at - page3[0]!.at).toBeGreaterThanOrEqual(1900);
    // The listing starts again from its first page (an adapter's list() cannot be resumed in the middle), so
    // page 2 is read again after page 3's 429: 503, then 200 twice.
    expect(proxy.requests.filter(listing(2)).map((r) => r.status)).toEqual([503, 200, 200]);
    // Nothing was pulled twice: the rows read before the failure are not queued again.
    const stickers = proxy.requests.filter((r) => /^\/sticker\//.test(r.path) || /\.pdf/.test(r.path));
    expect(new Set(stickers.map((r) => r.path)).size).toBe(stickers.length);
  }, 150_000);

  it('a listing page that always fails ends the run after --retries tries, naming the page (exit 1, rows before it pulled)', async () => {
    const proxy = await startPortalProxy(portal.url, {
      intercept: (req) => (listing(2)(req) ? { status: 503, headers: {} } : undefined),
    });
    proxies.push(proxy);
    const cwd = await tempDir();
    const result = await runCli(
      ['run', '--site', 'demo', '--base-url', proxy.url, '--concurrency', '2', '--retries', '1', '--quiet'],
      { cwd, env, timeoutMs: 120_000 },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/inventory\?page=2/);
    expect(result.stderr).toMatch(/503/);
    // The first try and one retry.
    expect(proxy.requests.filter(listing(2))).toHaveLength(2);
    const pdfs = (await readdir(path.join(cwd, 'downloads', 'demo'))).filter((f) => f.endsWith('.pdf'));
    expect(pdfs).toHaveLength(25);
  }, 150_000);
});
