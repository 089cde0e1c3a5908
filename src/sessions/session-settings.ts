// How a machine reaches the portal logged in: its saved session file and its proxy, mapped once from the config
// for `run`, `list`, `work`, `enqueue` and `login`.
import type { Config } from '../config.js';
import { type ProxySettings, proxySettings } from '../proxy/proxy-settings.js';
import { defaultSessionPath } from './session-file.js';

export interface SessionSettings {
  /** The saved session: runs start from it and every confirmed login replaces it. null: none. @default null */
  sessionFile?: string | null;
  /** Do not start from the saved session (`--fresh-session`); the next login still replaces it. @default false */
  freshSession?: boolean;
  /** Pages and file downloads go through this proxy. null: direct. @default null */
  proxy?: ProxySettings | null;
}

/**
 * `--session` (default `<out>/.pagepool/session.json`), `--fresh-session` and `--proxy` with NO_PROXY. The
 * embedded demo portal forgets its sessions when the command ends, so with it no session is read or saved.
 */
export function sessionSettingsFrom(
  config: Readonly<Config>,
  { embeddedPortal }: { embeddedPortal: boolean },
): Required<SessionSettings> {
  return {
    sessionFile: embeddedPortal ? null : (config.session ?? defaultSessionPath(config.out)),
    freshSession: config.freshSession,
    proxy: config.proxy === null ? null : proxySettings(config.proxy, config.noProxy),
  };
}
