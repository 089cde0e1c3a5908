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
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    if (page.url().includes('/login')) throw new LoginError('the portal refused the login');
    await page.check('#accept'); // the licence page
    await Promise.all([page.waitForNavigation(), page.click('#accept-licence')]);
  },
  loggedOut: async (page) => page.url().includes('/login'),

  async *list({ page, signal, baseUrl, checkResponse }) {
    let next: string | null = \`\${baseUrl}/inventory\`;
    while (next) {
      signal.throwIfAborted();
      // 404 -> failed for good, 429 -> wait Retry-After, 5xx -> retried, logged out -> log in again.
      await checkResponse(await page.goto(next));
      yield* await page.locator('tr[data-stock]').evaluateAll((rows) =>
        rows.map((row) => ({
          id: (row as HTMLElement).dataset.stock ?? '',
          path: row.querySelector('a')?.getAttribute('href') ?? '',
        })),
      );
      // No "next" link: that was the last page. (evaluateAll reads the page as it is, without waiting.)
      next = await page.locator('a[rel=next]').evaluateAll((a) => (a[0] as HTMLAnchorElement)?.href ?? null);
    }
  },

  async process({ ref, page, baseUrl, files, stage, releasePage, checkResponse }) {
    stage('detail');
    await checkResponse(await page.goto(new URL(ref.path, baseUrl).href), \`item \${ref.id}\`);
    // One page.evaluate reads the page: a locator costs Playwright's selector engine in every new document.
    const href = await page.evaluate(
      () => document.querySelector<HTMLAnchorElement>('#download-sticker')?.href,
    );
    if (!href) throw new PermanentError(\`item \${ref.id} has no document\`);
    releasePage(); // the page goes back to the pool; the download goes on without it
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
