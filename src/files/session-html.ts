// Page reads over HTTP for a browser session that has no file store (`pagepool list`): connections of their own,
// the browser's headers captured on first use, the session's cookies both ways, as the file store's `readHtml`.
import type { BrowserContext } from 'playwright';
import type { Dispatcher } from 'undici';
import { undici } from '../lazy-deps.js';
import { proxyDispatcher } from '../proxy/proxy-dispatcher.js';
import type { ProxySettings } from '../proxy/proxy-settings.js';
import { captureBrowserHeaders } from './browser-headers.js';
import { type HtmlResponse, readHtml } from './html-read.js';

export interface SessionHtml {
  readHtml(url: string, options: { signal: AbortSignal }): Promise<HtmlResponse>;
  close(): Promise<void>;
}

/** `context()`: the session's current browser context (a pool moves to fresh ones). */
export function sessionHtml(context: () => BrowserContext, proxy?: ProxySettings | null): SessionHtml {
  const agentOptions = {
    connections: 4,
    connect: { timeout: 10_000 },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  };
  const dispatcher: Dispatcher = proxy
    ? proxyDispatcher(proxy, agentOptions)
    : new (undici().Agent)(agentOptions);
  let headers: Promise<Record<string, string>> | undefined;
  return {
    async readHtml(url, { signal }) {
      headers ??= captureBrowserHeaders(context()).catch(() => ({}));
      return readHtml({
        url,
        headers: {},
        browserHeaders: await headers,
        cookies: (u) => context().cookies(u),
        addCookies: (cookies) => context().addCookies(cookies),
        dispatcher,
        signal,
      });
    },
    close: () => dispatcher.destroy(),
  };
}
