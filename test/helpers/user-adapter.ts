// Adapters as a user writes them, as text: tests put them in folders of their own (no package.json, a project that
// installed the packed tarball, inside this repo) and load them with `--site`, so nothing here is compiled with us.

/** A TypeScript adapter for the embedded demo portal's vehicles; it imports only `pagepool`. */
export const VEHICLES_TS = `import { defineSite, LoginError, PermanentError, SessionExpiredError } from 'pagepool';

interface VehicleRef {
  stock: string;
  url: string;
}

const loggedOut = (url: string): boolean => url.includes('/login') || url.includes('/licence');

export default defineSite<VehicleRef>({
  name: 'my-vehicles',
  key: (ref: VehicleRef): string => ref.stock,

  async login(page, { username, password }, baseUrl) {
    await page.goto(\`\${baseUrl}/login\`, { waitUntil: 'domcontentloaded' });
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type=submit]')]);
    if (new URL(page.url()).pathname === '/login') throw new LoginError('the portal refused the login');
    await page.check('#accept');
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('#accept-licence')]);
  },

  async *list({ page, signal, baseUrl }) {
    let next: string | null = \`\${baseUrl}/inventory?page=1\`;
    while (next) {
      signal.throwIfAborted();
      await page.goto(next, { waitUntil: 'domcontentloaded' });
      const rows: VehicleRef[] = await page
        .locator('tr[data-stock]')
        .evaluateAll((trs) =>
          trs.map((tr) => ({ stock: (tr as HTMLElement).dataset.stock ?? '', url: tr.querySelector('a')?.href ?? '' })),
        );
      next = await page.locator('a[rel=next]').evaluateAll((links) => (links[0] as HTMLAnchorElement | undefined)?.href ?? null);
      yield* rows;
    }
  },

  async process({ ref, page, files, stage, releasePage }) {
    stage('detail');
    const response = await page.goto(ref.url, { waitUntil: 'domcontentloaded' });
    if (loggedOut(page.url())) throw new SessionExpiredError();
    if (response?.status() === 404) throw new PermanentError(\`no vehicle \${ref.stock}\`);
    const href = await page.locator('#download-sticker').evaluate((a) => (a as HTMLAnchorElement).href);
    releasePage();
    stage('download');
    await files.fetch(href, { kind: 'pdf', name: \`\${ref.stock}.pdf\` });
  },

  loggedOut: async (page) => loggedOut(page.url()),
});
`;

/**
 * A plain-JavaScript adapter that needs no portal: `pagepool list` prints its three refs. `extra` is appended as
 * is (a syntax error, say).
 */
export function threeRefsJs(extra = ''): string {
  return `import { defineSite } from 'pagepool';

export default defineSite({
  name: 'three',
  key: (ref) => ref.id,
  async login() {},
  async *list() {
    yield* [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
  },
  async process() {},
});
${extra}`;
}
