// Cookies a file response sets (Set-Cookie, redirects included), as the browser context takes them: files and
// pages stay one session, as they would in the browser that fetched both.
import type { BrowserContext } from 'playwright';
import { undici } from '../lazy-deps.js';

/** One cookie as `context.addCookies()` takes it. */
export type BrowserCookie = Parameters<BrowserContext['addCookies']>[0][number];

/**
 * The cookies of `setCookie` headers received from `url`, with RFC 6265's defaults: no Domain is a host-only
 * cookie, no Path is the URL's folder, Max-Age over Expires, Max-Age <= 0 deletes (an expiry in the past). A
 * cookie for a domain `url` is not in is dropped, as a browser drops it.
 */
export function cookiesFromResponse(url: URL, setCookie: readonly string[]): BrowserCookie[] {
  const out: BrowserCookie[] = [];
  for (const line of setCookie) {
    const parsed = undici().parseCookie(line);
    if (parsed === null || parsed.name === '') continue;
    const host = url.hostname;
    const domain = parsed.domain?.replace(/^\./, '').toLowerCase();
    if (domain !== undefined && domain !== host && !host.endsWith(`.${domain}`)) continue;
    const cookie: BrowserCookie = {
      name: parsed.name,
      value: parsed.value,
      // A Domain equal to the host (always so for an IP) is kept host-only: the browser cannot widen it.
      domain: domain === undefined || domain === host ? host : `.${domain}`,
      path: parsed.path?.startsWith('/') ? parsed.path : defaultPath(url),
    };
    const expires = expiry(parsed);
    if (expires !== undefined) cookie.expires = expires;
    if (parsed.secure) cookie.secure = true;
    if (parsed.httpOnly) cookie.httpOnly = true;
    if (parsed.sameSite !== undefined) cookie.sameSite = parsed.sameSite;
    out.push(cookie);
  }
  return out;
}

/** Seconds since the epoch, 1 (long past: deletes) for a Max-Age <= 0, undefined for a session cookie. */
function expiry(cookie: { maxAge?: number; expires?: Date | number }): number | undefined {
  if (cookie.maxAge !== undefined) return cookie.maxAge <= 0 ? 1 : Date.now() / 1000 + cookie.maxAge;
  if (cookie.expires === undefined) return undefined;
  const ms = cookie.expires instanceof Date ? cookie.expires.getTime() : cookie.expires;
  return Number.isFinite(ms) ? Math.max(1, ms / 1000) : undefined;
}

/** RFC 6265 5.1.4: the request path up to, not including, its last `/` (`/` at least). */
function defaultPath(url: URL): string {
  const last = url.pathname.lastIndexOf('/');
  return last <= 0 ? '/' : url.pathname.slice(0, last);
}
