// The site, the portal and the account a command works with: `--site` loaded, `--base-url` (or the embedded demo
// portal, started here) and the credentials, checked before any browser starts.
import type { Config } from '../config.js';
import { type Portal, portalOptionsFromEnv, startPortal } from '../demo/portal.js';
import { ConfigError, describe } from '../errors.js';
import { checkProxy } from '../proxy/proxy-check.js';
import { sessionFileInfo } from '../sessions/session-file.js';
import { type SessionSettings, sessionSettingsFrom } from '../sessions/session-settings.js';
import { isBuiltInSite, loadSite } from '../sites/load-site.js';
import type { Credentials, Site } from '../sites/site.js';

export interface PortalSession {
  site: Site<unknown>;
  baseUrl: string;
  credentials: Credentials;
  /** The saved session file (none with the embedded demo portal) and the proxy (issue 24, src/sessions/). */
  sessions: Required<SessionSettings>;
  /** A person logs in (`login: 'manual'`, or `pagepool login --headed`): no credentials are needed. */
  byHand: boolean;
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
  let defaults: Credentials = { username: '', password: '', totpSecret: '' };
  if (baseUrl === '' || baseUrl === 'demo') {
    if (baseUrl === '' && !isBuiltInSite(config.site))
      throw new ConfigError(`Missing \`--base-url\` (PAGEPOOL_BASE_URL) for site \`${config.site}\``);
    portal = await startPortal(demoPortalOptions(config));
    baseUrl = portal.url;
    defaults = {
      username: portal.options.username,
      password: portal.options.password,
      totpSecret: portal.options.totpSecret,
    };
    announce(`Demo portal on ${portal.url}`);
  }
  const credentials = {
    username: config.username || defaults.username,
    password: config.password || defaults.password,
    totpSecret: config.totpSecret || (defaults.totpSecret ?? ''),
  };
  const sessions = sessionSettingsFrom(config, { embeddedPortal: portal !== null });
  const byHand = site.login === 'manual' || (config.command === 'login' && config.headed);
  try {
    await checkAccess(config, site, credentials, sessions, byHand);
  } catch (err) {
    await portal?.close();
    throw err;
  }
  return { site, baseUrl, credentials, sessions, byHand, close: async () => portal?.close() };
}

/**
 * Before any browser starts: a manual site can tell an expired session, the credentials are there (or a saved
 * session stands in for them), and the proxy answers and takes our password.
 */
async function checkAccess(
  config: Readonly<Config>,
  site: Site<unknown>,
  credentials: Credentials,
  sessions: Required<SessionSettings>,
  byHand: boolean,
): Promise<void> {
  if (site.login === 'manual' && !site.loggedOut) {
    throw new ConfigError(
      `Site ${site.name} logs in by hand (login: 'manual') but has no loggedOut(page): add it, so pagepool can tell a working session from an expired one`,
    );
  }
  if (typeof site.login === 'function' && !byHand && (!credentials.username || !credentials.password)) {
    // A saved session stands in for them until it expires (a fleet machine given only the session file).
    const saved =
      config.command !== 'login' &&
      sessions.sessionFile !== null &&
      (await sessionFileInfo(sessions.sessionFile)).saved;
    if (!saved) {
      throw new ConfigError(
        'Missing credentials: set PAGEPOOL_USERNAME (or --username) and PAGEPOOL_PASSWORD',
      );
    }
  }
  // An unreachable proxy or a refused proxy password names the proxy, not the portal.
  if (sessions.proxy) await checkProxy(sessions.proxy);
}

/** The demo portal's DEMO_* variables, checked by the demo's own parser; a bad one is a config error. */
function demoPortalOptions(config: Readonly<Config>) {
  try {
    return portalOptionsFromEnv(config.demoEnv);
  } catch (err) {
    throw new ConfigError(describe(err), { cause: err });
  }
}
