// File downloads through `--proxy`: undici's EnvHttpProxyAgent given the proxy and NO_PROXY explicitly (never read
// from process.env), forwarding plain http:// requests as Chromium does rather than tunnelling them.
import type { Dispatcher, EnvHttpProxyAgent } from 'undici';
import { undici } from '../lazy-deps.js';
import { type ProxySettings, proxyUrlWithCredentials } from './proxy-settings.js';

/** The options of the store's own Agent that must hold through the proxy too. */
export interface ProxyAgentOptions {
  connections: number;
  connect: { timeout: number };
  headersTimeout: number;
  bodyTimeout: number;
}

/**
 * A dispatcher that sends requests through `proxy`, except to NO_PROXY hosts. An http:// URL is forwarded
 * (`GET http://host/path` to the proxy, like Chromium and curl), not CONNECT-tunnelled: many proxies allow
 * CONNECT only to port 443. undici builds that forwarding connection from the bare `factory` call, without the
 * agent's options, so the factory puts the timeouts and the connection limit back.
 */
export function proxyDispatcher(proxy: ProxySettings, options: ProxyAgentOptions): Dispatcher {
  const url = proxyUrlWithCredentials(proxy);
  return new (undici().EnvHttpProxyAgent)({
    ...options,
    httpProxy: url,
    httpsProxy: url,
    noProxy: proxy.noProxy.join(','),
    proxyTunnel: false,
    factory: (origin: string | URL, opts: object) =>
      new (undici().Pool)(origin, {
        connections: options.connections,
        headersTimeout: options.headersTimeout,
        bodyTimeout: options.bodyTimeout,
        ...opts,
      }),
  } as EnvHttpProxyAgent.Options);
}
