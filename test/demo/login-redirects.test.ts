// DEMO_LOGIN_REDIRECTS: a signed-in visitor who opens /login is sent to /inventory; a POST still logs in.
import { afterEach, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { login, request, sessionCookie, signIn } from './portal-client.js';

const started: Portal[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal({ vehicles: 3, ...options });
  started.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

describe('loginRedirects', () => {
  it('redirects a GET or HEAD of /login to /inventory when the session is valid', async () => {
    const p = await portal({ loginRedirects: true });
    const cookie = await signIn(p);
    for (const method of ['GET', 'HEAD']) {
      const res = await request(p, '/login', cookie, { method });
      expect([method, res.status, res.headers.get('location')]).toEqual([method, 302, '/inventory']);
    }
    // Still signed in, and a POST of the form still logs in again, with a new session.
    expect((await request(p, '/inventory', cookie)).status).toBe(200);
    const again = await request(p, '/login', cookie, {
      method: 'POST',
      body: 'username=demo&password=demo-pass',
    });
    expect(again.status).toBe(303);
    expect(sessionCookie(again)).not.toBe(cookie);
    expect(p.stats().logins).toBe(2);
  });

  it('shows the form to a visitor without a valid, licensed session', async () => {
    const p = await portal({ loginRedirects: true });
    const unlicensed = sessionCookie(await login(p))!;
    for (const cookie of [undefined, 'pp_session=forged', unlicensed]) {
      const res = await request(p, '/login', cookie);
      expect([cookie, res.status]).toEqual([cookie, 200]);
      expect(await res.text()).toMatch(/<input[^>]+name="password"/);
    }
  });

  it('is off by default: /login shows the form to a signed-in visitor', async () => {
    const p = await portal();
    const res = await request(p, '/login', await signIn(p));
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<input[^>]+name="password"/);
  });
});
