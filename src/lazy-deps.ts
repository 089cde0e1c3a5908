// undici and linkedom, loaded with require() on first use instead of with the command's modules: a run needs
// them only once the pool has logged in (files, pages read over HTTP), and importing them cost ~160 ms of CPU
// before Chromium's launch was even called. Types still come from `import type`.
import { createRequire } from 'node:module';
import type * as Linkedom from 'linkedom';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

let loadedUndici: typeof Undici | undefined;
let loadedLinkedom: typeof Linkedom | undefined;

/** The `undici` package (a CommonJS package: the same instance an ESM import elsewhere gets). */
export function undici(): typeof Undici {
  loadedUndici ??= require('undici') as typeof Undici;
  return loadedUndici;
}

/**
 * The `linkedom` package, its CommonJS build: require() keeps the first use synchronous (HtmlPage's constructor).
 * An ESM import of linkedom elsewhere gets its ESM build, a second copy; nothing of ours mixes the two.
 */
export function linkedom(): typeof Linkedom {
  loadedLinkedom ??= require('linkedom') as typeof Linkedom;
  return loadedLinkedom;
}
