// The browser of a pull, launched the moment its command starts: Chromium boots in processes of its own while node
// checks the folders, takes the lock, loads the site and runs the preflights, so a short run's start-up overlaps
// them instead of adding them up. The command hands it to run() (borrowed) and closes it at the end.
import type { Browser } from 'playwright';
import type { Config } from '../config.js';
import { warmLazyDeps } from '../lazy-deps.js';

type BrowserSettings = Pick<Readonly<Config>, 'chromiumPath' | 'headed' | 'slowMoMs'>;

export class EarlyBrowser {
  readonly #launch: Promise<Browser>;
  #closing: Promise<void> | undefined;

  private constructor(launch: Promise<Browser>) {
    this.#launch = launch;
    // A launch that fails is reported by get(), when the run needs the browser: a problem found before then (a
    // missing password, a bad --refs file) is still the one the user is told about.
    launch.catch(() => {});
  }

  /** Launches the browser of `config` now and runs `use` with it; closes it once `use` is done, whatever happened. */
  static async around<T>(config: BrowserSettings, use: (browser: EarlyBrowser) => Promise<T>): Promise<T> {
    const browser = EarlyBrowser.start(config);
    try {
      return await use(browser);
    } finally {
      await browser.close();
    }
  }

  private static start(config: BrowserSettings): EarlyBrowser {
    return new EarlyBrowser(
      import('../browser/launch.js').then(async ({ launchBrowser }) => {
        const browser = await launchBrowser({
          chromiumPath: config.chromiumPath,
          headless: !config.headed,
          slowMoMs: config.slowMoMs,
        });
        // What the run needs after the login (undici, linkedom) loads while the login waits on the portal; not
        // during the launch, which would wait for it.
        warmLazyDeps();
        return browser;
      }),
    );
  }

  /** The launched browser, or the launch's error (NoBrowserError). */
  get(): Promise<Browser> {
    return this.#launch;
  }

  /** Closes the browser once it is up (a launch still going is waited for); the same promise every call. */
  close(): Promise<void> {
    this.#closing ??= this.#launch.then(
      (browser) => browser.close().catch(() => {}),
      () => {},
    );
    return this.#closing;
  }
}
