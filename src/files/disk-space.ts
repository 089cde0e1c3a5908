// Free-space checks before each file, and the one DiskFullError message for a full disk.
import { statfsSync } from 'node:fs';
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

/**
 * The one line for a stop for disk space: the folder, the free space and `--disk-margin`. `marginBytes` is the
 * margin (plus, after an ENOSPC, the size of the file being written); `freeBytes` is measured here when the
 * caller does not know it.
 */
export function diskFullError(
  dir: string,
  marginBytes: number,
  freeBytes?: number,
  cause?: unknown,
): DiskFullError {
  const free = freeBytes ?? freeSpace(dir);
  const freeText = free === undefined ? 'no room' : formatBytes(free);
  const text =
    cause === undefined
      ? `Stopped for disk space: ${dir} has ${freeText} free, less than \`--disk-margin\` (${formatBytes(marginBytes)}); ` +
        'free some space there (or lower `--disk-margin`) and run again'
      : `Stopped for disk space: the disk holding ${dir} is full (${freeText} free, ${formatBytes(marginBytes)} ` +
        'needed with `--disk-margin`); free some space there and run again';
  return new DiskFullError(text, cause === undefined ? undefined : { cause });
}

function freeSpace(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
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
