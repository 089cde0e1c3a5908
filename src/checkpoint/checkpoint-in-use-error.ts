// The error a second writer gets: another live process holds the checkpoint's lock.
import os from 'node:os';
import { PagepoolError } from '../errors.js';
import type { LockOwner } from './checkpoint-lock.js';

/** Another process is writing this checkpoint: nothing was started or written. Exit code 2. */
export class CheckpointInUseError extends PagepoolError {
  readonly owner: LockOwner | null;
  constructor(checkpointPath: string, owner: LockOwner | null) {
    const who = owner
      ? `\`pagepool ${owner.command}\` (PID ${owner.pid} on ${owner.host}${owner.since ? `, since ${owner.since}` : ''})`
      : 'another process';
    const other =
      owner && owner.host !== os.hostname() ? `; if that process is gone, delete ${checkpointPath}.lock` : '';
    super(
      'CHECKPOINT_IN_USE',
      `The checkpoint ${checkpointPath} is in use by ${who}: wait for it to finish, or use another \`--out\`${other}`,
    );
    this.owner = owner;
  }
}
