// One writer per checkpoint: `<checkpoint>.lock`, created with O_EXCL and holding the owner's PID, host and start
// time. A lock whose owner has died (same host, no such process, or a new process under a reused PID) is stale and
// taken over; a live owner's lock refuses the second run with one line naming it.
//
// Why not proper-lockfile: it marks a lock stale when its mtime has not been refreshed for `stale` ms, so a run
// whose event loop stalls (a loaded 2-core machine, a laptop lid, SIGSTOP) loses its lock to a second run while it
// still writes, and its lock names nobody. Here death is checked, not guessed: the kernel says whether the PID
// lives and /proc says whether it is still the same process; no timer keeps the lock alive.
import { readFileSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import os from 'node:os';
import { CheckpointInUseError } from './checkpoint-in-use-error.js';

export interface LockOwner {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (Linux /proc/PID/stat), to tell a reused PID. */
  startTicks: number | null;
  /** What it is doing: `run`, `repair`. */
  command: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** `<checkpoint>.lock`. */
export function lockPathFor(checkpointPath: string): string {
  return `${checkpointPath}.lock`;
}

/** Locks held by this process, by path: taking one again (the CLI, then run()'s checkpoint) nests. */
const held = new Map<string, { count: number }>();

export class CheckpointLock {
  #released = false;

  private constructor(readonly path: string) {}

  /**
   * Takes the lock of the checkpoint at `checkpointPath` (its folder must exist), taking over a stale one. Throws
   * CheckpointInUseError when a live process holds it.
   */
  static async acquire(checkpointPath: string, command: string): Promise<CheckpointLock> {
    const path = lockPathFor(checkpointPath);
    const mine = held.get(path);
    if (mine) {
      mine.count += 1;
      return new CheckpointLock(path);
    }
    const owner: LockOwner = {
      pid: process.pid,
      host: os.hostname(),
      startTicks: startTicksOf(process.pid),
      command,
      since: new Date().toISOString(),
    };
    // Two tries: the second after a stale lock was moved aside.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const file = await open(path, 'wx', 0o644);
        try {
          await file.writeFile(`${JSON.stringify(owner)}\n`);
          await file.sync();
        } finally {
          await file.close();
        }
        held.set(path, { count: 1 });
        return new CheckpointLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const current = await readOwner(path);
      if (current && !isStale(current)) throw new CheckpointInUseError(checkpointPath, current);
      // Stale (or unreadable: a crash between create and write). Renamed aside, not unlinked: of two runs taking
      // over at once only one rename succeeds, and the other then meets the winner's new lock.
      const aside = `${path}.stale-${process.pid}`;
      try {
        await rename(path, aside);
        await unlink(aside).catch(() => {});
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const current = await readOwner(path);
    throw new CheckpointInUseError(checkpointPath, current);
  }

  /** Who holds the lock of `checkpointPath` now, or null (no lock, or a stale one): for `status`. */
  static async owner(checkpointPath: string): Promise<LockOwner | null> {
    const current = await readOwner(lockPathFor(checkpointPath));
    return current && !isStale(current) ? current : null;
  }

  /** Gives the lock up (the file goes with the last nested holder); idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const mine = held.get(this.path);
    if (!mine) return;
    mine.count -= 1;
    if (mine.count > 0) return;
    held.delete(this.path);
    await unlink(this.path).catch(() => {});
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null;
    return {
      pid: value.pid,
      host: value.host,
      startTicks: typeof value.startTicks === 'number' ? value.startTicks : null,
      command: typeof value.command === 'string' ? value.command : 'run',
      since: typeof value.since === 'string' ? value.since : '',
    };
  } catch {
    return null;
  }
}

/** Dead for sure: on this host, and no process has the PID, or another process has it now. */
function isStale(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return false; // another machine's process: only its owner can tell
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: it lives, under another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const ticks = startTicksOf(owner.pid);
  return owner.startTicks !== null && ticks !== null && ticks !== owner.startTicks;
}

/** Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces), or null off Linux. */
function startTicksOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : null;
  } catch {
    return null;
  }
}
