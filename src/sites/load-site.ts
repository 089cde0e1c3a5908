// Resolves `--site`: a built-in adapter name or the path of a user's adapter module (.ts, .mts, .js, .mjs), from any
// folder, with `import ... from 'pagepool'` bound to the pagepool that is running it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import nodeModule, { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import type { AdapterHooksData } from './adapter-hooks.js';
import type { Site } from './site.js';

// Loaded lazily: the built-in adapters import the public API, which imports this module.
const BUILT_IN: Record<string, () => Promise<{ default: Site<unknown> }>> = {
  demo: () => import('./demo-vehicles.js') as Promise<{ default: Site<unknown> }>,
  'demo-cards': () => import('./demo-cards.js') as Promise<{ default: Site<unknown> }>,
};

export const BUILT_IN_SITES = Object.keys(BUILT_IN);

/** What a module's default export must have to be a site. */
export const REQUIRED_SITE_FIELDS = ['name', 'key', 'list', 'process'] as const;

export function isBuiltInSite(name: string): boolean {
  return name in BUILT_IN;
}

/** A built-in site by name, or the default export of the adapter module at `name` (relative to `cwd`). */
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
    await registerAdapterHooks();
    try {
      mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (err) {
      throw new ConfigError(
        `Cannot load \`--site\` module \`${name}\`: ${describeLoadError(err, file, cwd)}`,
        {
          cause: err,
        },
      );
    }
  }
  const site = mod.default as Partial<Site<unknown>> | undefined;
  if (typeof site !== 'object' || site === null) {
    throw new ConfigError(
      `\`--site\` module \`${name}\` has no default export: end it with \`export default defineSite({...})\``,
    );
  }
  const missing = REQUIRED_SITE_FIELDS.filter((field) => site[field] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(
      `\`--site\` module \`${name}\`: the object given to defineSite({...}) has no ${missing.map((f) => `\`${f}\``).join(', ')}`,
    );
  }
  if (site.refresh !== undefined && site.refresh !== 'page' && site.refresh !== 'files') {
    throw new ConfigError(
      `\`--site\` module \`${name}\`: \`refresh\` must be 'page' or 'files', got \`${String(site.refresh)}\``,
    );
  }
  return site as Site<unknown>;
}

let hooksRegistered = false;

/** tsx (TypeScript) and then our hooks, once: hooks registered later run first, so ours sees tsx's resolution. */
async function registerAdapterHooks(): Promise<void> {
  if (hooksRegistered) return;
  hooksRegistered = true;
  // `.js` in dist/, `.ts` when this runs from the sources in a checkout.
  const ext = path.extname(fileURLToPath(import.meta.url));
  // Imported here, not at the top: it loads esbuild, which only a user's adapter needs.
  const tsx = await import('tsx/esm/api');
  tsx.register();
  const entry = new URL(`../index${ext}`, import.meta.url).href;
  register<AdapterHooksData>(`./adapter-hooks${ext}`, import.meta.url, { data: { entry } });
  // Where Node has in-thread hooks (22.15+, 24), tsx uses them: ours go in the same chain, after tsx's, so first.
  const registerHooks = (nodeModule as { registerHooks?: (hooks: { resolve: unknown }) => unknown })
    .registerHooks;
  if (registerHooks) {
    const { syncResolveHook } = (await import(
      `./adapter-hooks${ext}`
    )) as typeof import('./adapter-hooks.js');
    registerHooks({ resolve: syncResolveHook(entry) });
  }
}

/** One line: where the module is broken (file:line:column) and the compiler's message, else the error's first line. */
function describeLoadError(err: unknown, file: string, cwd: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const shown = (p: string) => (p.startsWith(cwd + path.sep) ? path.relative(cwd, p) : p);
  // tsx (esbuild): "Transform failed with 1 error:\n/abs/file.ts:2:18: ERROR: Unexpected "="" (column from 0).
  const esbuild = /^(.+):(\d+):(\d+): ERROR: (.+)$/m.exec(message);
  if (esbuild) return `${shown(esbuild[1]!)}:${esbuild[2]}:${Number(esbuild[3]) + 1}: ${esbuild[4]}`;
  // An import that cannot be resolved or linked: Node names the module, not the line; find the import that asks.
  const badImport = importProblem(message, file);
  if (badImport) {
    const at = findImport(file, badImport.needle);
    const where = at ? `${shown(at.file)}:${at.line}:${at.column}: ` : '';
    return `${where}${badImport.text}`;
  }
  if (err instanceof SyntaxError && /\.(c|m)?js$/.test(file)) {
    // V8 keeps the location of a module's syntax error out of the error object; `node --check` prints it.
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
    const at = /^(.+):(\d+)\n.*\n( *)\^/m.exec(check.stderr ?? '');
    if (at) return `${shown(at[1]!)}:${at[2]}:${at[3]!.length + 1}: ${message}`;
  }
  return message.split('\n')[0] ?? message;
}

/** What in the adapter to look for, and the message without Node's absolute paths, for an import that failed. */
function importProblem(message: string, file: string): { needle: RegExp; text: string } | null {
  const first = message.split('\n')[0] ?? message;
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // "The requested module 'pagepool' does not provide an export named 'nope'"
  const named = /^The requested module '([^']+)' does not provide an export named '([^']+)'/.exec(first);
  if (named) {
    return {
      needle: new RegExp(`\\b${literal(named[2]!)}\\b[^;]*from\\s*['"]${literal(named[1]!)}['"]`),
      text: `\`${named[1]}\` has no export named \`${named[2]}\``,
    };
  }
  // "Cannot find module '/abs/helper.js' imported from /abs/adapter.ts", "Cannot find package 'x' imported from ..."
  const missing = /^Cannot find (module|package) '([^']+)' imported from (.+)$/.exec(first);
  if (missing) {
    const spec = missing[1] === 'module' ? path.basename(missing[2]!) : missing[2]!;
    return {
      needle: new RegExp(
        `from\\s*['"][^'"]*${literal(spec)}['"]|import\\(\\s*['"][^'"]*${literal(spec)}['"]`,
      ),
      text: `cannot find ${missing[1]} \`${missing[1] === 'module' ? path.relative(path.dirname(file), missing[2]!) : spec}\``,
    };
  }
  // "Unknown file extension ".csv" for /abs/data.csv"
  const extension = /^Unknown file extension "([^"]+)" for (.+)$/.exec(first);
  if (extension) {
    const name = path.basename(extension[2]!);
    return {
      needle: new RegExp(`['"][^'"]*${literal(name)}['"]`),
      text: `cannot import \`${name}\`: Node does not load ${extension[1]} files as modules (read it with node:fs)`,
    };
  }
  return null;
}

/** The first line of `file` that matches `needle` (1-based line and column), or null. */
function findImport(file: string, needle: RegExp): { file: string; line: number; column: number } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = needle.exec(lines[i]!);
    if (match) return { file, line: i + 1, column: match.index + 1 };
  }
  return null;
}
