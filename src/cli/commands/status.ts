// `pagepool status`: what the checkpoint (or, with --queue, the shared queue) holds; starts no browser, takes no lock.
import { stat } from 'node:fs/promises';
import { formatStatus, readStatus } from '../../checkpoint/checkpoint.js';
import { journalPathFor } from '../../checkpoint/checkpoint-paths.js';
import { ConfigError, EXIT_CODES } from '../../errors.js';
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
  if (!(await exists(config.checkpoint)) && !(await exists(journalPathFor(config.checkpoint)))) {
    throw new ConfigError(
      `No checkpoint at ${config.checkpoint}: nothing has run with this output folder yet`,
    );
  }
  const summary = await readStatus(config.checkpoint);
  process.stdout.write(
    config.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatStatus(summary, config.checkpoint)}\n`,
  );
  return EXIT_CODES.ok;
}
