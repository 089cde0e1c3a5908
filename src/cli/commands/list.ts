// `pagepool list`: the site's refs as JSONL on stdout, after one login; downloads nothing.
import { EXIT_CODES } from '../../errors.js';
import { listRefs } from '../../run.js';
import type { CommandContext } from '../command-context.js';
import { openPortalSession } from '../portal-session.js';
import { isInterrupt } from '../report-error.js';
import { SetupProgress } from '../setup-failure.js';

export default async function list({ config, signal }: CommandContext): Promise<number> {
  const session = await openPortalSession(config);
  // `list` emits no events: an early failure is "the login or the listing".
  const progress = new SetupProgress(false, null);
  try {
    for await (const ref of listRefs({
      site: session.site,
      baseUrl: session.baseUrl,
      credentials: session.credentials,
      ...session.sessions,
      chromiumPath: config.chromiumPath,
      headed: config.headed,
      slowMoMs: config.slowMoMs,
      signal,
      max: config.max,
    })) {
      progress.started = true;
      // Stops at once when the reader is gone (`| head`): the next write would only fail again.
      if (signal.aborted) break;
      process.stdout.write(`${JSON.stringify(ref)}\n`);
    }
  } catch (err) {
    if (isInterrupt(err, signal)) return EXIT_CODES.interrupted;
    throw progress.explain(err, session.baseUrl);
  } finally {
    await session.close();
  }
  return signal.aborted ? EXIT_CODES.interrupted : EXIT_CODES.ok;
}
