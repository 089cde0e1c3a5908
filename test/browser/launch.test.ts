// The switches pagepool's Chromium really runs with: Chromium honours only the last `--disable-features`, so
// pagepool replaces Playwright's with one list holding both. Read back from chrome://version of a real browser.
import { type Browser, chromium } from 'playwright';
import { afterAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../src/browser/find-chromium.js';
import { DISABLED_FEATURES, launchBrowser, withDisabledFeatures } from '../../src/browser/launch.js';

const browsers: Browser[] = [];
afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => {});
});

/** The `--disable-features` switches on the command line `browser` was started with. */
async function disableFeatureSwitches(browser: Browser): Promise<string[][]> {
  browsers.push(browser);
  const page = await (await browser.newContext()).newPage();
  await page.goto('chrome://version');
  const line = (await page.locator('#command_line').textContent()) ?? '';
  return [...line.matchAll(/--disable-features=(\S*)/g)].map((m) => m[1]!.split(','));
}

describe('launchBrowser', () => {
  it("runs with one --disable-features: Playwright's own list and pagepool's", async () => {
    const playwright = await disableFeatureSwitches(
      await chromium.launch({ executablePath: findChromium(null) }),
    );
    // If Playwright's list changed, PLAYWRIGHT_DISABLED_FEATURES in launch.ts no longer matches it: update it.
    expect(playwright).toHaveLength(1);
    const ours = await disableFeatureSwitches(await launchBrowser({ chromiumPath: null }));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toEqual(expect.arrayContaining([...playwright[0]!, ...DISABLED_FEATURES]));
  }, 60_000);

  it('merges a caller’s own --disable-features into the one list', () => {
    const args = withDisabledFeatures([
      '--no-sandbox',
      '--disable-features=Foo,Bar',
      '--disable-features=Baz',
    ]);
    const switches = args.filter((a) => a.startsWith('--disable-features='));
    expect(switches).toHaveLength(1);
    expect(switches[0]!.split('=')[1]!.split(',')).toEqual(
      expect.arrayContaining(['HttpsUpgrades', ...DISABLED_FEATURES, 'Foo', 'Bar', 'Baz']),
    );
    expect(args).toContain('--no-sandbox');
  });
});
