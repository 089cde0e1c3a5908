// Which way a site's reads work (`job.read`): over HTTP first, or straight to the browser page. Learned per kind of
// read from what each way cost and how often the HTTP read had the answer; pure, no clock, no I/O.

/** HTTP reads looked at: the last this many of a kind of read. */
const WINDOW = 20;
/** Below this many HTTP reads of a kind, HTTP goes first whatever they showed. */
const MIN_SAMPLES = 5;
/** While the page goes first, every this many reads try HTTP first again (the portal may have changed). */
const PROBE_EVERY = 10;

export type ReadWay = 'http' | 'page';

/** What one read found: whether HTTP had the answer, whether the page did (when it was opened), and their ms. */
export interface ReadOutcome {
  http?: { found: boolean; ms: number };
  page?: { found: boolean; ms: number };
}

interface KindStats {
  /** Recent HTTP reads whose answer is known: true when the HTML had it, false when only the page had it. */
  hits: boolean[];
  httpMs: number | undefined;
  pageMs: number | undefined;
  pageFirst: boolean;
  sincePageFirst: number;
}

/**
 * Trying HTTP first costs an HTTP read on every item and a page on each it misses; going to the page costs a page.
 * So HTTP goes first while share-found x page-ms > http-ms (averages over recent reads), and the page otherwise,
 * with a probe over HTTP every PROBE_EVERY reads. A read that neither way answered says nothing about the ways.
 */
export class ReadMemory {
  readonly #kinds = new Map<string, KindStats>();

  /** The way the next read of `kind` goes first. */
  first(kind: string): ReadWay {
    const stats = this.#kinds.get(kind);
    if (!stats?.pageFirst) return 'http';
    stats.sincePageFirst += 1;
    return stats.sincePageFirst % PROBE_EVERY === 0 ? 'http' : 'page';
  }

  /** Learns from one read of `kind`; returns the way reads of it go first now when that changed, else undefined. */
  record(kind: string, outcome: ReadOutcome): ReadWay | undefined {
    let stats = this.#kinds.get(kind);
    if (!stats) {
      stats = { hits: [], httpMs: undefined, pageMs: undefined, pageFirst: false, sincePageFirst: 0 };
      this.#kinds.set(kind, stats);
    }
    const { http, page } = outcome;
    if (http) stats.httpMs = average(stats.httpMs, http.ms);
    if (page) stats.pageMs = average(stats.pageMs, page.ms);
    // HTTP's miss counts only when the page had it; a page that found it alone (no HTTP tried) shows nothing.
    const known = http?.found ? true : http && page?.found ? false : undefined;
    if (known !== undefined) {
      stats.hits.push(known);
      if (stats.hits.length > WINDOW) stats.hits.shift();
    }
    const pageFirst = this.#pageFirst(stats);
    if (pageFirst === stats.pageFirst) return undefined;
    stats.pageFirst = pageFirst;
    stats.sincePageFirst = 0;
    return pageFirst ? 'page' : 'http';
  }

  /** The share of recent HTTP reads of `kind` that had the answer (undefined before any). */
  httpShare(kind: string): number | undefined {
    const hits = this.#kinds.get(kind)?.hits;
    return hits?.length ? hits.filter(Boolean).length / hits.length : undefined;
  }

  #pageFirst(stats: KindStats): boolean {
    if (stats.hits.length < MIN_SAMPLES || stats.pageMs === undefined || stats.httpMs === undefined)
      return false;
    const share = stats.hits.filter(Boolean).length / stats.hits.length;
    return share * stats.pageMs <= stats.httpMs;
  }
}

/** An exponential moving average, the newest value weighing a fifth. */
function average(previous: number | undefined, value: number): number {
  return previous === undefined ? value : previous + (value - previous) / 5;
}
