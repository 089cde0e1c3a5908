// DEMO_TOTP_SECRET: a second factor between the password and the licence, checked against codes computed here
// by hand (node:crypto, RFC 4226/6238), not by the library the portal uses.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { TotpStep } from '../../src/demo/totp-step.js';
import { login, request, sessionCookie } from './portal-client.js';
import { totpCode } from './totp-code.js';

// RFC 6238's SHA-1 test secret, the ASCII string "12345678901234567890", in base32.
const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

const code = (atMs: number, digits = 6): string => totpCode(SECRET, atMs, digits);

const started: Portal[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal({ vehicles: 2, ...options });
  started.push(p);
  return p;
}
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(started.splice(0).map((p) => p.close()));
});

// Mid-step, so that no request crosses into the next 30 s step.
const NOW = Date.UTC(2030, 0, 1, 0, 0, 15);

function sendCode(p: Portal, cookie: string, value: string) {
  return request(p, '/login/code', cookie, {
    method: 'POST',
    body: new URLSearchParams({ code: value }).toString(),
  });
}

describe("the test's own RFC 6238", () => {
  it("gives the RFC's test vectors", () => {
    // RFC 6238 appendix B, SHA-1, 8 digits.
    expect(code(59_000, 8)).toBe('94287082');
    expect(code(1_111_111_109_000, 8)).toBe('07081804');
    expect(code(20_000_000_000_000, 8)).toBe('65353130');
  });
});

describe('TotpStep', () => {
  it('accepts the code of this step and of the steps either side, and nothing else', () => {
    const step = new TotpStep(SECRET.toLowerCase());
    expect(step.accepts(code(NOW), NOW)).toBe(true);
    expect(step.accepts(code(NOW - 30_000), NOW)).toBe(true);
    expect(step.accepts(code(NOW + 30_000), NOW)).toBe(true);
    expect(step.accepts(code(NOW - 60_000), NOW)).toBe(false);
    expect(step.accepts(code(NOW + 60_000), NOW)).toBe(false);
    expect(step.accepts(code(NOW, 8), NOW)).toBe(false);
    expect(step.accepts(` ${code(NOW)}`, NOW)).toBe(false);
  });
});

describe('totpSecret', () => {
  it('asks for the code after the password, then shows the licence', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    const p = await portal({ totpSecret: SECRET });
    const res = await login(p);
    expect([res.status, res.headers.get('location')]).toEqual([303, '/login/code']);
    const cookie = sessionCookie(res)!;

    const form = await (await request(p, '/login/code', cookie)).text();
    expect(form).toMatch(/<input type="text" id="code" name="code" [^>]*autocomplete="one-time-code"/);
    expect(form.match(/<button type="submit">/g)).toHaveLength(1);
    expect(form).toContain('<button type="submit">Verify</button>');
    expect(form).toContain('<code>input[name=code]</code>');
    expect(form).toContain('<code>button[type=submit]</code>');

    // Nothing past the second factor opens before it.
    expect((await request(p, '/licence', cookie)).headers.get('location')).toBe('/login/code');
    expect((await request(p, '/inventory', cookie)).headers.get('location')).toBe('/login');

    const ok = await sendCode(p, cookie, code(NOW));
    expect([ok.status, ok.headers.get('location')]).toEqual([303, '/licence']);
    expect((await request(p, '/licence', cookie, { method: 'POST', body: 'accept=on' })).status).toBe(303);
    expect((await request(p, '/inventory', cookie)).status).toBe(200);
    // Done with the code: the form sends the session on.
    expect((await request(p, '/login/code', cookie)).headers.get('location')).toBe('/licence');
    expect(p.stats()).toMatchObject({ logins: 1, totpFailures: 0 });
  });

  it('refuses a wrong, stale or malformed code with 401 and the form again, counting each', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    const p = await portal({ totpSecret: SECRET });
    const cookie = sessionCookie(await login(p))!;
    const wrong = String((Number(code(NOW)) + 1) % 1_000_000).padStart(6, '0');
    for (const value of [wrong, code(NOW - 60_000), code(NOW + 90_000), '12a456', '', '1234567']) {
      const res = await sendCode(p, cookie, value);
      expect([value, res.status]).toEqual([value, 401]);
      const html = await res.text();
      expect(html).toContain('<p class="error">That code is not valid. Enter the current 6-digit code.</p>');
      expect(html).toMatch(/name="code"/);
    }
    expect((await request(p, '/licence', cookie)).headers.get('location')).toBe('/login/code');
    // The step before and after still count, for clock drift.
    expect((await sendCode(p, cookie, code(NOW - 30_000))).status).toBe(303);
    const other = sessionCookie(await login(p))!;
    expect((await sendCode(p, other, code(NOW + 30_000))).status).toBe(303);
    expect(p.stats()).toMatchObject({ totpFailures: 6, logins: 2 });
  });

  it('sends a visitor without a session to the login, and a wrong password never reaches the code', async () => {
    const p = await portal({ totpSecret: SECRET });
    expect((await request(p, '/login/code')).headers.get('location')).toBe('/login');
    const bad = await login(p, 'demo', 'wrong');
    expect([bad.status, sessionCookie(bad)]).toEqual([401, undefined]);
  });

  it('is off by default: the password leads to the licence, and /login/code to the login', async () => {
    const p = await portal();
    const res = await login(p);
    expect(res.headers.get('location')).toBe('/licence');
    expect((await request(p, '/login/code', sessionCookie(res))).headers.get('location')).toBe('/login');
  });
});
