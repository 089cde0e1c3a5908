// A pull's source through the checkpoint: what it skips (done, or failed for good) unless a refresh makes it stale,
// and, for a listing that ends complete, the done items it no longer gave (they left the portal).
//
// Stale items are pulled in listing order, interleaved with the new ones, not after them: the listing is read
// lazily, once; holding stale refs back until its end would keep up to the whole inventory's refs in memory and
// start them long after they were read (a detail URL from a listing may carry a token that expires). A refresh
// that is stopped resumes where it was: the items it refreshed are no longer stale.
import type { EventEmitter } from 'node:events';
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { RunEvents } from '../run-events.js';
import type { SourceEntry } from './item-source.js';

/** The skip rule of a pull: done or failed for good (unless `retryFailed`), and not stale. */
export function checkpointSkip(checkpoint: Checkpoint, retryFailed: boolean): (key: string) => boolean {
  return (key) => checkpoint.shouldSkip(key, { retryFailed }) && !checkpoint.isStale(key);
}

/**
 * Passes a listing through, marking each key it gives in the checkpoint. When it ends complete (its last ref given,
 * the run not stopped; a `--max` cut or a failure ends it early, and then nothing is said), the done items it did
 * not give are recorded beside the checkpoint (`checkpoint.recordListing`) and told ('list:gone').
 */
export async function* completeListing<Ref>(
  source: AsyncIterable<SourceEntry<Ref>>,
  checkpoint: Checkpoint,
  signal: AbortSignal,
  events: EventEmitter<RunEvents>,
): AsyncGenerator<SourceEntry<Ref>> {
  let listed = 0;
  for await (const entry of source) {
    if ('key' in entry) {
      listed += 1;
      checkpoint.markListed(entry.key);
    }
    yield entry;
  }
  // A stopped listing (Ctrl+C) returns quietly: it is not the portal's whole inventory.
  if (signal.aborted) return;
  const keys = await checkpoint.recordListing(listed);
  events.emit('list:gone', { keys, listed });
}
