// @ts-check
// Preloaded into a `pagepool run` by scripts/startup-split.ts (`node --import ./scripts/startup-probe.mjs
// dist/main.js run ...`): writes one JSON line per mark to the file in STARTUP_PROBE_OUT, with the wall clock in
// ms (performance.timeOrigin + now). Marks: the process's start, this probe, every public Playwright call
// (begin and end, through the client's instrumentation, the hook Playwright's own test runner uses), the run's
// events, and the exit. Plain JavaScript: a loader (tsx) would add its own start-up to what is measured.
import { EventEmitter } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.STARTUP_PROBE_OUT;
const fd = file ? openSync(file, 'a') : -1;
/**
 * @param {string} what
 * @param {Record<string, unknown>} [detail]
 */
function mark(what, detail = {}) {
  if (fd < 0) return;
  // Synchronous: main.ts ends with process.exit(), which would drop a buffered write.
  writeSync(fd, `${JSON.stringify({ t: performance.timeOrigin + performance.now(), what, ...detail })}\n`);
}

mark('process:start', { t: performance.timeOrigin });
mark('probe');

// The run's own events (src/run-events.ts), wherever they are emitted.
const EVENTS = new Set([
  'login',
  'run:start',
  'run:total',
  'task:start',
  'task:stage',
  'page:released',
  'file:saved',
  'task:done',
  'task:failed',
  'run:end',
]);
const emit = EventEmitter.prototype.emit;
EventEmitter.prototype.emit = function (name, ...args) {
  if (typeof name === 'string' && EVENTS.has(name)) {
    const first = args[0];
    const stage = first && typeof first === 'object' && 'stage' in first ? { stage: first.stage } : {};
    mark(`event:${name}`, stage);
  }
  return emit.call(this, name, ...args);
};

// Playwright is loaded here, before the CLI (which then finds it in the module cache): its load shows up between
// `probe` and `probe:ready`. With require(), as the CLI loads it (src/browser/playwright.ts).
const { chromium } = createRequire(import.meta.url)('playwright');
/** @type {{ addListener?: (listener: object) => void } | undefined} */
const instrumentation = /** @type {any} */ (chromium)._instrumentation;
if (instrumentation?.addListener) {
  /** @type {WeakMap<object, { t: number, url?: string }>} */
  const started = new WeakMap();
  instrumentation.addListener({
    /**
     * @param {{ apiName?: string }} zone
     * @param {{ params?: { url?: string } }} data
     */
    onApiCallBegin(zone, data) {
      const url = data?.params?.url;
      started.set(zone, { t: performance.timeOrigin + performance.now(), ...(url ? { url } : {}) });
      mark('api:begin', { api: zone.apiName, ...(url ? { url } : {}) });
    },
    /** @param {{ apiName?: string }} zone */
    onApiCallEnd(zone) {
      const begin = started.get(zone);
      mark('api:end', { api: zone.apiName, since: begin?.t, ...(begin?.url ? { url: begin.url } : {}) });
    },
  });
} else {
  mark('warning', { message: 'this Playwright has no client instrumentation: no Playwright marks' });
}
mark('probe:ready');

process.on('exit', () => {
  mark('process:exit');
  if (fd >= 0) closeSync(fd);
});
