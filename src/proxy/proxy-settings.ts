// `--proxy`: one proxy for the browser's pages and for file downloads, so both leave from the same address, and
// one NO_PROXY list that means the same to Chromium and to undici.

/** A checked `--proxy` (PAGEPOOL_PROXY) with NO_PROXY. */
export interface ProxySettings {
  /** `http://host:port` or `https://host:port`, without credentials. */
  server: string;
  /** '' when the proxy takes no login. */
  username: string;
  /** '' when none; a secret: environment only, never logged. */
  password: string;
  /**
   * Hosts that go direct (NO_PROXY): each `host` or `host:port` covers the host and its subdomains (`.host` and
   * `*.host` mean the same), `*` covers every host. Empty: everything goes through the proxy, loopback included.
   */
  noProxy: readonly string[];
}

const SHAPE = 'an http:// or https:// proxy URL like `http://host:3128` or `http://user:password@host:3128`';

/** What is wrong with a `--proxy` (PAGEPOOL_PROXY) value, or null; the problem never repeats the password. */
export function proxyUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return SHAPE;
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.hostname === '') return SHAPE;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return `${SHAPE}, with no path`;
  }
  return null;
}

/** What is wrong with NO_PROXY, or null. */
export function noProxyProblem(noProxy: string): string | null {
  const range = noProxyHosts(noProxy).find((h) => h.includes('/'));
  // Chromium would honour a range and undici would not: pages and files would leave from different addresses.
  return range === undefined
    ? null
    : `Expected \`NO_PROXY\` to hold host names, not an address range like \`${range}\``;
}

/** The settings of a checked proxy URL and NO_PROXY list. */
export function proxySettings(raw: string, noProxy = ''): ProxySettings {
  const url = new URL(raw.trim());
  return {
    server: `${url.protocol}//${url.host}`,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    noProxy: noProxyHosts(noProxy),
  };
}

function noProxyHosts(noProxy: string): string[] {
  return noProxy
    .split(/[,\s]+/)
    .filter(Boolean)
    .map((h) => h.toLowerCase());
}

/** The proxy URL as it may be shown: the user name, never the password. */
export function shownProxy(proxy: Pick<ProxySettings, 'server' | 'username'>): string {
  if (proxy.username === '') return proxy.server;
  const url = new URL(proxy.server);
  url.username = proxy.username;
  return url.href.replace(/\/$/, '');
}

/** `raw` with any password replaced by `***`, for a message about a URL that did not parse. */
export function redactProxyUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

/** True when `raw` carries a password (`http://user:password@host`). */
export function proxyHasPassword(raw: string): boolean {
  return redactProxyUrl(raw) !== raw;
}

/** The URL undici's ProxyAgent takes: with the credentials, which it sends as Proxy-Authorization. */
export function proxyUrlWithCredentials(proxy: ProxySettings): string {
  if (proxy.username === '' && proxy.password === '') return proxy.server;
  const url = new URL(proxy.server);
  url.username = encodeURIComponent(proxy.username);
  url.password = encodeURIComponent(proxy.password);
  return url.href.replace(/\/$/, '');
}

/** The strings of the proxy a snapshot or trace must never hold: the password and its Basic credentials. */
export function proxySecrets(proxy: ProxySettings | null | undefined): string[] {
  if (!proxy || proxy.password === '') return [];
  return [proxy.password, Buffer.from(`${proxy.username}:${proxy.password}`).toString('base64')];
}

/** Playwright's `proxy` for a browser context. */
export function playwrightProxy(proxy: ProxySettings): {
  server: string;
  bypass: string;
  username?: string;
  password?: string;
} {
  // `<-loopback>` first: Chromium otherwise sends localhost and 127.0.0.1 around any proxy, and undici does not.
  // Each NO_PROXY host becomes the host and its subdomains, which is what undici's EnvHttpProxyAgent reads it as.
  const rules = proxy.noProxy.flatMap((entry) => {
    if (entry === '*') return ['*'];
    const host = entry.replace(/^\*?\./, '');
    return [host, `*.${host}`];
  });
  return {
    server: proxy.server,
    bypass: ['<-loopback>', ...rules].join(','),
    ...(proxy.username !== '' ? { username: proxy.username } : {}),
    ...(proxy.password !== '' ? { password: proxy.password } : {}),
  };
}
