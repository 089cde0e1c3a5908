// How a command that ends with an error tells the user: one line on stderr, the exit code from errors.ts.
import type { Config } from '../config.js';
import { DiskFullError, describe, EXIT_CODES, exitCodeOf, PagepoolError, ShutdownError } from '../errors.js';
import { diskFullError } from '../files/disk-space.js';

/** One line on stderr; returns the exit code. */
export function reportError(err: unknown, config?: Readonly<Config>): number {
  // A raw ENOSPC (a checkpoint write, say) gets the same one line as a margin stop, never the errno text.
  const shown =
    exitCodeOf(err) === EXIT_CODES.diskSpace && !(err instanceof DiskFullError) && config
      ? diskFullError(config.out, config.diskMarginBytes, undefined, err)
      : err;
  process.stderr.write(`pagepool: ${describe(shown)}\n`);
  return exitCodeOf(shown);
}

/** The command stopped because it was asked to (a signal, a closed stdout), not because something broke. */
export function isInterrupt(err: unknown, signal: AbortSignal): boolean {
  return err instanceof ShutdownError || (signal.aborted && !(err instanceof PagepoolError));
}
