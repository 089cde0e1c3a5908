// `pagepool status`: what the checkpoint (or, with --queue, the shared queue) holds; starts no browser, takes no lock.
import { stat } from 'node:fs/promises';
import { formatStatus, readStatus, statusCounts } from '../../checkpoint/checkpoint.js';
import { CheckpointLock } from '../../checkpoint/checkpoint-lock.js';
import { journalPathFor } from '../../checkpoint/checkpoint-paths.js';
import { ConfigError, EXIT_CODES } from '../../errors.js';
import { defaultSessionPath, formatSessionStatus, sessionFileInfo } from '../../sessions/session-file.js';
import type { CommandContext } from '../command-context.js';

export default async function status({ config }: CommandContext): Promise<number> {
  if (config.queue) {
    const { fleetStatus } = await import('../../fleet/fleet-commands.js');
    return fleetStatus(config);
  }
  // A run killed before its first clean close has a journal but no snapshot yet: that is a checkpoint too.
  const exists = (file: string) =>
    stat(file).then(
      () => true,
      () => false,
    );
  // Read without the lock: a running pull's checkpoint is always whole on disk (a torn last line is skipped).
  const owner = await CheckpointLock.owner(config.checkpoint);
  const files = (await exists(config.checkpoint)) || (await exists(journalPathFor(config.checkpoint)));
  if (!files && owner === null) {
    throw new ConfigError(
      `No checkpoint at ${config.checkpoint}: nothing has run with this output folder yet`,
    );
  }
  const summary = await readStatus(config.checkpoint);
  const running = owner
    ? { pid: owner.pid, host: owner.host, command: owner.command, since: owner.since }
    : null;
  const note = running
    ? `\nIn use by \`pagepool ${running.command}\` (PID ${running.pid} on ${running.host}, since ${running.since}): these counts are moving.`
    : '';
  // Of the saved session, only whether there is one and when it was saved: it is a credential (issue 24).
  const sessionFile = config.session ?? defaultSessionPath(config.out);
  const session = await sessionFileInfo(sessionFile);
  const savedAt = session.savedAt ? { savedAt: session.savedAt.toISOString() } : {};
  process.stdout.write(
    config.json
      ? `${JSON.stringify({ ...statusCounts(summary), running, session: { saved: session.saved, ...savedAt } }, null, 2)}\n`
      : `${formatStatus(summary, config.checkpoint)}${note}\n${formatSessionStatus(sessionFile, session)}\n`,
  );
  return EXIT_CODES.ok;
}
