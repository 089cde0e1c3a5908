// `pagepool list`: the site's refs as JSONL on stdout, after one login; downloads nothing.
import { EXIT_CODES } from '../../errors.js';
import { listRefs } from '../../run.js';
import { formatBadRef } from '../../ui/run-summary.js';
import type { CommandContext } from '../command-context.js';
import { EarlyBrowser } from '../early-browser.js';
import { openPortalSession } from '../portal-session.js';
import { isInterrupt } from '../report-error.js';
import { SetupProgress } from '../setup-failure.js';

export default async function list(ctx: CommandContext): Promise<number> {
  // Chromium boots while the site loads and the preflights run.
  return EarlyBrowser.around(ctx.config, (browser) => listWith(ctx, browser));
}

async function listWith({ config, signal }: CommandContext, browser: EarlyBrowser): Promise<number> {
  const session = await openPortalSession(config);
  // `list` emits no events: an early failure is "the login or the listing".
  const progress = new SetupProgress(false, null);
  let badRefs = 0;
  try {
    for await (const entry of listRefs({
      site: session.site,
      baseUrl: session.baseUrl,
      credentials: session.credentials,
      ...session.sessions,
      browser: await browser.get(),
      signal,
      max: config.max,
    })) {
      progress.started = true;
      // Stops at once when the reader is gone (`| head`): the next write would only fail again.
      if (signal.aborted) break;
      if ('bad' in entry) {
        badRefs += 1;
        process.stderr.write(`${formatBadRef(entry.bad)}\n`);
      } else process.stdout.write(`${JSON.stringify(entry.ref)}\n`);
    }
  } catch (err) {
    if (isInterrupt(err, signal)) return EXIT_CODES.interrupted;
    throw progress.explain(err, session.baseUrl);
  } finally {
    await session.close();
  }
  if (signal.aborted) return EXIT_CODES.interrupted;
  return badRefs > 0 ? EXIT_CODES.failed : EXIT_CODES.ok;
}
