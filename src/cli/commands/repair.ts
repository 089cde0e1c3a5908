// `pagepool repair`: sets aside what is corrupt in the checkpoint, under its lock (never beside a running pull).
import { repairCheckpoint } from '../../checkpoint/checkpoint.js';
import { CheckpointLock } from '../../checkpoint/checkpoint-lock.js';
import { EXIT_CODES } from '../../errors.js';
import type { CommandContext } from '../command-context.js';

export default async function repair({ config }: CommandContext): Promise<number> {
  const lock = await CheckpointLock.acquire(config.checkpoint, 'repair').catch((err: unknown) => {
    // No folder: nothing has run here; repairCheckpoint says so in its own words.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  });
  try {
    const result = await repairCheckpoint(config.checkpoint);
    process.stdout.write(`${result.message}\n`);
    return EXIT_CODES.ok;
  } finally {
    await lock?.release();
  }
}
