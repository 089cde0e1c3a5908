// The free-space check before each file, and the one DiskFullError message for a full disk.
import { statfsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { DiskFullError, isErrno } from '../errors.js';

/** How old a free-space reading may be before the next file measures again. */
export const FREE_SPACE_RECHECK_MS = 1000;
/** How close to the margin (in the room a reading showed, minus what was written since) every file measures. */
export const FREE_SPACE_RECHECK_BYTES = 16 * 1024 * 1024;

/**
 * The check before each file of one output folder: throws DiskFullError when its file system has less than
 * `marginBytes` free for us. A statfs per file cost as much node CPU as the file's own write, so a reading is
 * reused for FREE_SPACE_RECHECK_MS while the room it showed above the margin, minus the bytes of the files
 * finished since (`wrote`), stays above FREE_SPACE_RECHECK_BYTES; nearer the margin every file measures, as
 * before. A disk that fills anyway (another writer, files still in flight) ends in ENOSPC: DiskFullError too.
 */
export class FreeSpace {
  readonly #dir: string;
  readonly #marginBytes: number;
  readonly #measure: (dir: string) => Promise<number>;
  #measuredAt = Number.NEGATIVE_INFINITY;
  #room = 0;

  constructor(dir: string, marginBytes: number, measure: (dir: string) => Promise<number> = freeBytesOf) {
    this.#dir = dir;
    this.#marginBytes = marginBytes;
    this.#measure = measure;
  }

  async ensure(): Promise<void> {
    if (this.#marginBytes <= 0) return;
    const fresh = performance.now() - this.#measuredAt < FREE_SPACE_RECHECK_MS;
    if (fresh && this.#room > FREE_SPACE_RECHECK_BYTES) return;
    const free = await this.#measure(this.#dir);
    this.#measuredAt = performance.now();
    this.#room = free - this.#marginBytes;
    if (free < this.#marginBytes) throw diskFullError(this.#dir, this.#marginBytes, free);
  }

  /** A file of `bytes` was written since the last reading: that much less room until the next one. */
  wrote(bytes: number): void {
    this.#room -= bytes;
  }
}

async function freeBytesOf(dir: string): Promise<number> {
  const stats = await statfs(dir);
  // bavail, not bfree: blocks reserved for root are not ours to fill.
  return stats.bavail * stats.bsize;
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
