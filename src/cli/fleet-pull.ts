// `run --queue`, `work` and `enqueue`: the fleet's commands, with the same checks, display and setup-failure
// lines as a local pull. BullMQ and ioredis are loaded only here (~25 MB a local pull does not need).
import { EXIT_CODES } from '../errors.js';
import type { CommandContext } from './command-context.js';
import { ensureCreatable } from './out-folder.js';
import { openPortalSession } from './portal-session.js';
import { showProgress } from './progress-display.js';
import { openPullServices } from './pull-services.js';
import { checkRefsFile } from './refs-check.js';
import { isInterrupt } from './report-error.js';
import { SetupProgress } from './setup-failure.js';

export async function fleetPull({ config, signal, interrupts }: CommandContext): Promise<number> {
  const pulls = config.command !== 'enqueue';
  if (pulls) await ensureCreatable('--out', config.out, config.out);
  const say = (line: string) => {
    if (!config.quiet) process.stdout.write(`${line}\n`);
  };
  const services = await openPullServices(
    pulls ? config : { ...config, metricsPort: null, upload: null },
    signal,
    say,
  );
  try {
    const session = await openPortalSession(config, config.command === 'run' ? say : () => {});
    try {
      // As for a local pull: a --refs file with a bad line is a bad file, found before anything is queued.
      if (config.refs && config.refs !== '-') await checkRefsFile(session.site, config.refs);
      const { events } = services;
      // `enqueue` logs in and lists without events: there the failing phase is not known.
      const progress = new SetupProgress(!session.site.login, pulls ? events : null);
      const display = showProgress(events, config, interrupts);
      try {
        const { fleetCommand } = await import('../fleet/fleet-commands.js');
        return await fleetCommand({
          config,
          site: session.site,
          baseUrl: session.baseUrl,
          credentials: session.credentials,
          sessions: session.sessions,
          signal,
          events,
          upload: services.upload,
        });
      } catch (err) {
        if (isInterrupt(err, signal)) return EXIT_CODES.interrupted;
        throw progress.explain(err, session.baseUrl);
      } finally {
        display.stop();
      }
    } finally {
      await session.close();
    }
  } finally {
    await services.close();
  }
}
