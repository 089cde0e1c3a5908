// Before the browser starts: the proxy answers and takes our credentials. Otherwise the browser would show the
// proxy's refusal as if it were the portal's page (a 401 at the login), and the error would name the portal.
import type { ProxyAgent } from 'undici';
import { SetupError } from '../errors.js';
import { undici } from '../lazy-deps.js';
import { type ProxySettings, proxyUrlWithCredentials, shownProxy } from './proxy-settings.js';

/**
 * A host that never resolves (RFC 6761): a request for it reaches the proxy and no portal, so a 401 or 407 can
 * only be the proxy's own refusal (tinyproxy answers a wrong password with 401), and the portal sees nothing.
 */
export const CHECK_URL = 'http://pagepool-proxy-check.invalid/';

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_SOCKET',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** Resolves when the proxy takes a request from us; a SetupError (exit 2) that names the proxy otherwise. */
export async function checkProxy(proxy: ProxySettings, { timeoutMs = 10_000 } = {}): Promise<void> {
  const shown = shownProxy(proxy);
  const agent = new (undici().ProxyAgent)({
    uri: proxyUrlWithCredentials(proxy),
    proxyTunnel: false,
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
  } as ProxyAgent.Options);
  try {
    let status: number;
    try {
      const response = await undici().request(CHECK_URL, {
        dispatcher: agent,
        headersTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs * 2),
      });
      status = response.statusCode;
      await response.body.dump().catch(() => {});
    } catch (err) {
      // undici's forwarding client turns a 407 into an error of its own.
      if (/\b407\b/.test((err as Error).message)) status = 407;
      else {
        const code = (err as { code?: string }).code ?? (err as Error).name;
        if (!CONNECT_ERRORS.has(code) && code !== 'TimeoutError') throw err;
        throw new SetupError(
          `Cannot reach the proxy ${shown} (${code === 'TimeoutError' ? `no answer in ${timeoutMs / 1000} s` : code}): check \`--proxy\` (PAGEPOOL_PROXY) and that the proxy is up`,
          { cause: err },
        );
      }
    }
    if (status === 407 || status === 401) {
      throw new SetupError(
        proxy.username === ''
          ? `The proxy ${shown} asks for a user and password (${status}): set PAGEPOOL_PROXY=http://USER:PASSWORD@host:port in the environment`
          : `The proxy ${shown} refused the password of \`${proxy.username}\` (${status}): check the password in PAGEPOOL_PROXY`,
      );
    }
  } finally {
    await agent.destroy().catch(() => {});
  }
}
