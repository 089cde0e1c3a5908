// The listing read one listing page ahead of the queue (issue 26, point 1). The queue pulls its source into a
// buffer of its own (3 x pages plus free slots), and asks for the next listing page only once that buffer has room
// after the last row of the page before: when a listing page takes longer than the buffer lasts (big listing pages,
// fast detail pages), every page then waits on it. Here the next listing page is read while the rows of about one
// listing page still wait, so a listing that is faster than the pages never stalls them.
import type { SourceEntry } from './item-source.js';

export interface ReadAheadOptions {
  /** The queue takes only the first `max` entries (`--max`): none past them is read. 0 = all. */
  max: number;
  /** Aborted: nothing more is read. */
  signal: AbortSignal;
}

/**
 * `source` with up to one listing page of entries (the most rows one listing page gave so far, by `entry.pages`)
 * read ahead in the background. An error of the source reaches the consumer after the entries read before it.
 * Returning (the queue stopped, `--max` reached) waits for the read in flight, then returns the source.
 */
export async function* readListingAhead<Ref>(
  source: AsyncIterable<SourceEntry<Ref>>,
  { max, signal }: ReadAheadOptions,
): AsyncGenerator<SourceEntry<Ref>> {
  const iterator = source[Symbol.asyncIterator]();
  const buffer: SourceEntry<Ref>[] = [];
  let read = 0;
  let ended = false;
  let stopped = false;
  let failure: { error: unknown } | null = null;
  // The most rows one listing page gave, and the rows of the page being read.
  let pageRows = 0;
  let rowsHere = 0;
  let page: number | undefined;
  let reading: Promise<void> | null = null;
  let wake: (() => void) | null = null;

  const wanted = () =>
    !ended &&
    !stopped &&
    failure === null &&
    !signal.aborted &&
    (max === 0 || read < max) &&
    buffer.length < Math.max(1, pageRows);
  const readOn = async () => {
    try {
      while (wanted()) {
        const result = await iterator.next();
        if (result.done) {
          ended = true;
          break;
        }
        read += 1;
        const entry = result.value;
        if (entry.pages !== page) {
          page = entry.pages;
          rowsHere = 0;
        }
        rowsHere += 1;
        pageRows = Math.max(pageRows, rowsHere);
        buffer.push(entry);
        wake?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      reading = null;
      wake?.();
    }
  };
  const fill = () => {
    if (reading === null && wanted()) reading = readOn();
  };

  try {
    for (;;) {
      fill();
      const entry = buffer.shift();
      if (entry !== undefined) {
        fill();
        yield entry;
        continue;
      }
      if (failure !== null) throw (failure as { error: unknown }).error;
      // Ended, stopped, or --max read: nothing more will come.
      if (reading === null) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  } finally {
    stopped = true;
    await reading;
    await iterator.return?.();
  }
}
