// What every command's handler is given, and what it returns: the exit code.
import type { Config } from '../config.js';
import type { Interrupts } from './interrupts.js';

export interface CommandContext {
  config: Readonly<Config>;
  /** Aborted on the first Ctrl+C or SIGTERM: finish what is in flight, start nothing new. */
  signal: AbortSignal;
  /** Where the stop notices go while a display owns the terminal. */
  interrupts: Interrupts;
}

/** A command: resolves with the exit code (errors.ts EXIT_CODES); a thrown error becomes one line on stderr. */
export type CommandHandler = (ctx: CommandContext) => Promise<number>;
