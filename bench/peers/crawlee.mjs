// @ts-check
// Crawlee's PlaywrightCrawler doing pagepool's job on the demo portal, written as its guides write a logged-in
// crawl: one request logs in through the form (LOGIN), the inventory pages are crawled with enqueueLinks (LIST),
// each vehicle's detail page (DETAIL) gives the PDF link, and the PDF is fetched with `sendRequest` (Crawlee's HTTP
// client) carrying the crawler's own session cookies. Settings, each for the job and no more:
// - the same browser and switches as the other peers (launchContext.launchOptions), the same concurrency
//   (min = max = CONCURRENCY, so the autoscaled pool neither ramps up from 1 nor scales down under load);
// - one session that never rotates (sessionPoolOptions.maxPoolSize 1, no usage/age/error limit): the portal has
//   one login, and a rotated session would be a logged-out one (Crawlee's login guide does the same);
// - no fingerprints (useFingerprints: false): they hide a crawler from bot detection, which a logged-in pull
//   of one's own portal does not need, and they inject a script into every page;
// - Crawlee's blockRequests() on every navigation (its own way to skip images, fonts and stylesheets, as
//   pagepool blocks them) and waitUntil 'domcontentloaded' (as pagepool and the minimal loop);
// - the link read with one page.evaluate, as pagepool's demo adapter reads it;
// - everything else at Crawlee's defaults: a new page per request, the browser retired after 100 pages (a new
//   one gets the session's cookies), the request queue persisted under CRAWLEE_STORAGE_DIR, 2 retries here as
//   pagepool's default (Crawlee's own is 3; no request fails on the fault-free portal anyway).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PlaywrightCrawler } from '@crawlee/playwright';
import { chromium } from 'playwright';
import { PASS, peerArgs, runPeer, USER } from './peer-args.mjs';

const { baseUrl, concurrency, out, chromium: executablePath, args } = await peerArgs('crawlee');

await runPeer('crawlee', async () => {
  let files = 0;
  /** @type {string[]} */
  const failed = [];
  const crawler = new PlaywrightCrawler({
    launchContext: { launcher: chromium, launchOptions: { executablePath, args, headless: true } },
    minConcurrency: concurrency,
    maxConcurrency: concurrency,
    maxRequestRetries: 2,
    browserPoolOptions: { useFingerprints: false },
    useSessionPool: true,
    persistCookiesPerSession: true,
    sessionPoolOptions: {
      maxPoolSize: 1,
      sessionOptions: {
        maxUsageCount: Number.MAX_SAFE_INTEGER,
        maxAgeSecs: 24 * 3600,
        maxErrorScore: Number.MAX_SAFE_INTEGER,
      },
    },
    preNavigationHooks: [
      async ({ blockRequests }, gotoOptions) => {
        if (gotoOptions) gotoOptions.waitUntil = 'domcontentloaded';
        await blockRequests();
      },
    ],
    async requestHandler({ request, page, enqueueLinks, sendRequest, session }) {
      if (request.label === 'LOGIN') {
        await page.fill('input[name=username]', USER);
        await page.fill('input[name=password]', PASS);
        await Promise.all([page.waitForURL('**/licence**'), page.click('button[type=submit]')]);
        await page.check('#accept');
        await Promise.all([page.waitForURL('**/inventory**'), page.click('#accept-licence')]);
        await crawler.addRequests([{ url: `${baseUrl}/inventory?page=1`, label: 'LIST' }]);
      } else if (request.label === 'LIST') {
        await enqueueLinks({ selector: 'tr[data-stock] a', label: 'DETAIL' });
        await enqueueLinks({ selector: 'a[rel=next]', label: 'LIST' });
      } else {
        const href = await page.evaluate(
          () => document.querySelector(/** @type {'a'} */ ('#download-sticker'))?.href ?? null,
        );
        if (!href) throw new Error(`${request.url}: no window-sticker link`);
        // The cookie header by hand: since Crawlee 3.13.7 sendRequest drops the session's cookie jar
        // (apify/crawlee#3117, open), so the PDF would be the login page.
        const cookie = session?.getCookieString(href) ?? '';
        const pdf = await sendRequest({ url: href, responseType: 'buffer', headers: { cookie } });
        if (pdf.statusCode !== 200) throw new Error(`${href} answered ${pdf.statusCode}`);
        await writeFile(
          path.join(out, `${path.basename(request.url)}.pdf`),
          /** @type {Buffer} */ (/** @type {unknown} */ (pdf.body)),
        );
        files += 1;
      }
    },
    failedRequestHandler({ request }, error) {
      failed.push(`${request.url}: ${error.message}`);
    },
  });
  await crawler.run([{ url: `${baseUrl}/login`, label: 'LOGIN' }]);
  if (failed.length > 0) throw new Error(`${failed.length} requests failed, first: ${failed[0]}`);
  return files;
});
