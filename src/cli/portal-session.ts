// The site, the portal and the account a command works with: `--site` loaded, `--base-url` (or the embedded demo
// portal, started here) and the credentials, checked before any browser starts.
import type { Config } from '../config.js';
import { type Portal, portalOptionsFromEnv, startPortal } from '../demo/portal.js';
import { ConfigError, describe } from '../errors.js';
import { isBuiltInSite, loadSite } from '../sites/load-site.js';
import type { Credentials, Site } from '../sites/site.js';

export interface PortalSession {
  site: Site<unknown>;
  baseUrl: string;
  credentials: Credentials;
  /** Stops the embedded demo portal, when one was started. */
  close(): Promise<void>;
}

/** Loads the site and resolves the portal; `announce` is told where a demo portal listens. */
export async function openPortalSession(
  config: Readonly<Config>,
  announce: (line: string) => void = () => {},
): Promise<PortalSession> {
  const site = await loadSite(config.site, config.cwd);
  let baseUrl = config.baseUrl;
  let portal: Portal | null = null;
  let defaults: Credentials = { username: '', password: '' };
  if (baseUrl === '' || baseUrl === 'demo') {
    if (baseUrl === '' && !isBuiltInSite(config.site))
      throw new ConfigError(`Missing \`--base-url\` (PAGEPOOL_BASE_URL) for site \`${config.site}\``);
    portal = await startPortal(demoPortalOptions(config));
    baseUrl = portal.url;
    defaults = { username: portal.options.username, password: portal.options.password };
    announce(`Demo portal on ${portal.url}`);
  }
  const credentials = {
    username: config.username || defaults.username,
    password: config.password || defaults.password,
  };
  if (site.login && (!credentials.username || !credentials.password)) {
    await portal?.close();
    throw new ConfigError('Missing credentials: set PAGEPOOL_USERNAME (or --username) and PAGEPOOL_PASSWORD');
  }
  return { site, baseUrl, credentials, close: async () => portal?.close() };
}

/** The demo portal's DEMO_* variables, checked by the demo's own parser; a bad one is a config error. */
function demoPortalOptions(config: Readonly<Config>) {
  try {
    return portalOptionsFromEnv(config.demoEnv);
  } catch (err) {
    throw new ConfigError(describe(err), { cause: err });
  }
}
