// The demo portal's trading cards: rendered from their page to PNG, or fetched as the portal's own PNG.
import { defineSite } from '../index.js';
import { demoLoggedOut, demoLogin } from './demo-portal-login.js';

export interface CardRef {
  id: string;
  /** Screenshot the card element (default) or download the portal's PNG. */
  via?: 'render' | 'fetch';
}

export default defineSite<CardRef>({
  name: 'demo-cards',
  key: (ref) => (ref.via === 'fetch' ? `${ref.id}-fetched` : ref.id),
  login: demoLogin,
  loggedOut: demoLoggedOut,
  // Where `pagepool login --headed` opens the portal for a person.
  loginUrl: 'login',
  // A card fetched as the portal's PNG needs no browser page; one rendered to an image takes it (`openPage`).
  pageOnDemand: true,

  async *list({ http, signal, baseUrl }) {
    let next: string | null = `${baseUrl}/cards?page=1`;
    while (next) {
      signal.throwIfAborted();
      // The listing is read over HTTP: its links are in the server's HTML.
      const page = await http.html(next);
      for (const link of page.querySelectorAll('a[href*="/card/"]')) {
        const id = new URL(page.resolve(link.getAttribute('href') ?? '')).pathname.split('/').pop() ?? '';
        if (id && !id.endsWith('.png')) yield { id };
      }
      // A missing link is the last page.
      next = page.link('a[rel=next]');
    }
  },

  parseRef(value) {
    const ref = value as Partial<CardRef>;
    if (typeof ref?.id !== 'string' || ref.id === '') throw new Error('a card ref needs an `id`');
    return ref as CardRef;
  },

  async process({ ref, key, openPage, baseUrl, files, stage, unblock, releasePage, checkResponse }) {
    if (ref.via === 'fetch') {
      await releasePage();
      stage('download');
      await files.fetch(`${baseUrl}/card/${encodeURIComponent(ref.id)}.png`, {
        name: `${key}.png`,
        kind: 'png',
      });
      return;
    }
    stage('render');
    const page = await openPage();
    unblock();
    const url = `${baseUrl}/card/${encodeURIComponent(ref.id)}`;
    await checkResponse(await page.goto(url, { waitUntil: 'load' }), `card ${ref.id}`);
    await files.screenshot(page.locator('#card'), { name: `${key}.png`, kind: 'png' });
  },
});
