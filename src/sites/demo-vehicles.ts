// The demo portal's vehicles: each has a window-sticker PDF behind its detail page. Written with the public API only.
import { defineSite } from '../index.js';
import { demoLoggedOut, demoLogin, nextPage, relativeTo } from './demo-portal-login.js';

export interface VehicleRef {
  stock: string;
  /**
   * Detail page URL from the listing, relative to the base URL (`vehicle/S00001`; an absolute URL works too);
   * without it the vehicle is found through the search box.
   */
  url?: string;
  /** How to get the PDF: over HTTP with the session's cookies (default), or through the browser's download. */
  via?: 'fetch' | 'download';
}

export default defineSite<VehicleRef>({
  name: 'demo',
  key: (ref) => ref.stock,
  login: demoLogin,
  loggedOut: demoLoggedOut,
  // Where `pagepool login --headed` opens the portal for a person.
  loginUrl: 'login',

  async *list({ page, signal, baseUrl, checkResponse }) {
    let next: string | null = `${baseUrl}/inventory?page=1`;
    while (next) {
      signal.throwIfAborted();
      // Named by its URL (checkResponse's default in a listing): a refused page says which one.
      await checkResponse(await page.goto(next, { waitUntil: 'domcontentloaded' }));
      const rows = await page.locator('tr[data-stock]').evaluateAll((trs) =>
        trs.map((tr) => ({
          stock: (tr as HTMLElement).dataset.stock ?? '',
          url: tr.querySelector('a')?.href,
        })),
      );
      // Read now, while this page is loaded; a missing link is the last page, a failed read is an error.
      next = await nextPage(page);
      for (const { stock, url } of rows) yield url ? { stock, url: relativeTo(baseUrl, url) } : { stock };
    }
  },

  parseRef(value) {
    const ref = value as Partial<VehicleRef>;
    if (typeof ref?.stock !== 'string' || ref.stock === '') throw new Error('a vehicle ref needs a `stock`');
    return ref as VehicleRef;
  },

  async process({ ref, page, baseUrl, files, stage, releasePage, checkResponse }) {
    if (ref.url) {
      stage('detail');
      const url = new URL(ref.url, `${baseUrl}/`).href;
      await checkResponse(await page.goto(url, { waitUntil: 'domcontentloaded' }), `vehicle ${ref.stock}`);
    } else {
      stage('search');
      const search = `${baseUrl}/inventory?q=${encodeURIComponent(ref.stock)}`;
      await checkResponse(await page.goto(search, { waitUntil: 'domcontentloaded' }), 'the search');
      const link = page.locator(`tr[data-stock="${ref.stock}"] a`).first();
      if ((await link.count()) === 0) throw new Error(`no vehicle ${ref.stock} in the inventory`);
      stage('detail');
      const [response] = await Promise.all([
        page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
        link.click(),
      ]);
      await checkResponse(response, `vehicle ${ref.stock}`);
    }
    stage('download');
    if (ref.via === 'download') {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#download-sticker').click(),
      ]);
      await files.fromDownload(download, { kind: 'pdf' });
      return;
    }
    // Read with one page.evaluate, not a locator: the first locator call on a new document makes Playwright inject
    // its selector engine there, which doubled the CPU of a detail page (scripts/nav-cost.ts).
    const href = await page.evaluate(
      () => document.querySelector<HTMLAnchorElement>('#download-sticker')?.href ?? null,
    );
    if (!href) throw new Error(`vehicle ${ref.stock}: its page has no window-sticker link`);
    await releasePage();
    // Named by the item, not by the URL's `sticker.pdf` that every vehicle shares: a `.part` left by a killed
    // run then has a name only this vehicle uses, so its next attempt resumes it instead of leaving it behind.
    await files.fetch(href, { kind: 'pdf', name: `${ref.stock}-window-sticker.pdf` });
  },
});
