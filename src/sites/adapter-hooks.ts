// Node module hooks (module.register) for a user's `--site` module: `import ... from 'pagepool'` resolves to the
// pagepool that is running it, wherever the adapter lives, and an adapter outside a `"type": "module"` package is
// still loaded as the ES module it is.
import type { InitializeHook, ResolveHook } from 'node:module';

export interface AdapterHooksData {
  /** URL of the running pagepool's entry module (`dist/index.js`, or `src/index.ts` from a checkout). */
  entry: string;
}

let entry = '';

export const initialize: InitializeHook<AdapterHooksData> = (data) => {
  entry = data.entry;
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  // One pagepool per process: the adapter's errors must be the running engine's classes for classify().
  if (specifier === 'pagepool') return { url: entry, format: 'module', shortCircuit: true };
  return adapt(await nextResolve(specifier, context));
};

/**
 * The same hook for `module.registerHooks` (in-thread, synchronous): where Node has it, tsx registers its own hooks
 * that way, and a module.register() hook behind them never sees the adapter's imports (Node 24: `Cannot find
 * module 'pagepool'`).
 */
export function syncResolveHook(pagepoolEntry: string) {
  return (
    specifier: string,
    context: Parameters<ResolveHook>[1],
    nextResolve: (specifier: string, context?: Parameters<ResolveHook>[1]) => ResolveResult,
  ): ResolveResult => {
    if (specifier === 'pagepool') return { url: pagepoolEntry, format: 'module', shortCircuit: true };
    return adapt(nextResolve(specifier, context));
  };
}

type ResolveResult = Awaited<ReturnType<ResolveHook>>;

function adapt(resolved: ResolveResult): ResolveResult {
  // A `.js`/`.ts` file with no `"type"` package.json above it resolves as CommonJS, and an ES module loaded through
  // require() cannot import pagepool (a require(esm) cycle); adapters are ES modules, so load them as such.
  if (
    resolved.format === 'commonjs' &&
    resolved.url.startsWith('file:') &&
    !resolved.url.includes('/node_modules/') &&
    /\.(js|ts)$/.test(new URL(resolved.url).pathname)
  ) {
    return { ...resolved, format: 'module' };
  }
  return resolved;
}
