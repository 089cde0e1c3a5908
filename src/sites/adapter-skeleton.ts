// `pagepool init`: writes the commented adapter skeleton (the README's example, verbatim) that runs on the demo portal.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, isErrno } from '../errors.js';

/** Where `pagepool init` writes when it is given no PATH. */
export const DEFAULT_ADAPTER_PATH = 'adapters/my-portal.ts';

/** The skeleton's source for an adapter called `name` (files go to downloads/<name>/), kept at `target`. */
export function adapterSkeleton(name = 'my-portal', target = DEFAULT_ADAPTER_PATH): string {
  return `// ${path.basename(target)}: a pagepool site adapter. It runs as it is on the embedded demo portal:
//   pagepool run --site ${target} --base-url demo
// For your portal: --base-url https://portal.example, and this file's URLs and selectors.
import { checkResponse, defineSite, LoginError, PermanentError } from 'pagepool';

interface Ref {
  id: string;
  /** The item's page as the portal links it (\`/vehicle/S00001\`), so saved refs work on any host and port. */
  path: string;
}

export default defineSite<Ref>({
  name: '${name}', // files go to downloads/${name}/
  key: (ref) => ref.id, // stable id: checkpoint and dedupe

  // A portal without a login: delete \`login\` and \`loggedOut\`, and no credentials are asked for.
  async login(page, { username, password }, baseUrl) {
    await checkResponse(page, await page.goto(\`\${baseUrl}/login\`));
    // Still logged in: many portals send a logged-in visitor of /login on to their pages. Nothing to do then.
    if (!page.url().includes('/login')) return;
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    if (page.url().includes('/login')) throw new LoginError('the portal refused the login');
    await page.check('#accept'); // the licence page
    await Promise.all([page.waitForNavigation(), page.click('#accept-licence')]);
  },
  loggedOut: async (page) => page.url().includes('/login'),

  // Items start without a browser page: a page whose HTML has what we need is read over HTTP, in the browser's
  // session (its cookies, its headers), and a page is opened only for one that needs its scripts. For a portal
  // that builds its pages in scripts, delete this line and use \`page\` as in pagepool's README.
  pageOnDemand: true,

  async *list({ http, signal }) {
    let next: string | null = 'inventory';
    while (next) {
      signal.throwIfAborted();
      // The page's HTML over HTTP, parsed (no rendering). It throws as checkResponse does for a page:
      // 404 -> failed for good, 429 -> wait Retry-After, 5xx -> retried, logged out -> log in again.
      const page = await http.html(next);
      for (const row of page.querySelectorAll<HTMLElement>('tr[data-stock]')) {
        yield { id: row.dataset.stock ?? '', path: row.querySelector('a')?.getAttribute('href') ?? '' };
      }
      next = page.link('a[rel=next]'); // null: no "next" link, that was the last page
    }
  },

  async process({ ref, read, files, stage, releasePage }) {
    stage('detail');
    // Over HTTP when the server's HTML has the link, else on the browser page once its scripts ran; pagepool
    // learns which way this site's pages need and starts with that one.
    const href = await read(ref.path, (page) => page.link('#download-sticker'), { what: \`item \${ref.id}\` });
    if (!href) throw new PermanentError(\`item \${ref.id} has no document\`);
    releasePage(); // the item's place in the pool goes to the next; the download goes on without it
    stage('download');
    await files.fetch(href, { kind: 'pdf', name: \`\${ref.id}.pdf\` }); // checked, written atomically
  },
});
`;
}

function runCommand(target: string): string {
  return `${PAGEPOOL} run --site ${target} --base-url demo`;
}

/**
 * How the user starts this pagepool: `npx pagepool` where it is installed (a bin in node_modules/.bin), `npm start --`
 * in a checkout of pagepool itself, where no `pagepool` is on PATH and npx does not find the project's own bin.
 */
const PAGEPOOL = import.meta.url.includes('/node_modules/pagepool/') ? 'npx pagepool' : 'npm start --';

/** `pagepool init [PATH]`: writes the skeleton and returns what to print (where it went, the command to run). */
export async function initCommand(target = DEFAULT_ADAPTER_PATH, cwd = process.cwd()): Promise<string> {
  await initAdapter(target, cwd);
  return `Wrote ${target}. Run it on the embedded demo portal:\n  ${runCommand(target)}\n`;
}

/** Writes the skeleton to `target` (relative to `cwd`), never over an existing file. */
export async function initAdapter(target: string, cwd = process.cwd()): Promise<void> {
  const ext = path.extname(target);
  if (ext !== '.ts' && ext !== '.mts') {
    throw new ConfigError(
      `\`pagepool init\` writes TypeScript: expected a PATH ending in .ts or .mts, got \`${target}\``,
    );
  }
  const name = path.basename(target, ext).replace(/[^A-Za-z0-9._-]+/g, '-') || 'my-portal';
  const file = path.resolve(cwd, target);
  try {
    await mkdir(path.dirname(file), { recursive: true });
    // `wx`: created here or not at all, so a file that appeared meanwhile is not overwritten either.
    await writeFile(file, adapterSkeleton(name, target), { flag: 'wx' });
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      throw new ConfigError(`\`${target}\` already exists; \`pagepool init\` never overwrites a file`, {
        cause: err,
      });
    }
    throw new ConfigError(`Cannot write \`${target}\`: ${(err as Error).message}`, { cause: err });
  }
}
