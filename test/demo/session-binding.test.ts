// DEMO_BIND_SESSION: a session bound to its login's headers; other headers re-validate (slowly, one at a time)
// and rotate the session id.
import { afterEach, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { type RawResponse, rawRequest } from './portal-client.js';

const started: Portal[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal({ vehicles: 5, ...options });
  started.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

const BROWSER = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0',
  'accept-language': 'en-US,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br, zstd',
};
const SCRIPT = { 'user-agent': 'undici', 'accept-encoding': 'identity' };

type Headers = Record<string, string>;

/** GET with exactly these headers (node:http adds only Host and Connection). */
function get(p: Portal, path: string, cookie: string | undefined, headers: Headers) {
  return rawRequest(p, path, { headers: { ...headers, ...(cookie ? { cookie } : {}) } });
}

function setCookie(res: RawResponse): string | undefined {
  return res.headers['set-cookie']?.find((c) => c.startsWith('pp_session='))?.split(';')[0];
}

/** Logs in and accepts the licence sending `headers`; returns the cookie. */
async function signInWith(p: Portal, headers: Headers): Promise<string> {
  const form = { ...headers, 'content-type': 'application/x-www-form-urlencoded' };
  const login = await rawRequest(p, '/login', {
    method: 'POST',
    headers: form,
    body: 'username=demo&password=demo-pass',
  });
  const cookie = setCookie(login)!;
  const licence = await rawRequest(p, '/licence', {
    method: 'POST',
    headers: { ...form, cookie },
    body: 'accept=on',
  });
  expect([login.status, licence.status, setCookie(licence)]).toEqual([303, 303, undefined]);
  return cookie;
}

describe('bindSession', () => {
  it('serves the headers of the login as always, with no re-validation', async () => {
    const p = await portal({ bindSession: true, revalidateMs: 50 });
    const cookie = await signInWith(p, BROWSER);
    for (const path of ['/inventory', '/vehicle/S00001', '/vehicle/S00001/sticker.pdf']) {
      const res = await get(p, path, cookie, BROWSER);
      expect([path, res.status, setCookie(res)]).toEqual([path, 200, undefined]);
    }
    expect(p.stats().revalidations).toBe(0);
  });

  it('re-validates other headers slowly, rotates the id on that response, and logs the old id out', async () => {
    const p = await portal({ bindSession: true, revalidateMs: 200 });
    const old = await signInWith(p, BROWSER);
    const startedAt = performance.now();
    const file = await get(p, '/vehicle/S00001/sticker.pdf', old, SCRIPT);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(199);
    expect(file.status).toBe(200);
    expect(file.body.subarray(0, 5).toString()).toBe('%PDF-');
    const rotated = setCookie(file)!;
    expect(rotated).toMatch(/^pp_session=[\w-]{16,}$/);
    expect(rotated).not.toBe(old);
    expect(file.headers['set-cookie']).toEqual([`${rotated}; HttpOnly; Path=/; SameSite=Lax`]);
    expect(p.stats().revalidations).toBe(1);

    // The browser did not get the new cookie: its next request with the old id is logged out.
    const loggedOut = await get(p, '/inventory', old, BROWSER);
    expect(loggedOut.status).toBe(302);
    expect(loggedOut.headers.location).toBe('/login');
    expect(loggedOut.headers['set-cookie']?.join()).toContain('Max-Age=0');

    // The new id is bound to the headers that got it: they pass at once, the login's headers re-validate.
    const again = await get(p, '/vehicle/S00002/sticker.pdf', rotated, SCRIPT);
    expect([again.status, setCookie(again)]).toEqual([200, undefined]);
    expect(p.stats().revalidations).toBe(1);
    const back = await get(p, '/inventory', rotated, BROWSER);
    expect(back.status).toBe(200);
    expect(setCookie(back)).not.toBe(rotated);
    expect(p.stats()).toMatchObject({ revalidations: 2, logins: 1 });
  });

  it('re-validates one request at a time', async () => {
    const p = await portal({ bindSession: true, revalidateMs: 150 });
    const cookies: string[] = [];
    for (let i = 0; i < 3; i++) cookies.push(await signInWith(p, BROWSER));
    const startedAt = performance.now();
    const done: number[] = [];
    const answers = await Promise.all(
      cookies.map(async (cookie) => {
        const res = await get(p, '/inventory', cookie, SCRIPT);
        done.push(performance.now() - startedAt);
        return res;
      }),
    );
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers.every((r, i) => setCookie(r) !== undefined && setCookie(r) !== cookies[i])).toBe(true);
    // Serialized: the k-th answer comes after k re-validations, not all three after one.
    done.sort((a, b) => a - b);
    expect(done[0]).toBeGreaterThanOrEqual(149);
    expect(done[1]).toBeGreaterThanOrEqual(299);
    expect(done[2]).toBeGreaterThanOrEqual(449);
    expect(p.stats().revalidations).toBe(3);
  });

  it('logs out a request that waited for the lock while its session id was rotated by another', async () => {
    const p = await portal({ bindSession: true, revalidateMs: 100 });
    const old = await signInWith(p, BROWSER);
    const [first, second] = await Promise.all([
      get(p, '/vehicle/S00001/sticker.pdf', old, SCRIPT),
      get(p, '/vehicle/S00002/sticker.pdf', old, SCRIPT),
    ]);
    expect(first.status).toBe(200);
    expect(setCookie(first)).toMatch(/^pp_session=/);
    expect(second.status).toBe(302);
    expect(second.headers.location).toBe('/login');
    expect(p.stats().revalidations).toBe(1);
  });

  it('counts a header the login did not send as empty, so sending it later re-validates', async () => {
    const p = await portal({ bindSession: true, revalidateMs: 0 });
    const cookie = await signInWith(p, { 'user-agent': 'curl/8' });
    expect((await get(p, '/inventory', cookie, { 'user-agent': 'curl/8' })).status).toBe(200);
    const res = await get(p, '/inventory', cookie, { 'user-agent': 'curl/8', 'accept-language': 'de' });
    expect(res.status).toBe(200);
    expect(setCookie(res)).toBeDefined();
    expect(p.stats().revalidations).toBe(1);
  });

  it('is off by default: other headers change nothing', async () => {
    const p = await portal();
    const cookie = await signInWith(p, BROWSER);
    const res = await get(p, '/vehicle/S00001/sticker.pdf', cookie, SCRIPT);
    expect([res.status, setCookie(res)]).toEqual([200, undefined]);
    expect((await get(p, '/inventory', cookie, BROWSER)).status).toBe(200);
    expect(p.stats().revalidations).toBe(0);
  });
});
