// The switches pagepool's Chromium really runs with: Chromium honours only the last `--disable-features`, so
// pagepool replaces Playwright's with one list holding both. Read back from the command line of a real browser.

import { type Browser, chromium } from 'playwright';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEBIAN_CHROMIUM,
  DEBIAN_HEADLESS_SHELL,
  findChromium,
  NoBrowserError,
} from '../../src/browser/find-chromium.js';
import { DISABLED_FEATURES, launchBrowser, withDisabledFeatures } from '../../src/browser/launch.js';

const browsers: Browser[] = [];
afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => {});
});

/** Browser.getBrowserCommandLine answers only with it. */
const SHOW_COMMAND_LINE = '--enable-automation';

/** The `--disable-features` switches on the command line `browser` was started with (the headless shell has no
 * chrome://version: the command line comes from the DevTools protocol). */
async function disableFeatureSwitches(browser: Browser): Promise<string[][]> {
  browsers.push(browser);
  const session = await browser.newBrowserCDPSession();
  const { arguments: args } = (await session.send('Browser.getBrowserCommandLine')) as {
    arguments: string[];
  };
  return args.filter((a) => a.startsWith('--disable-features=')).map((a) => a.split('=')[1]!.split(','));
}

describe('launchBrowser', () => {
  it("runs with one --disable-features: Playwright's own list and pagepool's", async () => {
    const playwright = await disableFeatureSwitches(
      await chromium.launch({ executablePath: findChromium(null), args: [SHOW_COMMAND_LINE] }),
    );
    // If Playwright's list changed, PLAYWRIGHT_DISABLED_FEATURES in launch.ts no longer matches it: update it.
    expect(playwright).toHaveLength(1);
    const ours = await disableFeatureSwitches(
      await launchBrowser({ chromiumPath: null, args: [SHOW_COMMAND_LINE] }),
    );
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

describe('findChromium', () => {
  const only =
    (...files: string[]) =>
    (file: string) =>
      files.includes(file);

  it("prefers Debian's headless shell for headless runs and never gives it to --headed", () => {
    const both = only(DEBIAN_HEADLESS_SHELL, DEBIAN_CHROMIUM);
    expect(findChromium(null, { executable: both })).toBe(DEBIAN_HEADLESS_SHELL);
    expect(findChromium(null, { headless: false, executable: both })).not.toBe(DEBIAN_HEADLESS_SHELL);
    expect(findChromium('/opt/c/chrome', { executable: only('/opt/c/chrome', DEBIAN_HEADLESS_SHELL) })).toBe(
      '/opt/c/chrome',
    );
  });

  it('says what to install when --headed finds only the headless shell, or nothing at all', () => {
    // `executable` answers for every candidate, Playwright's own browser included: none of these machines has it.
    expect(() => findChromium(null, { headless: false, executable: only(DEBIAN_HEADLESS_SHELL) })).toThrow(
      new NoBrowserError(
        "--headed needs a Chromium that can show a window; only Debian's chromium-headless-shell is installed. Install Debian's chromium (`apt-get install chromium`), or set CHROMIUM_PATH.",
      ),
    );
    expect(() => findChromium(null, { executable: only() })).toThrow(
      /^No Chromium found\. Get one with `npm run setup`/,
    );
    expect(() => findChromium('/nope', { executable: only() })).toThrow(
      'CHROMIUM_PATH is `/nope`, which is not an executable file',
    );
  });

  it('finds the headless shell on a machine set up by `npm run setup`', () => {
    // scripts/setup.sh installs chromium-headless-shell beside chromium on Debian.
    expect(findChromium(process.env.CHROMIUM_PATH || null)).toBe(
      process.env.CHROMIUM_PATH || DEBIAN_HEADLESS_SHELL,
    );
  });
});
