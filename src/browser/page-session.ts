// The pool's own CDP session on one page: resource blocking by type inside the browser, and the page's JS heap.
import type { BrowserContext, CDPSession, Page } from 'playwright';

/** Resource types that listing and detail pages never need (CDP names). */
export const BLOCKED_RESOURCE_TYPES = ['Image', 'Font', 'Media', 'Stylesheet'] as const;

export interface PageSessionOptions {
  /** Fail requests for images, fonts, media and stylesheets unless `isUnblocked()` says otherwise. */
  block: boolean;
  /** Collect performance metrics so `heapUsedBytes()` can read them. */
  metrics: boolean;
  /** Read on every blocked-type request: true lets it through (a page being rendered). */
  isUnblocked(): boolean;
}

/**
 * Blocking goes through CDP `Fetch` with resource-type patterns rather than `page.route('**')`: only requests of
 * the blocked types are paused and answered from Node; documents, scripts, XHR and downloads never leave the
 * browser's network stack (page.route pauses every request and routes each through Node). Unlike
 * `Network.setBlockedURLs`, it matches by type, not by URL, so a PNG that is the document being downloaded is
 * never blocked, and `isUnblocked()` is read per request so a render path can turn blocking off synchronously.
 * The HTTP cache stays on (page.route turns it off for every request, scripts included); the price is that a
 * stylesheet or image an unblocked render put in the renderer's memory cache may be reused from there later.
 * Measured per detail-page load in `npm run bench` (blocking costs section).
 */
export class PageSession {
  private constructor(private readonly cdp: CDPSession | null) {}

  static async attach(
    context: BrowserContext,
    page: Page,
    options: PageSessionOptions,
  ): Promise<PageSession> {
    if (!options.block && !options.metrics) return new PageSession(null);
    const cdp = await context.newCDPSession(page);
    if (options.block) {
      cdp.on('Fetch.requestPaused', ({ requestId }) => {
        const answer = options.isUnblocked()
          ? cdp.send('Fetch.continueRequest', { requestId })
          : cdp.send('Fetch.failRequest', { requestId, errorReason: 'BlockedByClient' });
        // The page may close between the pause and the answer; nothing is waiting on it then.
        answer.catch(() => {});
      });
      await cdp.send('Fetch.enable', {
        patterns: BLOCKED_RESOURCE_TYPES.map((resourceType) => ({
          resourceType,
          requestStage: 'Request' as const,
        })),
      });
    }
    if (options.metrics) await cdp.send('Performance.enable');
    return new PageSession(cdp);
  }

  /**
   * The page's live JS heap in bytes, after a forced major GC, or undefined when metrics are off or the page is
   * gone. The GC is the point: a busy page is never idle, so V8 leaves every old document and its ~1 MB of heap
   * (Playwright's injected script) uncollected for dozens of loads; measured (scripts/page-growth.ts) a renderer
   * at 72 MB after 60 detail pages went back to 27 MB, and its heap from 35 MB to 1.3 MB.
   */
  async heapUsedBytes(): Promise<number | undefined> {
    if (!this.cdp) return undefined;
    try {
      await this.cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await this.cdp.send('Performance.getMetrics');
      return metrics.find((m) => m.name === 'JSHeapUsedSize')?.value;
    } catch {
      return undefined;
    }
  }
}
