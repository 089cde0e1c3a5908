// Free-space checks before each file, and the one DiskFullError message for a full disk.
import { statfs } from 'node:fs/promises';
import { DiskFullError, isErrno } from '../errors.js';

/** Throws DiskFullError when `dir`'s file system has less than `marginBytes` free for us. */
export async function ensureFreeSpace(dir: string, marginBytes: number): Promise<void> {
  if (marginBytes <= 0) return;
  const stats = await statfs(dir);
  // bavail, not bfree: blocks reserved for root are not ours to fill.
  const free = stats.bavail * stats.bsize;
  if (free < marginBytes) throw diskFullError(dir, marginBytes, free);
}

/** True for the errno codes that mean "no room left". */
export function isDiskFull(err: unknown): boolean {
  return isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT');
}

export function diskFullError(
  dir: string,
  neededBytes: number,
  freeBytes?: number,
  cause?: unknown,
): DiskFullError {
  const free = freeBytes === undefined ? '' : ` (${formatBytes(freeBytes)} free)`;
  return new DiskFullError(
    `The disk holding ${dir} is full${free}: free at least ${formatBytes(neededBytes)} there and run again`,
    cause === undefined ? undefined : { cause },
  );
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
