// Test helper: plain fetch calls against a demo portal, with the session cookie carried by hand.
import type { Portal } from '../../src/demo/portal.js';

/** GET (or `init.method`) without following redirects, sending `cookie` when given. */
export function request(
  portal: Portal,
  path: string,
  cookie?: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (cookie) headers.cookie = cookie;
  if (init.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  return fetch(`${portal.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    redirect: 'manual',
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}

/** The `pp_session=...` pair a response sets, if any. */
export function sessionCookie(res: Response): string | undefined {
  const line = res.headers.getSetCookie().find((c) => c.startsWith('pp_session='));
  return line?.split(';')[0];
}

export async function login(portal: Portal, username = 'demo', password = 'demo-pass'): Promise<Response> {
  const body = new URLSearchParams({ username, password }).toString();
  return request(portal, '/login', undefined, { method: 'POST', body });
}

/** Logs in and accepts the licence; returns the cookie to send. */
export async function signIn(portal: Portal): Promise<string> {
  const res = await login(portal, portal.options.username, portal.options.password);
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new Error(`login failed with ${res.status}`);
  const accepted = await request(portal, '/licence', cookie, { method: 'POST', body: 'accept=on' });
  if (accepted.status !== 303) throw new Error(`licence failed with ${accepted.status}`);
  return cookie;
}

/** The stock numbers of the inventory rows in an HTML page, in order. */
export function rowStocks(html: string): string[] {
  return [...html.matchAll(/<tr data-stock="([^"]+)">/g)].map((m) => m[1]!);
}
