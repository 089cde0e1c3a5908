// The error raised when a checkpoint file cannot be trusted: it names the file, the line and the fix.
import { PagepoolError } from '../errors.js';

/** A checkpoint file is damaged somewhere other than its last line; nothing was written or truncated. */
export class CheckpointCorruptError extends PagepoolError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string, options?: ErrorOptions) {
    super('CHECKPOINT_CORRUPT', message, options);
    this.file = file;
    this.line = line;
  }
}
