// readListingAhead on a listing of its own (an async generator): how far it reads, --max, errors, stopping.
import { describe, expect, it } from 'vitest';
import type { SourceEntry } from '../../src/engine/item-source.js';
import { readListingAhead } from '../../src/engine/listing-read-ahead.js';

type Entry = SourceEntry<{ n: number }>;

/** A listing of `pages` pages of `rows` rows; `log` records each page opened and when the listing was closed. */
function listing(pages: number, rows: number, log: string[], fail?: { afterPage: number }) {
  return (async function* (): AsyncGenerator<Entry> {
    try {
      for (let page = 1; page <= pages; page += 1) {
        if (fail && page > fail.afterPage) throw new Error(`page ${page} refused`);
        log.push(`page ${page}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
        for (let row = 0; row < rows; row += 1) {
          const n = (page - 1) * rows + row;
          yield { ref: { n }, key: `k${n}`, pages: page };
        }
      }
    } finally {
      log.push('closed');
    }
  })();
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('readListingAhead', () => {
  it('gives every entry in order and reads the next listing page while one page of rows waits', async () => {
    const log: string[] = [];
    const ahead = readListingAhead(listing(4, 10, log), { max: 0, signal: new AbortController().signal });
    const first = await ahead.next();
    expect(first.value).toMatchObject({ key: 'k0' });
    await settle();
    // One row taken, nine of page 1 wait: page 2 is read, page 3 is not (a page of rows waits).
    expect(log).toEqual(['page 1', 'page 2']);
    const keys = [(first.value as { key: string }).key];
    for await (const entry of ahead) keys.push((entry as { key: string }).key);
    expect(keys).toEqual(Array.from({ length: 40 }, (_, n) => `k${n}`));
    expect(log).toEqual(['page 1', 'page 2', 'page 3', 'page 4', 'closed']);
  });

  it('--max: reads no entry past it, and closes the listing when the consumer stops', async () => {
    const log: string[] = [];
    const ahead = readListingAhead(listing(4, 10, log), { max: 10, signal: new AbortController().signal });
    const keys: string[] = [];
    for await (const entry of ahead) {
      keys.push((entry as { key: string }).key);
      await settle();
    }
    expect(keys).toHaveLength(10);
    expect(log).toEqual(['page 1', 'closed']);
  });

  it("a listing's error reaches the consumer after the entries read before it", async () => {
    const log: string[] = [];
    const ahead = readListingAhead(listing(3, 5, log, { afterPage: 1 }), {
      max: 0,
      signal: new AbortController().signal,
    });
    const keys: string[] = [];
    await expect(
      (async () => {
        for await (const entry of ahead) keys.push((entry as { key: string }).key);
      })(),
    ).rejects.toThrow('page 2 refused');
    expect(keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(log).toEqual(['page 1', 'closed']);
  });

  it('a consumer that stops early closes the listing, the read in flight done first', async () => {
    const log: string[] = [];
    const ahead = readListingAhead(listing(10, 10, log), { max: 0, signal: new AbortController().signal });
    await ahead.next();
    await ahead.return(undefined);
    expect(log.at(-1)).toBe('closed');
    expect(log.filter((l) => l.startsWith('page')).length).toBeLessThanOrEqual(2);
  });

  it('an aborted signal: nothing more is read, the entries already read are still given', async () => {
    const log: string[] = [];
    const controller = new AbortController();
    const ahead = readListingAhead(listing(10, 10, log), { max: 0, signal: controller.signal });
    await ahead.next();
    await settle();
    controller.abort();
    const rest: unknown[] = [];
    for await (const entry of ahead) rest.push(entry);
    expect(rest.length).toBeLessThan(20);
    expect(log.filter((l) => l.startsWith('page')).length).toBeLessThanOrEqual(2);
    expect(log.at(-1)).toBe('closed');
  });
});
