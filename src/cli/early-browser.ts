// The browser of a pull, launched the moment its command starts (src/cli/cli.ts, for the commands whose table entry
// says `browser`): Chromium boots in processes of its own while node loads the command's modules, checks the
// folders, takes the lock, loads the site and runs the preflights, so a short run's start-up overlaps them instead
// of adding them up. The command hands it to run() (borrowed); the CLI closes it when the command ends.
import type { Browser } from 'playwright';
import type { Config } from '../config.js';
import type { CommandContext } from './command-context.js';

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

  /** Starts launching the browser of `config`; whoever starts it must close() it, whatever happens. */
  static start(config: BrowserSettings): EarlyBrowser {
    return new EarlyBrowser(
      import('../browser/launch.js').then(({ launchBrowser }) =>
        launchBrowser({
          chromiumPath: config.chromiumPath,
          headless: !config.headed,
          slowMoMs: config.slowMoMs,
        }),
      ),
    );
  }

  /** The command's early browser; a command given none has no `browser` in the command table (a bug). */
  static of(ctx: CommandContext): EarlyBrowser {
    if (!ctx.browser) throw new Error(`pagepool ${ctx.config.command}: no browser was launched for it`);
    return ctx.browser;
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
