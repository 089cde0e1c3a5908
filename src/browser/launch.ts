// Launches the one Chromium of a run with the flags that keep it quiet on a closed network and lean.
import os from 'node:os';
import { type Browser, chromium } from 'playwright';
import { findChromium } from './find-chromium.js';

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
 * Memory levers measured by scripts/bench-levers.ts (issue 13): the pool's pages are all one site, so they share
 * renderer processes, one per two cores (more renderers than cores cannot run at once anyway). At 8 pages on
 * 2 cores it cut renderer PSS from 439-471 MB to 244-289 MB and the tree's peak by 20 % at the same items/s.
 * (The back/forward cache is already off: Playwright passes --disable-back-forward-cache.)
 */
export const LEAN_ARGS = [
  `--renderer-process-limit=${Math.max(1, Math.floor(os.availableParallelism() / 2))}`,
];

export interface LaunchOptions {
  chromiumPath: string | null;
  /** @default true */
  headless?: boolean;
  /** @default 0 */
  slowMoMs?: number;
  /** Chromium switches after CHROMIUM_ARGS (scripts/bench-levers.ts measures memory levers with it). @default [] */
  args?: string[];
}

export async function launchBrowser({
  chromiumPath,
  headless = true,
  slowMoMs = 0,
  args = [],
}: LaunchOptions): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(chromiumPath),
    headless,
    slowMo: slowMoMs,
    args: [...CHROMIUM_ARGS, ...LEAN_ARGS, ...args],
    // pagepool handles SIGINT/SIGTERM itself: Playwright's handlers would close the browser under running work.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}
