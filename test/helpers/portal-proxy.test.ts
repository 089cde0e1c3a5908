// The test proxy's hold: a held request whose client gave up is dropped, so a client's retry is the only one served.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startPortalProxy } from './portal-proxy.js';
import { startStaticServer } from './static-server.js';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

describe('startPortalProxy', () => {
  // Was: the held request was forwarded once released, client or not, so a file whose first request outlived the
  // client's headers timeout was served twice (the abandoned request and the retry).
  it('drops a held request whose client went away; a request still waiting is forwarded once', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'pagepool-proxy-'));
    closers.push(() => rm(folder, { recursive: true, force: true }));
    await writeFile(path.join(folder, 'a.pdf'), '%PDF-1.4\n');
    const upstream = await startStaticServer(folder);
    closers.push(() => upstream.close());
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const proxy = await startPortalProxy(upstream.origin, { hold: () => released });
    closers.push(() => proxy.close());
    const url = `${proxy.url}/docs/a.pdf`;
    // The first client gives up while its request is held; the second waits.
    const given = new AbortController();
    const first = fetch(url, { signal: given.signal }).catch((err: unknown) => err);
    const second = fetch(url);
    for (let i = 0; i < 200 && proxy.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(proxy.requests).toHaveLength(2);
    given.abort();
    expect(await first).toMatchObject({ name: 'AbortError' });
    // The hold ends once the proxy has seen the first client go.
    for (let i = 0; i < 200 && !proxy.requests[0]!.dropped; i++) await new Promise((r) => setTimeout(r, 10));
    expect(proxy.requests.map((r) => r.dropped)).toEqual([true, false]);
    release();
    expect((await second).status).toBe(200);
    expect(upstream.requests).toEqual(['/docs/a.pdf']);
  });
});
