// What `pagepool run` prints and writes, seen from outside: a child process against a portal in this process.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { readZipEntries } from '../helpers/zip-entries.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Each test starts Chromium in a child process; on two busy shared cores that can take a while.
const SLOW = { timeout: 240_000 };
const portals: Portal[] = [];

afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
});

async function portal(options: Partial<PortalOptions>): Promise<Portal> {
  const p = await startPortal(options);
  portals.push(p);
  return p;
}

function login(p: Portal): Record<string, string> {
  return { PAGEPOOL_USERNAME: p.options.username, PAGEPOOL_PASSWORD: p.options.password };
}

/** Every file under `dir`, recursively, with its bytes. */
async function allFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, file), await readFile(file));
  }
  return files;
}

interface Report {
  totals: { items: number; done: number; failed: number; bytes: number };
  items: Array<{
    key: string;
    outcome: string;
    attempts: number;
    bytes: number;
    files: string[];
    reason?: string;
  }>;
}

async function readReport(out: string): Promise<Report> {
  return JSON.parse(await readFile(path.join(out, '.pagepool', 'report.json'), 'utf8')) as Report;
}

const START = /^Starting demo: (item count not known yet|\d+ items), \d+ pages?$/;
const PROGRESS =
  /^\[\d\d:\d\d\] \d+(\/\d+)? done( \(\d+\.\d%\))?, \d+ failed, \d+ retrying, \d+\.\d items\/s, \d+\.\d MB\/s, ETA (\d\d:\d\d|--:--)(, listing: \d+ pages?, \d+ items? seen, \d+ to pull)?$/;
// The duration as formatDuration writes it: `31.2 s` under a minute, `2 min 05 s` past one (a slow machine).
const SUMMARY = /^Done in (\d+\.\d s|\d+ min \d\d s): 40 of 40 items saved \(\d+\.\d kB\)\.$/;

describe('pagepool run, not on a terminal', () => {
  it(
    'prints a start line, progress lines and a one-line summary, and report.json matches the disk',
    SLOW,
    async () => {
      const p = await portal({ vehicles: 40 });
      const cwd = await tempDir();
      const { code, stdout, stderr } = await runCli(
        ['run', '--site', 'demo', '--base-url', p.url, '--concurrency', '4'],
        { cwd, env: login(p) },
      );
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const lines = stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(START);
      expect(lines.at(-1)).toMatch(SUMMARY);
      const middle = lines.slice(1, -1);
      // 40 items: a line at each 5% step at least, i.e. every 2 items.
      expect(middle.length).toBeGreaterThanOrEqual(10);
      // ...and no more than the rule allows from the very start: one per 5% step (20) plus one per 5 s.
      const [, sec, min, minSec] = /^Done in (?:(\d+\.\d) s|(\d+) min (\d\d) s)/.exec(lines.at(-1)!) ?? [];
      const seconds = sec !== undefined ? Number(sec) : Number(min) * 60 + Number(minSec);
      expect(middle.length).toBeLessThanOrEqual(20 + Math.ceil(seconds / 5) + 1);
      for (const line of middle) expect(line).toMatch(PROGRESS);
      expect(middle.at(-1)).toMatch(/ 40\/40 done \(100\.0%\), 0 failed, 0 retrying, /);

      const out = path.join(cwd, 'downloads');
      const report = await readReport(out);
      const pdfs = (await readdir(path.join(out, 'demo'))).sort();
      expect(pdfs).toHaveLength(40);
      const sizes = await Promise.all(pdfs.map(async (f) => (await stat(path.join(out, 'demo', f))).size));
      const onDisk = sizes.reduce((a, b) => a + b, 0);
      expect(report.totals).toMatchObject({ items: 40, done: 40, failed: 0, bytes: onDisk });
      expect(report.items.reduce((n, i) => n + i.bytes, 0)).toBe(onDisk);
      expect(report.items.every((i) => i.outcome === 'done' && i.attempts === 1)).toBe(true);
      expect(report.items.flatMap((i) => i.files).sort()).toEqual(pdfs.map((f) => `demo/${f}`));
      for (const item of report.items) {
        const file = item.files[0]!;
        expect((await stat(path.join(out, file))).size).toBe(item.bytes);
        expect(file).toContain(item.key);
      }
      // No failure, no failures folder.
      expect(await readdir(path.join(out, '.pagepool'))).not.toContain('failures');
    },
  );

  it(
    '--quiet prints nothing at all on a successful run; a second run says there is nothing to do',
    SLOW,
    async () => {
      const cwd = await tempDir();
      const { code, stdout, stderr } = await runCli(['run', '--site', 'demo', '--quiet'], {
        cwd,
        env: { DEMO_VEHICLES: '8' },
      });
      expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(await readdir(path.join(cwd, 'downloads', 'demo'))).toHaveLength(8);

      const again = await runCli(['run', '--site', 'demo'], { cwd, env: { DEMO_VEHICLES: '8' } });
      expect(again.code).toBe(0);
      expect(again.stdout).not.toMatch(/saved/);
      expect(again.stdout.trimEnd().split('\n').at(-1)).toBe(
        'Nothing to do: the listing showed 8 items on 1 page, none new; all 8 items in the checkpoint are done already.',
      );
    },
  );
});

describe('pagepool list | pagepool run --refs -', () => {
  it('pulls exactly the listed refs that were passed on, and nothing else', SLOW, async () => {
    const p = await portal({ vehicles: 60 });
    const cwd = await tempDir();
    const listed = await runCli(['list', '--site', 'demo', '--base-url', p.url, '--max', '30'], {
      cwd,
      env: login(p),
    });
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(30);
    const refs = lines.map((line) => JSON.parse(line) as { stock: string; url: string });
    // Relative to the base URL, so the refs work against the portal wherever it runs later.
    expect(refs[0]).toEqual({ stock: 'S00001', url: 'vehicle/S00001' });
    expect(p.stats().filesServed).toEqual({});

    // Every third ref, last first: not a prefix of the listing and not in its order.
    const chosen = lines.filter((_, i) => i % 3 === 1).reverse();
    const stocks = chosen.map((line) => (JSON.parse(line) as { stock: string }).stock).sort();
    const pulled = await runCli(['run', '--site', 'demo', '--base-url', p.url, '--refs', '-', '--quiet'], {
      cwd,
      env: login(p),
      input: `${chosen.join('\n')}\n`,
    });
    expect({ code: pulled.code, stderr: pulled.stderr }).toEqual({ code: 0, stderr: '' });
    expect(Object.keys(p.stats().filesServed).sort()).toEqual(stocks);
    const files = (await readdir(path.join(cwd, 'downloads', 'demo'))).sort();
    expect(files).toEqual(stocks.map((s) => `${s}-window-sticker.pdf`));
    const report = await readReport(path.join(cwd, 'downloads'));
    expect(report.items.map((i) => i.key).sort()).toEqual(stocks);
  });
});

describe('secrets canary', () => {
  it(
    'the password and the session cookie appear in no output and no file, failure snapshots included',
    SLOW,
    async () => {
      const password = `canaryPw-${randomBytes(8).toString('hex')}`;
      const cookiePrefix = `canarySid${randomBytes(8).toString('hex')}`;
      const p = await portal({
        vehicles: 30,
        failureRate: 0.25,
        seed: 11,
        password,
        sessionIdPrefix: cookiePrefix,
      });
      const cwd = await tempDir();
      // A careless portal: for every fifth vehicle it echoes the password into a form and the session id into
      // a script, and the item fails there, with the page still held: its snapshot must come out clean.
      const adapter = path.join(cwd, 'leaky-site.mts');
      await writeFile(
        adapter,
        `import demo from ${JSON.stringify(path.join(ROOT, 'src/sites/demo-vehicles.ts'))};
import { defineSite } from ${JSON.stringify(path.join(ROOT, 'src/index.ts'))};
let password = '';
export default defineSite({
  ...demo,
  async login(page, creds, baseUrl) {
    password = creds.password;
    await demo.login(page, creds, baseUrl);
  },
  async process(job) {
    if (Number(job.ref.stock.slice(1)) % 5 !== 0) return demo.process(job);
    const sid = (await job.page.context().cookies())[0]?.value ?? '';
    await job.page.setContent(
      '<form><input type="password" value="' + password + '"></form>' +
      '<script>window.sid = "' + sid + '";</script><p>Unexpected page</p>');
    throw new Error('the portal showed an unexpected page');
  },
});
`,
      );
      const totpSecret = `CANARYTOTP${randomBytes(8).toString('hex').toUpperCase()}`;
      const env = {
        PAGEPOOL_USERNAME: 'demo',
        PAGEPOOL_PASSWORD: password,
        PAGEPOOL_TOTP_SECRET: totpSecret,
      };
      const { code, stdout, stderr } = await runCli(
        ['run', '--site', adapter, '--base-url', p.url, '--retries', '0', '--concurrency', '4', '--trace'],
        { cwd, env },
      );
      expect({ code, stderr: stderr.split('\n').filter((l) => !l.startsWith('FAILED ')) }).toEqual({
        code: 1,
        stderr: [''],
      });
      expect(p.stats().logins).toBeGreaterThan(0);

      const out = path.join(cwd, 'downloads');
      const files = await allFiles(out);
      const names = [...files.keys()];
      // The walk covers what must be covered, so the check below is not vacuous.
      expect(names).toEqual(
        expect.arrayContaining([
          '.pagepool/report.json',
          'manifest.jsonl',
          expect.stringMatching(/^\.pagepool\/checkpoint/),
          '.pagepool/failures/S00005/page.html',
          '.pagepool/failures/S00005/screenshot.png',
          '.pagepool/failures/S00005/trace.zip',
        ]),
      );
      // The saved session is the one place the cookie belongs (issue 24): a credential, mode 0600, no password.
      const session = '.pagepool/session.json';
      expect(files.get(session)?.includes(cookiePrefix), 'the session file holds the session').toBe(true);
      expect((await stat(path.join(out, session))).mode & 0o777).toBe(0o600);
      for (const secret of [password, cookiePrefix, totpSecret]) {
        expect(stdout).not.toContain(secret);
        expect(stderr).not.toContain(secret);
        for (const [name, bytes] of files) {
          if (name === session && secret === cookiePrefix) continue;
          expect(bytes.includes(secret), `${secret} in ${name}`).toBe(false);
        }
      }
      // A trace's entries are deflated, so its raw bytes hide a secret: look inside each one.
      const traces = names.filter((n) => n.endsWith('/trace.zip'));
      let entries = 0;
      for (const name of traces) {
        for (const entry of await readZipEntries(path.join(out, name))) {
          entries += 1;
          for (const secret of [password, cookiePrefix]) {
            expect(entry.data.includes(secret), `${secret} in ${name}:${entry.name}`).toBe(false);
          }
        }
      }
      expect(entries).toBeGreaterThan(traces.length);
      // Both were on the page and were replaced.
      const html = files.get('.pagepool/failures/S00005/page.html')!.toString();
      expect(html).toContain('window.sid = "[redacted]"');
      expect(html).toMatch(/<input type="password">/);

      // A folder for each failed item, none for the others.
      const report = await readReport(out);
      const failed = report.items.filter((i) => i.outcome === 'failed').map((i) => i.key);
      const done = report.items.filter((i) => i.outcome === 'done').map((i) => i.key);
      expect(failed).toEqual(
        expect.arrayContaining(['S00005', 'S00010', 'S00015', 'S00020', 'S00025', 'S00030']),
      );
      expect(failed.length).toBeGreaterThan(6);
      expect(done.length + failed.length).toBe(30);
      const folders = (await readdir(path.join(out, '.pagepool', 'failures'))).sort();
      expect(folders).toEqual([...failed].sort());
      for (const key of failed) {
        const text = files.get(`.pagepool/failures/${key}/error.txt`)?.toString();
        expect(text, key).toMatch(new RegExp(`^key: ${key}\\nattempt: 1\\n`));
      }

      // Again from the saved session (`--fresh` keeps it): no login, so the cookie values in the context came from
      // the file, and the failure snapshots and traces are still scrubbed of them.
      const logins = p.stats().logins;
      const again = await runCli(
        [
          'run',
          '--site',
          adapter,
          '--base-url',
          p.url,
          '--retries',
          '0',
          '--trace',
          '--fresh',
          '--max',
          '10',
        ],
        { cwd, env },
      );
      expect(again.code).toBe(1);
      expect(p.stats().logins, 'the second run started from the saved session').toBe(logins);
      const second = await allFiles(out);
      expect([...second.keys()]).toContain('.pagepool/failures/S00010/trace.zip');
      for (const [name, bytes] of second) {
        if (name === session) continue;
        expect(bytes.includes(cookiePrefix), `${cookiePrefix} in ${name}`).toBe(false);
      }
      for (const entry of await readZipEntries(path.join(out, '.pagepool/failures/S00010/trace.zip'))) {
        expect(entry.data.includes(cookiePrefix), `${cookiePrefix} in trace.zip:${entry.name}`).toBe(false);
      }
      expect(`${again.stdout}${again.stderr}`).not.toContain(cookiePrefix);
    },
  );
});
