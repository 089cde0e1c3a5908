// Launches the one Chromium of a run with the flags that keep it quiet on a closed network.
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
    args: [...CHROMIUM_ARGS, ...args],
    // pagepool handles SIGINT/SIGTERM itself: Playwright's handlers would close the browser under running work.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}
