// Where items come from: the site's listing (with re-login), or a refs file; then --max and the checkpoint filter.
import type { EventEmitter } from 'node:events';
import type { PagePool } from '../browser/page-pool.js';
import { ConfigError, SessionExpiredError } from '../errors.js';
import type { RunEvents } from '../run-events.js';
import type { Site } from '../sites/site.js';

/**
 * The site's listing on a page of its own. If the portal logs us out mid-listing, log in again and list anew,
 * skipping what was already yielded (at most 3 times).
 */
export async function* listWithRelogin<Ref>(
  site: Site<Ref>,
  pool: PagePool,
  baseUrl: string,
  signal: AbortSignal,
  events: EventEmitter<RunEvents>,
): AsyncGenerator<Ref> {
  const seen = new Set<string>();
  const page = await pool.extraPage();
  try {
    for (let restarts = 0; ; restarts++) {
      try {
        for await (const ref of site.list(page, signal, baseUrl)) {
          const key = site.key(ref);
          if (seen.has(key)) continue;
          seen.add(key);
          yield ref;
        }
        return;
      } catch (err) {
        if (!(err instanceof SessionExpiredError) || restarts >= 3) throw err;
        events.emit('warning', { message: 'logged out while listing; logging in again' });
        await pool.relogin();
      }
    }
  } finally {
    await page.close().catch(() => {});
  }
}

export async function* parseRefs<Ref>(site: Site<Ref>, values: AsyncIterable<unknown>): AsyncGenerator<Ref> {
  let n = 0;
  for await (const value of values) {
    n += 1;
    let ref: Ref;
    try {
      ref = site.parseRef ? site.parseRef(value) : (value as Ref);
    } catch (err) {
      throw new ConfigError(
        `\`--refs\` item ${n} is not a ref of site ${site.name}: ${(err as Error).message}`,
      );
    }
    yield ref;
  }
}

/** Applies `--max` (first N of the source) and skips what is finished. */
export async function* limitSource<Ref>(
  source: AsyncIterable<Ref>,
  opts: {
    site: Site<Ref>;
    /** True for keys this run must not process (done, or failed permanently). */
    skip(key: string): boolean;
    max: number;
    events: EventEmitter<RunEvents>;
  },
): AsyncGenerator<Ref> {
  let seen = 0;
  let queued = 0;
  for await (const ref of source) {
    seen += 1;
    if (!opts.skip(opts.site.key(ref))) {
      queued += 1;
      opts.events.emit('run:total', { total: queued });
      yield ref;
    }
    if (opts.max > 0 && seen >= opts.max) return;
  }
}
