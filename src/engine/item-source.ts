// Where items come from: the site's listing (with re-login), or a refs file; then --max and the checkpoint filter.
// A ref that cannot be worked (no usable key, a `--refs` line that is no ref) is recorded and skipped, naming itself
// and where it came from: one bad ref never stops the run.
import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright';
import type { PagePool } from '../browser/page-pool.js';
import { classify, describe, SessionExpiredError } from '../errors.js';
import { type Charges, charge, decide } from '../queue/attempt-policy.js';
import type { BackoffOptions } from '../queue/backoff-delay.js';
import { QUEUE_DEFAULTS } from '../queue/queue-options.js';
import type { RateHold } from '../queue/rate-hold.js';
import type { SingleFlightLogin } from '../queue/single-flight-login.js';
import type { RunEvents } from '../run-events.js';
import { listSite } from '../sites/list-site.js';
import type { RefLine } from '../sites/read-refs.js';
import type { Site } from '../sites/site.js';

/** Listing restarts in a row that yield nothing new before the listing is given up. */
const MAX_FRUITLESS_RESTARTS = 3;
/** A bad ref is shown as its JSON cut to this many characters. */
export const BAD_REF_CHARS = 120;

/** A ref that cannot be worked, as the run reports it ('ref:bad'). */
export interface BadRef {
  /** The ref as JSON (the line's text for a line that is not JSON), cut to 120 characters (ending `...`). */
  ref: string;
  /** Where it came from: `the listing page URL` or `` `--refs` FILE line N ``. */
  where: string;
  /** Why it cannot be worked: `site.key() gave an empty string`, `not valid JSON`, ... */
  reason: string;
}

/**
 * One item of a source: a ref with its key, or a bad ref. `pages`: the listing's documents opened so far (absent
 * for `--refs`).
 */
export type SourceEntry<Ref> = ({ ref: Ref; key: string } | { bad: BadRef }) & { pages?: number };

/** The ref with its key, or a bad ref when `site.key(ref)` throws or gives anything but a non-empty string. */
export function keyed<Ref>(site: Site<Ref>, ref: Ref, where: string): SourceEntry<Ref> {
  let key: unknown;
  try {
    key = site.key(ref);
  } catch (err) {
    return { bad: badRef(ref, where, `site.key() threw: ${describe(err)}`) };
  }
  if (typeof key === 'string' && key !== '') return { ref, key };
  const got = key === '' ? 'an empty string' : `${typeof key} \`${String(key)}\`, not a string`;
  return { bad: badRef(ref, where, `site.key() gave ${got}`) };
}

function badRef(value: unknown, where: string, reason: string): BadRef {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return { ref: cut(text), where, reason };
}

function cut(text: string): string {
  return text.length > BAD_REF_CHARS ? `${text.slice(0, BAD_REF_CHARS - 3)}...` : text;
}

/** How the listing retries a page that failed: the run's `--retries` and backoff, and its 429 hold. */
export interface ListingRetry {
  retries: number;
  backoff: BackoffOptions;
  /** The run's hold: a 429 on the listing holds the pages too. */
  hold?: RateHold;
}

/**
 * The site's listing on a page of its own. If the portal logs us out mid-listing, log in again (the workers'
 * login: one login per expiry, whoever met it first) and list anew, skipping what was already yielded. A long listing may outlive many
 * sessions, so only restarts that find nothing new count toward the limit. Any other failure of a listing page is
 * judged by the items' attempt policy (a 5xx, a timeout or a dropped connection is retried after a backoff, a 429
 * after its Retry-After, a 404 or a refusal is not), and the retries are charged to the listing until a restart
 * yields something new.
 */
export async function* listWithRelogin<Ref>(
  site: Site<Ref>,
  pool: PagePool,
  baseUrl: string,
  signal: AbortSignal,
  events: EventEmitter<RunEvents>,
  login: SingleFlightLogin,
  retry: ListingRetry = { retries: QUEUE_DEFAULTS.retries, backoff: QUEUE_DEFAULTS.backoff },
): AsyncGenerator<SourceEntry<Ref>> {
  const policy = { retries: retry.retries, backoff: retry.backoff, classify, canRelogin: true };
  let charges: Charges = { charged: 0, free: 0 };
  const seen = new Set<string>();
  // A listing started again after a re-login meets its bad refs again: each is reported once.
  const seenBad = new Set<string>();
  // The listing's page, opened when the listing first needs it (at once unless the site has `pageOnDemand`),
  // kept across restarts.
  let page: Promise<Page> | undefined;
  const openPage = () => (page ??= pool.extraPage());
  // Documents the listing opened (its pages, in the browser or over HTTP), across restarts; redirects are none.
  let pages = 0;
  let lastPage: string | undefined;
  const onPage = (url: string) => {
    pages += 1;
    lastPage = url;
  };
  try {
    for (let fruitless = 0; ; ) {
      // The session the next request of the listing goes out with: logins done before it do not fix its failure.
      let epoch = login.epoch;
      const before = seen.size;
      try {
        const log = (message: string) => events.emit('warning', { message });
        for await (const ref of listSite(site, {
          openPage,
          signal,
          baseUrl,
          log,
          fetchHtml: pool.readHtml,
          onPage,
          readTimeoutMs: pool.pageTimeoutMs,
        })) {
          const entry = keyed(site, ref, `the listing page ${lastPage ?? baseUrl}`);
          const id = 'key' in entry ? entry.key : `${entry.bad.where}\n${entry.bad.ref}`;
          const known = 'key' in entry ? seen : seenBad;
          if (known.has(id)) continue;
          known.add(id);
          yield { ...entry, pages };
          epoch = login.epoch;
        }
        return;
      } catch (err) {
        // Stopping (Ctrl+C) aborts the page the listing waits on: that ends the listing, it is no error of the run.
        if (signal.aborted) return;
        if (seen.size > before) {
          fruitless = 0;
          charges = { charged: 0, free: 0 };
        } else fruitless += 1;
        if (err instanceof SessionExpiredError) {
          if (fruitless > MAX_FRUITLESS_RESTARTS) throw err;
          events.emit('warning', { message: 'logged out while listing; listing again after a re-login' });
          await login.relogin(epoch);
          continue;
        }
        const now = Date.now();
        const verdict = decide(err, charges, policy, now, {
          heldUntil: retry.hold?.heldUntil(now) ?? 0,
          reloginSince: false,
        });
        if (verdict.kind !== 'retry' && verdict.kind !== 'hold') throw err;
        charges = charge(charges, verdict);
        let untilMs = verdict.kind === 'retry' ? now + verdict.delayMs : verdict.untilMs;
        if (verdict.kind === 'hold' && retry.hold) {
          retry.hold.hold(verdict.untilMs, now, describe(err));
          untilMs = retry.hold.heldUntil(now) ?? untilMs;
        }
        const waitMs = Math.max(0, untilMs - now);
        events.emit('warning', {
          message: `the listing failed (${describe(err)}); listing again in ${(waitMs / 1000).toFixed(1)} s`,
        });
        try {
          await sleep(waitMs, undefined, { signal });
        } catch {
          return; // stopped while waiting
        }
      }
    }
  } finally {
    if (page) await (await page.catch(() => null))?.close().catch(() => {});
  }
}

/** `--refs` lines as refs of `site` (its `parseRef`); a line that is not one is that line's bad ref. */
export async function* parseRefs<Ref>(
  site: Site<Ref>,
  lines: AsyncIterable<RefLine>,
): AsyncGenerator<SourceEntry<Ref>> {
  for await (const line of lines) {
    if ('error' in line) {
      yield { bad: { ref: cut(line.text), where: line.where, reason: line.error } };
      continue;
    }
    let ref: Ref;
    try {
      ref = site.parseRef ? site.parseRef(line.value) : (line.value as Ref);
    } catch (err) {
      yield { bad: badRef(line.value, line.where, `not a ref of site ${site.name}: ${describe(err)}`) };
      continue;
    }
    yield keyed(site, ref, line.where);
  }
}

/**
 * Applies `--max` (first N of the source) and skips what is finished; reports each bad ref ('ref:bad') and the
 * listing's progress ('list:progress': pages, refs seen, how many new) as it goes.
 */
export async function* limitSource<Ref>(
  source: AsyncIterable<SourceEntry<Ref>>,
  opts: {
    /** True for keys this run must not process (done, or failed permanently). */
    skip(key: string): boolean;
    max: number;
    events: EventEmitter<RunEvents>;
  },
): AsyncGenerator<Ref> {
  let seen = 0;
  let queued = 0;
  let pages: number | null = null;
  const progress = (done: boolean) => opts.events.emit('list:progress', { pages, seen, fresh: queued, done });
  for await (const entry of source) {
    seen += 1;
    pages = entry.pages ?? null;
    if ('bad' in entry) {
      opts.events.emit('ref:bad', entry.bad);
      progress(false);
    } else if (!opts.skip(entry.key)) {
      queued += 1;
      opts.events.emit('run:total', { total: queued });
      progress(false);
      yield entry.ref;
    } else progress(false);
    if (opts.max > 0 && seen >= opts.max) break;
  }
  progress(true);
}
