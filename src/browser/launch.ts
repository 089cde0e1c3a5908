// Launches the one Chromium of a run with the flags that keep it quiet on a closed network and lean.
import os from 'node:os';
import type { Browser } from 'playwright';
import { describe } from '../errors.js';
import { findChromium, NoBrowserError } from './find-chromium.js';
import { playwright } from './playwright.js';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * The pool's pages are all one site, so they share renderer processes: one per core. A renderer runs its pages
 * on one main thread, so fewer renderers than cores leave cores idle on pages that cost CPU, and more cannot run
 * at once. Measured by scripts/bench-levers.ts, 8 pages on 2 cores (issue 27.3): on the demo's heavy pages
 * (DEMO_HEAVY, 40 items) 2 renderers gave 8.4-8.6 items/s against 6.5-7.1 with one (the former default, one per
 * two cores) at the same peak PSS (626-738 MB against 621-722), while 4 or one per page added 170-390 MB for no
 * steady gain; on light pages (80 items) 1, 2, 4 and 8 renderers were within noise in items/s and 2 cost no more
 * PSS than 1 (417-420 MB against 415-461; one per page 481-521). Without any limit Chromium gives each page its
 * own renderer (issue 13: renderer PSS 439-471 MB against 244-289 with a limit, at 8 pages).
 * (The back/forward cache is already off: Playwright passes --disable-back-forward-cache.)
 */
export const LEAN_ARGS = [`--renderer-process-limit=${Math.max(1, os.availableParallelism())}`];

/**
 * Chromium features pagepool turns off, on top of Playwright's own list. RenderDocument (a new frame host for
 * every cross-document navigation) cost a quarter of a detail-page load's CPU: measured by scripts/nav-cost.ts,
 * goto + page.evaluate on one page, 124 -> 93 ms per load (renderer 46 -> 31, browser 52 -> 41 ms).
 */
export const DISABLED_FEATURES = ['RenderDocument'];

/**
 * Playwright's `--disable-features` list as of 1.65. Chromium honours only the last `--disable-features` switch,
 * so pagepool replaces Playwright's with one that holds both lists (test/browser/launch.test.ts checks the
 * browser's command line against the Playwright installed).
 */
export const PLAYWRIGHT_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
];

const DISABLE_FEATURES = '--disable-features=';

/** `args` with every `--disable-features` in it merged into one, after Playwright's list and pagepool's. */
export function withDisabledFeatures(
  args: readonly string[],
  ours: readonly string[] = DISABLED_FEATURES,
): string[] {
  const features = [...PLAYWRIGHT_DISABLED_FEATURES, ...ours];
  const rest: string[] = [];
  for (const arg of args) {
    if (arg.startsWith(DISABLE_FEATURES)) features.push(...arg.slice(DISABLE_FEATURES.length).split(','));
    else rest.push(arg);
  }
  return [...rest, `${DISABLE_FEATURES}${[...new Set(features.filter(Boolean))].join(',')}`];
}

export interface LaunchOptions {
  chromiumPath: string | null;
  /** @default true */
  headless?: boolean;
  /** @default 0 */
  slowMoMs?: number;
  /** Chromium switches after CHROMIUM_ARGS (scripts/bench-levers.ts measures memory levers with it). @default [] */
  args?: string[];
  /** Chromium features turned off besides Playwright's (scripts/nav-cost.ts measures without). @default DISABLED_FEATURES */
  disabledFeatures?: readonly string[];
}

export async function launchBrowser({
  chromiumPath,
  headless = true,
  slowMoMs = 0,
  args = [],
  disabledFeatures = DISABLED_FEATURES,
}: LaunchOptions): Promise<Browser> {
  const executablePath = findChromium(chromiumPath, { headless });
  return playwright()
    .chromium.launch({
      executablePath,
      headless,
      slowMo: slowMoMs,
      args: withDisabledFeatures([...CHROMIUM_ARGS, ...LEAN_ARGS, ...args], disabledFeatures),
      ignoreDefaultArgs: [`${DISABLE_FEATURES}${PLAYWRIGHT_DISABLED_FEATURES.join(',')}`],
      // pagepool handles SIGINT/SIGTERM itself: Playwright's handlers would close the browser under running work.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    })
    .catch((err: unknown) => {
      // Playwright's launch error is a page of logs; its first line says what went wrong (no display, a crash).
      const why = describe(err).replace(/^browserType\.launch: /, '');
      const noDisplay = !headless && /XServer|X server|DISPLAY/i.test(String((err as Error)?.message));
      const hint = noDisplay ? ' (`--headed` needs a display: set DISPLAY, or run under xvfb-run)' : '';
      throw new NoBrowserError(`The browser could not start: ${executablePath}: ${why}${hint}`, {
        cause: err,
      });
    });
}
