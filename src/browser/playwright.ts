// Playwright, loaded with require() the first time it is needed. An ESM import of it costs about a third more CPU:
// node then scans every CommonJS file it loads for its export names (cjs-module-lexer), playwright-core's 3.6 MB
// bundle included. The types still come from `import type ... from 'playwright'`; nothing of ours imports it at
// run time but this module.
import { createRequire } from 'node:module';
import type * as Playwright from 'playwright';

let loaded: typeof Playwright | undefined;

/** The `playwright` package (the same instance an ESM import elsewhere gets: one module cache). */
export function playwright(): typeof Playwright {
  loaded ??= createRequire(import.meta.url)('playwright') as typeof Playwright;
  return loaded;
}
