// `job.read(url, extract)`: what `extract` finds in a page, read over HTTP when the server's HTML has it and on the
// browser page (scripts run) when it does not, each kind of read remembering which way works (read-memory.ts).
import type { Page } from 'playwright';
import { checkResponseFor } from './check-response.js';
import { HtmlPage } from './html-page.js';
import { absoluteUrl, type HttpReader, type HttpReadOptions } from './http-reader.js';
import type { ReadMemory, ReadOutcome, ReadWay } from './read-memory.js';
import type { Site } from './site.js';

/** After the load event, how long a page may take to go quiet (no request for 500 ms) before it is read again. */
export const SETTLE_TIMEOUT_MS = 5_000;

export interface ReadOptions extends HttpReadOptions {
  /**
   * Which way: `auto` reads over HTTP first and opens the page when the HTML lacks the answer, learning per kind
   * of read which way to start with; `http` and `page` only that way.
   * @default 'auto'
   */
  via?: 'auto' | ReadWay;
  /** The kind of read the memory learns under. @default the source of `extract` (one kind per extract function) */
  kind?: string;
}

/**
 * Resolves with what `extract(page)` returns for the page at `url` (absolute, or relative to the base URL), or null
 * when neither way had it. `extract` gets an HtmlPage (the server's HTML, or the browser page's DOM once its scripts
 * ran) and returns null or undefined for "not in this page". Errors are a page's: a login page is a session expiry,
 * 404 permanent, 429 held, 5xx retried.
 */
export type Read = <T>(
  url: string,
  extract: (page: HtmlPage) => T | null | undefined,
  options?: ReadOptions,
) => Promise<T | null>;

export interface ReadContext {
  site: Pick<Site, 'name' | 'login' | 'loggedOut'>;
  baseUrl: string;
  http: HttpReader;
  /** The browser page to fall back to (taken from the pool on first call, for a site with `pageOnDemand`). */
  openPage(): Promise<Page>;
  memory: ReadMemory;
  /** Told when a kind of read changes the way it starts. */
  onSwitch?: (message: string) => void;
  /** Told of each page read on the browser page (its URL after redirects); reads over HTTP are the reader's. */
  onPageRead?: (url: string) => void;
}

export function adaptiveRead(ctx: ReadContext): Read {
  return async (url, extract, options = {}) => {
    const via = options.via ?? 'auto';
    const kind = options.kind ?? String(extract);
    const first = via === 'auto' ? ctx.memory.first(kind) : via;
    const outcome: ReadOutcome = {};
    if (first === 'http') {
      const started = performance.now();
      const value = extract(await ctx.http.html(url, options));
      outcome.http = { found: value != null, ms: performance.now() - started };
      if (value != null || via === 'http') {
        learn(ctx, kind, outcome, via);
        return value ?? null;
      }
    }
    const started = performance.now();
    const value = await fromPage(ctx, url, extract, options.what);
    outcome.page = { found: value != null, ms: performance.now() - started };
    learn(ctx, kind, outcome, via);
    return value;
  };
}

function learn(ctx: ReadContext, kind: string, outcome: ReadOutcome, via: ReadOptions['via']): void {
  if (via !== 'auto') return;
  const now = ctx.memory.record(kind, outcome);
  if (now === undefined) return;
  const share = Math.round((ctx.memory.httpShare(kind) ?? 0) * 100);
  const what = `site ${ctx.site.name}: reads of ${short(kind)}`;
  ctx.onSwitch?.(
    now === 'page'
      ? `${what} go to the browser page first now: the HTML over HTTP had ${share} % of them`
      : `${what} go over HTTP first again: the HTML had ${share} % of them`,
  );
}

/** The page opened in the browser, read once loaded and again once quiet if `extract` found nothing yet. */
async function fromPage<T>(
  ctx: ReadContext,
  url: string,
  extract: (page: HtmlPage) => T | null | undefined,
  what: string | undefined,
): Promise<T | null> {
  const target = absoluteUrl(url, ctx.baseUrl);
  const page = await ctx.openPage();
  const response = await page.goto(target, { waitUntil: 'load' });
  ctx.onPageRead?.(page.url());
  await checkResponseFor(ctx.site, page)(response, what);
  const read = async () => extract(new HtmlPage(await page.content(), page.url(), response?.status() ?? 200));
  const value = await read();
  if (value != null) return value;
  // Scripts may still be building the page (a timer after load, a request for data): wait for it to go quiet.
  await page.waitForLoadState('networkidle', { timeout: SETTLE_TIMEOUT_MS }).catch((err: unknown) => {
    if (page.isClosed()) throw err;
  });
  return (await read()) ?? null;
}

function short(source: string): string {
  const flat = source.replace(/\s+/g, ' ');
  return flat.length > 60 ? `\`${flat.slice(0, 57)}...\`` : `\`${flat}\``;
}
