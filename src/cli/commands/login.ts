// `pagepool login`: log in once and save the session that runs, resumes and fleet machines start from
// (src/sessions/login-command.ts does the work). Writes nothing but the session file.
import path from 'node:path';
import { ConfigError, EXIT_CODES } from '../../errors.js';
import { loginCommand } from '../../sessions/login-command.js';
import type { CommandContext } from '../command-context.js';
import { ensureCreatable } from '../out-folder.js';
import { openPortalSession } from '../portal-session.js';
import { isInterrupt } from '../report-error.js';
import { setupFailure } from '../setup-failure.js';

export default async function login({ config, signal }: CommandContext): Promise<number> {
  const session = await openPortalSession(config);
  try {
    const file = session.sessions.sessionFile;
    if (file === null) {
      throw new ConfigError(
        '`pagepool login` needs a real portal (`--base-url`): the embedded demo portal forgets its sessions when the command ends',
      );
    }
    await ensureCreatable('--session', file, path.dirname(file));
    try {
      await loginCommand({
        site: session.site,
        baseUrl: session.baseUrl,
        credentials: session.credentials,
        file,
        proxy: session.sessions.proxy,
        byHand: session.byHand,
        chromiumPath: config.chromiumPath,
        slowMoMs: config.slowMoMs,
        signal,
        say: (line) => process.stdout.write(`${line}\n`),
      });
    } catch (err) {
      if (isInterrupt(err, signal)) return EXIT_CODES.interrupted;
      throw setupFailure(err, session.baseUrl, 'login');
    }
    return EXIT_CODES.ok;
  } finally {
    await session.close();
  }
}
