// The demo portal's trading cards: rendered from their page to PNG, or fetched as the portal's own PNG.
import { defineSite } from '../index.js';
import { demoLoggedOut, demoLogin, nextPage } from './demo-portal-login.js';

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

  async *list({ page, signal, baseUrl, checkResponse }) {
    let next: string | null = `${baseUrl}/cards?page=1`;
    while (next) {
      signal.throwIfAborted();
      await checkResponse(await page.goto(next, { waitUntil: 'domcontentloaded' }));
      const ids = await page
        .locator('a[href*="/card/"]')
        .evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).pathname.split('/').pop() ?? ''));
      // Read now, while this page is loaded; a missing link is the last page, a failed read is an error.
      next = await nextPage(page);
      for (const id of ids) if (id && !id.endsWith('.png')) yield { id };
    }
  },

  parseRef(value) {
    const ref = value as Partial<CardRef>;
    if (typeof ref?.id !== 'string' || ref.id === '') throw new Error('a card ref needs an `id`');
    return ref as CardRef;
  },

  async process({ ref, key, page, baseUrl, files, stage, unblock, releasePage, checkResponse }) {
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
    unblock();
    const url = `${baseUrl}/card/${encodeURIComponent(ref.id)}`;
    await checkResponse(await page.goto(url, { waitUntil: 'load' }), `card ${ref.id}`);
    await files.screenshot(page.locator('#card'), { name: `${key}.png`, kind: 'png' });
  },
});
