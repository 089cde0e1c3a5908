// One real Chromium per test file, launched the way pagepool launches it.
import type { Browser } from 'playwright';
import { launchBrowser } from '../../src/browser/launch.js';

export function launchTestBrowser(): Promise<Browser> {
  return launchBrowser({ chromiumPath: null });
}
