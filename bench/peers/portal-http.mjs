// @ts-check
// The demo portal over plain HTTP (undici): log in and accept the licence, read a page with the session's
// cookie, walk the inventory. Used by the HTTP floor, and by the minimal loop for its listing and its files.
import { Agent, request } from 'undici';
import { PASS, USER } from './peer-args.mjs';

/** @param {number} connections */
export function agent(connections) {
  return new Agent({ connections });
}

/**
 * GET `url` with the session cookie; the whole body.
 * @param {Agent} dispatcher
 * @param {string} url
 * @param {string} cookie
 */
export async function get(dispatcher, url, cookie) {
  const res = await request(url, { headers: { cookie }, dispatcher });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body };
}

/**
 * The login form and the licence form, as the browser would post them; resolves with the session cookie.
 * @param {Agent} dispatcher
 * @param {string} baseUrl
 */
export async function httpLogin(dispatcher, baseUrl) {
  /** @param {Record<string, string>} fields */
  const form = (fields) => new URLSearchParams(fields).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const login = await request(`${baseUrl}/login`, {
    method: 'POST',
    headers,
    body: form({ username: USER, password: PASS }),
    dispatcher,
  });
  await login.body.dump();
  const setCookie = login.headers['set-cookie'];
  const cookie = String(Array.isArray(setCookie) ? setCookie[0] : setCookie).split(';')[0] ?? '';
  const licence = await request(`${baseUrl}/licence`, {
    method: 'POST',
    headers: { ...headers, cookie },
    body: form({ accept: 'on' }),
    dispatcher,
  });
  await licence.body.dump();
  if (licence.statusCode !== 303) throw new Error(`licence answered ${licence.statusCode}`);
  return cookie;
}

/**
 * Every vehicle's detail URL, one inventory page read each time the last one's rows are used up: lazy, like a
 * crawler's listing. Safe to share between workers (an async generator queues concurrent `next()` calls).
 * @param {Agent} dispatcher
 * @param {string} baseUrl
 * @param {string} cookie
 * @returns {AsyncGenerator<string>}
 */
export async function* inventory(dispatcher, baseUrl, cookie) {
  for (let n = 1; n < 10_000; n++) {
    const page = await get(dispatcher, `${baseUrl}/inventory?page=${n}`, cookie);
    if (page.status !== 200) throw new Error(`inventory page ${n} answered ${page.status}`);
    const html = page.body.toString();
    for (const m of html.matchAll(/<a href="(\/vehicle\/[^"]+)">View<\/a>/g)) yield `${baseUrl}${m[1]}`;
    if (!html.includes('rel="next"')) return;
  }
}

/**
 * Runs `work` on every value of `source` with `n` workers; resolves with how many there were.
 * @template T
 * @param {Iterator<T> | AsyncIterator<T>} source
 * @param {number} n
 * @param {(item: T, worker: number) => Promise<void>} work
 */
export async function pool(source, n, work) {
  let count = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, worker) => {
      for (;;) {
        const next = await source.next();
        if (next.done) return;
        count += 1;
        await work(next.value, worker);
      }
    }),
  );
  return count;
}
