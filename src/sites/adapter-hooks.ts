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
  const resolved = await nextResolve(specifier, context);
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
};
