// Resolves `--site`: a built-in adapter name or the path of a user's adapter module.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import type { Site } from './site.js';

// Loaded lazily: the built-in adapters import the public API, which imports this module.
const BUILT_IN: Record<string, () => Promise<{ default: Site<unknown> }>> = {
  demo: () => import('./demo-vehicles.js') as Promise<{ default: Site<unknown> }>,
  'demo-cards': () => import('./demo-cards.js') as Promise<{ default: Site<unknown> }>,
};

export const BUILT_IN_SITES = Object.keys(BUILT_IN);

export function isBuiltInSite(name: string): boolean {
  return name in BUILT_IN;
}

export async function loadSite(name: string, cwd = process.cwd()): Promise<Site<unknown>> {
  const builtIn = BUILT_IN[name];
  let mod: { default?: unknown };
  if (builtIn) {
    mod = await builtIn();
  } else {
    const file = path.resolve(cwd, name);
    if (!existsSync(file)) {
      throw new ConfigError(
        `Unknown \`--site\` \`${name}\`: not a built-in site (${BUILT_IN_SITES.join(', ')}) and no such file`,
      );
    }
    try {
      mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (err) {
      throw new ConfigError(
        `Cannot load \`--site\` module \`${name}\`: ${(err as Error).message.split('\n')[0]}`,
        {
          cause: err,
        },
      );
    }
  }
  const site = mod.default as Partial<Site<unknown>> | undefined;
  const missing = ['name', 'key', 'list', 'process'].filter(
    (field) => site?.[field as keyof Site<unknown>] === undefined,
  );
  if (!site || missing.length > 0) {
    throw new ConfigError(
      `\`--site\` module \`${name}\` must export default defineSite({...}); missing: ${missing.join(', ') || 'default export'}`,
    );
  }
  return site as Site<unknown>;
}
