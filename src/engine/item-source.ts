// Where items come from: the site's listing (with re-login), or a refs file; then --max and the checkpoint filter.
import type { EventEmitter } from 'node:events';
import type { PagePool } from '../browser/page-pool.js';
import { ConfigError, SessionExpiredError } from '../errors.js';
import type { SingleFlightLogin } from '../queue/single-flight-login.js';
import type { RunEvents } from '../run-events.js';
import { listSite } from '../sites/list-site.js';
import type { Site } from '../sites/site.js';

/** Listing restarts in a row that yield nothing new before the listing is given up. */
const MAX_FRUITLESS_RESTARTS = 3;

/**
 * The site's listing on a page of its own. If the portal logs us out mid-listing, log in again (the workers'
 * login: one login per expiry, whoever met it first) and list anew, skipping what was already yielded. A long listing may outlive many
 * sessions, so only restarts that find nothing new count toward the limit.
 */
export async function* listWithRelogin<Ref>(
  site: Site<Ref>,
  pool: PagePool,
  baseUrl: string,
  signal: AbortSignal,
  events: EventEmitter<RunEvents>,
  login: SingleFlightLogin,
): AsyncGenerator<Ref> {
  const seen = new Set<string>();
  const page = await pool.extraPage();
  try {
    for (let fruitless = 0; ; ) {
      // The session the next request of the listing goes out with: logins done before it do not fix its failure.
      let epoch = login.epoch;
      const before = seen.size;
      try {
        const log = (message: string) => events.emit('warning', { message });
        for await (const ref of listSite(site, { page, signal, baseUrl, log })) {
          const key = site.key(ref);
          if (seen.has(key)) continue;
          seen.add(key);
          yield ref;
          epoch = login.epoch;
        }
        return;
      } catch (err) {
        // Stopping (Ctrl+C) aborts the page the listing waits on: that ends the listing, it is no error of the run.
        if (signal.aborted) return;
        fruitless = seen.size > before ? 0 : fruitless + 1;
        if (!(err instanceof SessionExpiredError) || fruitless > MAX_FRUITLESS_RESTARTS) throw err;
        events.emit('warning', { message: 'logged out while listing; listing again after a re-login' });
        await login.relogin(epoch);
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
