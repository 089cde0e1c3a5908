// What the last complete listing showed: when it ended, how many items it gave, and the done items it no longer
// gave (they left the portal). Written whole (temp file, fsync, rename) beside the checkpoint at the end of every
// complete listing; `status` and the next runs read it. The files of those items are never deleted.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../files/atomic-write.js';

export interface LastListing {
  /** When the listing ended (ISO 8601). */
  at: string;
  /** Keys it gave, bad refs not counted. */
  listed: number;
  /** Done items it did not give, sorted. */
  gone: string[];
}

/** `checkpoint.json` -> `checkpoint.listing.json`, beside it. */
export function lastListingPathFor(snapshotPath: string): string {
  return `${snapshotPath.replace(/\.json$/, '')}.listing.json`;
}

export async function writeLastListing(snapshotPath: string, listing: LastListing): Promise<void> {
  await writeFileAtomic(lastListingPathFor(snapshotPath), `${JSON.stringify(listing, null, 2)}\n`);
}

/** The last complete listing, or null when none has ended yet (or the file is not one: it only informs). */
export async function readLastListing(snapshotPath: string): Promise<LastListing | null> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(lastListingPathFor(snapshotPath), 'utf8'));
  } catch {
    return null;
  }
  const v = value as Partial<LastListing> | null;
  if (
    typeof v?.at !== 'string' ||
    typeof v.listed !== 'number' ||
    !Array.isArray(v.gone) ||
    !v.gone.every((k) => typeof k === 'string')
  )
    return null;
  return { at: v.at, listed: v.listed, gone: v.gone };
}
