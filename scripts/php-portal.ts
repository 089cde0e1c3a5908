// npx tsx scripts/php-portal.ts [files] [bytes]: pagepool against a small PHP portal behind a login, served by PHP's
// own server (`php -S`, Debian's php-cli: `Connection: close` on every response), whose session is bound to the
// browser's User-Agent + Accept-Language + Accept-Encoding (scripts/fixtures/php-portal.php: a request with other
// headers is re-validated with a bcrypt hash and gets a new session id). Pulls every PDF with pagepool's defaults
// (scripts/fixtures/php-portal-adapter.ts), then the same files with curl (a cookie jar, the browser's headers,
// 8 in parallel), checks both byte-exact and prints files/s and the re-validations the portal counted.
// One run of each: on a busy machine the figures are noise, re-run it on a quiet one. Needs `npm run build`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from '../src/browser/launch.js';
import { captureBrowserHeaders } from '../src/files/browser-headers.js';
import { pdfBytes } from '../test/files/helpers.js';
import { runCli } from '../test/helpers/cli.js';
import { startPhp } from '../test/helpers/php-server.js';

const files = Number(process.argv[2] ?? 200);
const bytes = Number(process.argv[3] ?? 100_000);
if (!Number.isInteger(files) || files < 1 || !Number.isInteger(bytes) || bytes < 16) {
  process.stderr.write('usage: npx tsx scripts/php-portal.ts [files] [bytes]\n');
  process.exit(2);
}
const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');
const root = await mkdtemp(path.join(os.tmpdir(), 'pagepool-php-portal-'));
const docs = path.join(root, 'docs');
await mkdir(docs);
const names = Array.from({ length: files }, (_, i) => `doc-${String(i + 1).padStart(4, '0')}.pdf`);
await Promise.all(names.map((name, i) => writeFile(path.join(docs, name), pdfBytes(bytes, i + 1))));
await writeFile(path.join(root, 'stats.json'), '{}');
process.env.PORTAL_DOCS = docs;
// Several PHP workers, as a PHP deployment has; the session lock still serialises one session's requests.
process.env.PHP_CLI_SERVER_WORKERS = '4';
const php = await startPhp(root, path.join(FIXTURES, 'php-portal.php'));

type Stats = { logins?: number; revalidations?: number; files?: number };
const stats = async (): Promise<Stats> => (await fetch(`${php.origin}/stats`)).json() as Promise<Stats>;
const byteExact = async (dir: string) => {
  let good = 0;
  for (const name of names) {
    const [got, want] = await Promise.all([
      readFile(path.join(dir, name)).catch(() => Buffer.alloc(0)),
      readFile(path.join(docs, name)),
    ]);
    if (got.equals(want)) good++;
  }
  return good;
};
const lines: string[] = [
  `portal          ${files} PDFs of ${bytes} bytes, php -S with 4 workers, ${php.origin}`,
];
try {
  // pagepool with its defaults.
  const cwd = path.join(root, 'pagepool');
  await mkdir(cwd);
  const before = await stats();
  const started = performance.now();
  const result = await runCli(
    ['run', '--site', path.join(FIXTURES, 'php-portal-adapter.ts'), '--base-url', php.origin, '--quiet'],
    { cwd, env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' }, timeoutMs: 600_000 },
  );
  const seconds = (performance.now() - started) / 1000;
  const after = await stats();
  const out = path.join(cwd, 'downloads', 'php-portal');
  const left = (await readdir(out)).filter((n) => n.endsWith('.part') || n.endsWith('.part.json'));
  lines.push(
    `pagepool        exit ${result.code}, ${await byteExact(out)}/${files} byte-exact, ${left.length} .part left, ` +
      `${seconds.toFixed(1)} s for the whole run = ${(files / seconds).toFixed(1)} files/s ` +
      `(re-validations ${(after.revalidations ?? 0) - (before.revalidations ?? 0)}, logins ${(after.logins ?? 0) - (before.logins ?? 0)})`,
  );
  if (result.stderr)
    lines.push(`pagepool stderr ${result.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);

  // curl: the browser's own headers, one login, a cookie jar, 8 in parallel.
  const browser = await launchBrowser({ chromiumPath: null });
  const headers = await captureBrowserHeaders(await browser.newContext());
  await browser.close();
  const hdr = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const jar = path.join(root, 'cookies.txt');
  const curlOut = path.join(root, 'curl');
  await mkdir(curlOut);
  execFileSync('curl', [
    '-sS',
    '-c',
    jar,
    '-b',
    jar,
    ...hdr,
    '-d',
    'username=demo',
    '-d',
    'password=demo-pass',
    '-o',
    '/dev/null',
    `${php.origin}/login`,
  ]);
  const curlBefore = await stats();
  const curlStarted = performance.now();
  await new Promise<void>((resolve, reject) => {
    // xargs runs `curl -o FILE URL` 8 at a time, one line each.
    const xargs = spawn('xargs', ['-P', '8', '-L', '1', 'curl', '-sS', '-f', '-b', jar, ...hdr, '-o'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    xargs.on('error', reject);
    xargs.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`xargs curl exited ${code}`))));
    xargs.stdin.end(names.map((n) => `${path.join(curlOut, n)} ${php.origin}/file?name=${n}\n`).join(''));
  });
  const curlSeconds = (performance.now() - curlStarted) / 1000;
  const curlAfter = await stats();
  lines.push(
    `curl x8         ${await byteExact(curlOut)}/${files} byte-exact, ${curlSeconds.toFixed(1)} s for the files = ` +
      `${(files / curlSeconds).toFixed(1)} files/s (re-validations ${(curlAfter.revalidations ?? 0) - (curlBefore.revalidations ?? 0)})`,
  );
  lines.push(`headers         ${Object.keys(headers).join(', ')}`);
} finally {
  await php.stop();
  await rm(root, { recursive: true, force: true });
}
process.stdout.write(`${lines.join('\n')}\n`);
