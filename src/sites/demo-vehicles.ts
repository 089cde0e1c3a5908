// The demo portal's vehicles: each has a window-sticker PDF behind its detail page. Written with the public API only.
import { defineSite, PermanentError } from '../index.js';
import { demoLoggedOut, demoLogin, relativeTo } from './demo-portal-login.js';

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
  // The portal renders its pages on the server: an item reads its page over HTTP and takes a browser page only
  // when that page builds its link in a script (DEMO_SCRIPT_LINK_EVERY) or the PDF comes by the browser's download.
  pageOnDemand: true,

  async *list({ http, signal, baseUrl }) {
    let next: string | null = `${baseUrl}/inventory?page=1`;
    while (next) {
      signal.throwIfAborted();
      // Over HTTP: no page load, no script; a refused or logged-out page throws as a page would.
      const page = await http.html(next);
      const rows = page.querySelectorAll<HTMLElement>('tr[data-stock]');
      for (const row of rows) {
        const stock = row.dataset.stock ?? '';
        const href = row.querySelector('a')?.getAttribute('href');
        yield href ? { stock, url: relativeTo(baseUrl, page.resolve(href)) } : { stock };
      }
      // A missing link is the last page.
      next = page.link('a[rel=next]');
    }
  },

  parseRef(value) {
    const ref = value as Partial<VehicleRef>;
    if (typeof ref?.stock !== 'string' || ref.stock === '') throw new Error('a vehicle ref needs a `stock`');
    return ref as VehicleRef;
  },

  async process({ ref, baseUrl, http, read, openPage, files, stage, releasePage, checkResponse }) {
    let url = ref.url;
    if (!url) {
      stage('search');
      const search = await http.html(`inventory?q=${encodeURIComponent(ref.stock)}`, { what: 'the search' });
      url = search.link(`tr[data-stock="${ref.stock}"] a`) ?? undefined;
      if (!url) throw new PermanentError(`no vehicle ${ref.stock} in the inventory`);
    }
    stage('detail');
    if (ref.via === 'download') {
      const page = await openPage();
      const detail = new URL(url, `${baseUrl}/`).href;
      await checkResponse(await page.goto(detail, { waitUntil: 'domcontentloaded' }), `vehicle ${ref.stock}`);
      stage('download');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#download-sticker').click(),
      ]);
      await files.fromDownload(download, { kind: 'pdf' });
      return;
    }
    // Over HTTP while the server's HTML has the link, else on the browser page once its script added it.
    const href = await read(url, (page) => page.link('#download-sticker'), { what: `vehicle ${ref.stock}` });
    if (!href) throw new PermanentError(`vehicle ${ref.stock}: its page has no window-sticker link`);
    stage('download');
    await releasePage();
    // Named by the item, not by the URL's `sticker.pdf` that every vehicle shares: a `.part` left by a killed
    // run then has a name only this vehicle uses, so its next attempt resumes it instead of leaving it behind.
    await files.fetch(href, { kind: 'pdf', name: `${ref.stock}-window-sticker.pdf` });
  },
});
