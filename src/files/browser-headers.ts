// The request headers Chromium sends with a navigation, read once from a real one, so that file requests look
// like the page's own: a portal that binds its session to the browser's headers sees the same browser.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext } from 'playwright';

/** The headers copied from the browser: what a portal can tell a browser by. */
export const BROWSER_HEADERS = [
  'user-agent',
  'accept',
  'accept-language',
  'accept-encoding',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
] as const;

/** Longest the capture may take (a page opened, one local navigation). */
const CAPTURE_TIMEOUT_MS = 15_000;

/**
 * Opens a page in `context`, navigates it to a one-request server on 127.0.0.1 and returns the navigation's
 * request headers (those in BROWSER_HEADERS; `request.allHeaders()`, so what went over the wire, Accept-Encoding
 * included). A real request, not an intercepted one: Chromium adds Accept-Encoding after interception. The
 * portal sees nothing of it.
 */
export async function captureBrowserHeaders(context: BrowserContext): Promise<Record<string, string>> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', connection: 'close' }).end('<title>pagepool</title>');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const page = await context.newPage();
  try {
    const { port } = server.address() as AddressInfo;
    const response = await page.goto(`http://127.0.0.1:${port}/`, { timeout: CAPTURE_TIMEOUT_MS });
    const all = (await response?.request().allHeaders()) ?? {};
    const out: Record<string, string> = {};
    for (const name of BROWSER_HEADERS) {
      const value = all[name];
      if (value !== undefined) out[name] = value;
    }
    return out;
  } finally {
    await page.close().catch(() => {});
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * The browser's headers as Chromium would send them to `url`: client hints (`sec-ch-*`) only to a potentially
 * trustworthy origin (https, or a loopback host), as Chromium does.
 */
export function browserHeadersFor(
  url: URL,
  headers: Readonly<Record<string, string>>,
): Record<string, string> {
  if (trustworthy(url)) return { ...headers };
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('sec-ch-')));
}

function trustworthy(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  const host = url.hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\./.test(host);
}
