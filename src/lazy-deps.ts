// undici and linkedom, loaded with require() on first use instead of with the command's modules: a run needs
// them only once the pool has logged in (files, pages read over HTTP), and importing them cost ~160 ms of CPU
// before Chromium's launch was even called. `warmLazyDeps()` loads them while the login waits on the network.
// Types still come from `import type`.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
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

/**
 * A load waits for node's event loop to have been idle this long: longer than a round trip to Chromium (a new
 * page: 45-75 ms here), so it lands in a wait on the network (the login's navigations), where node has nothing
 * else to do. Measured against loading at once after the launch call, which the launch then waited for.
 */
const QUIET_MS = 50;
const POLL_MS = 10;
/** A poll's window counts as idle when the loop ran for less than this share of it. */
const IDLE_UTILIZATION = 0.1;

let warming = false;

/**
 * Loads the modules above in idle time, one at a time, each once the event loop has been idle for QUIET_MS: a
 * Playwright message that arrives meanwhile waits behind one load at most. A module still not loaded when the run
 * first needs it is loaded then. Idempotent; a load that fails is left for the first use to report.
 */
export function warmLazyDeps(): void {
  if (warming) return;
  warming = true;
  let last = performance.eventLoopUtilization();
  let quietSince = performance.now();
  const poll = () => {
    const load = loadedUndici === undefined ? undici : loadedLinkedom === undefined ? linkedom : undefined;
    if (load === undefined) return;
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization > IDLE_UTILIZATION;
    if (busy) quietSince = performance.now();
    else if (performance.now() - quietSince >= QUIET_MS) {
      try {
        load();
      } catch {
        // The first real use throws the same error where it can be reported; the warm-up stops.
        return;
      }
      quietSince = performance.now();
    }
    last = performance.eventLoopUtilization();
    // unref: a process that is done anyway does not wait for a warm-up.
    setTimeout(poll, POLL_MS).unref();
  };
  setTimeout(poll, POLL_MS).unref();
}
