// Calls `site.list` with its context (or the deprecated positional form), and refuses a listing that yields nothing.
import type { Page, Response } from 'playwright';
import { NoItemsError } from '../errors.js';
import { adaptiveRead } from './adaptive-read.js';
import { checkResponseFor } from './check-response.js';
import { type FetchHtml, httpReader } from './http-reader.js';
import { ReadMemory } from './read-memory.js';
import type { ListContext, Site } from './site.js';

type LegacyList<Ref> = (
  page: ListContext['page'],
  signal: AbortSignal,
  baseUrl: string,
) => AsyncIterable<Ref>;

/**
 * `site.list` on `context.page`. A listing that ends without yielding anything throws `NoItemsError` naming the
 * last page it opened and that page's status: an empty pull is a broken adapter or a refused page far more often
 * than an empty portal, and must not end as "Done, 0 items" with exit code 0.
 */
export async function* listSite<Ref>(
  site: Site<Ref>,
  context: Omit<ListContext, 'checkResponse' | 'http' | 'read' | 'page' | 'openPage'> & {
    /** Opens the listing's browser page: at once, or with the site's `pageOnDemand` when the listing asks. */
    openPage(): Promise<Page>;
    /** How the listing's `http` reads pages (the session's HTTP client); none: `http.html` throws. */
    fetchHtml: FetchHtml | undefined;
    /** Told of each page the listing opened or read over HTTP (not a redirect), with its URL. */
    onPage?: (url: string) => void;
    /** A page read over HTTP that takes longer fails, as a page's navigation does (`--page-timeout`). */
    readTimeoutMs?: number;
  },
): AsyncGenerator<Ref> {
  const { openPage, signal, baseUrl, fetchHtml, onPage, readTimeoutMs, ...rest } = context;
  let last: { url: string; status: number } | undefined;
  const opened = (url: string, status: number) => {
    last = { url, status };
    if (status < 300 || status >= 400) onPage?.(url);
  };
  let page: Page | undefined;
  let opening: Promise<Page> | undefined;
  const onResponse = (response: Response) => {
    try {
      if (response.request().isNavigationRequest() && response.frame() === page?.mainFrame()) {
        opened(response.url(), response.status());
      }
    } catch {
      // A service worker's response has no frame: it is no page of the listing.
    }
  };
  const takePage = () =>
    (opening ??= openPage().then((taken) => {
      page = taken;
      taken.on('response', onResponse);
      return taken;
    }));
  // The positional form of list() is given the page itself.
  const legacy = site.list.length >= 2;
  if (!site.pageOnDemand || legacy) await takePage();
  const pageNow = (): Page => {
    if (page) return page;
    throw new TypeError(
      `site ${site.name} has pageOnDemand: take the listing's page with \`await openPage()\` before using \`page\``,
    );
  };
  const http = httpReader({
    site,
    baseUrl,
    signal,
    onRead: (read) => opened(read.url(), read.status),
    // As checkResponse names a listing page: a refused one says it was the listing's.
    name: (where) => `the listing page ${where}`,
    ...(readTimeoutMs === undefined ? {} : { timeoutMs: readTimeoutMs }),
    fetchHtml:
      fetchHtml ??
      (async () => {
        throw new Error('this listing has no HTTP session to read pages with');
      }),
  });
  const ctx: ListContext = {
    ...rest,
    get page() {
      return pageNow();
    },
    openPage: takePage,
    signal,
    baseUrl,
    http,
    read: adaptiveRead({
      site,
      baseUrl,
      http,
      openPage: takePage,
      memory: new ReadMemory(),
      onSwitch: context.log,
    }),
    checkResponse: (response, what) =>
      checkResponseFor(site, pageNow())(
        response,
        what ?? `the listing page ${response?.url() ?? pageNow().url()}`,
      ),
  };
  let yielded = 0;
  try {
    let items: AsyncIterable<Ref>;
    if (legacy) {
      context.log(
        `site ${site.name}: list(page, signal, baseUrl) is deprecated; write list({ page, signal, baseUrl })`,
      );
      items = (site.list as unknown as LegacyList<Ref>).call(site, pageNow(), signal, baseUrl);
    } else items = site.list(ctx);
    for await (const ref of items) {
      yielded += 1;
      yield ref;
    }
  } finally {
    page?.off('response', onResponse);
  }
  if (yielded === 0 && !signal.aborted) {
    const where = last ? ` (its last page, ${last.url}, answered HTTP ${last.status})` : '';
    throw new NoItemsError(`the listing of ${site.name} produced no items${where}`);
  }
}
