// Issue 24's closing figure: how many logins a 300-item pull makes when the portal's sessions last 20 s, without
// and with a saved session, and on a resume after a kill. The real `pagepool` (dist/main.js, run `npm run build`
// first) in child processes against one embedded demo portal whose /_stats counts every login.
//
//   npx tsx scripts/session-logins.ts [--vehicles 300] [--lifetime-ms 20000] [--page-latency-ms 300]
//                                     [--concurrency 4]
// The defaults make the pull last about a minute, so sessions do expire under it.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startPortal } from '../src/demo/portal.js';

const { values } = parseArgs({
  options: {
    vehicles: { type: 'string', default: '300' },
    'lifetime-ms': { type: 'string', default: '20000' },
    'page-latency-ms': { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '4' },
  },
});
const vehicles = Number(values.vehicles);
const lifetimeMs = Number(values['lifetime-ms']);
// A real portal's pages take a few hundred ms; at 0 ms the demo would finish before a 20 s session could expire.
const pageLatencyMs = Number(values['page-latency-ms']);
const concurrency = values.concurrency;

const BIN = path.resolve(import.meta.dirname, '../dist/main.js');
const portal = await startPortal({ vehicles, sessionLifetimeMs: lifetimeMs, pageLatencyMs });
const env = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  PAGEPOOL_USERNAME: 'demo',
  PAGEPOOL_PASSWORD: 'demo-pass',
};
const base = ['--site', 'demo', '--base-url', portal.url, '--quiet'];

/** Runs `pagepool args` in `cwd`; `onSpawn` may kill it. Resolves with its exit code. */
function pagepool(
  args: string[],
  cwd: string,
  onSpawn?: (child: ChildProcess) => void,
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    onSpawn?.(child);
  });
}

async function pdfs(cwd: string): Promise<number> {
  const names = await readdir(path.join(cwd, 'downloads', 'demo')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.pdf')).length;
}

interface Row {
  case: string;
  logins: number;
  seconds: number;
  code: number | null;
}
const rows: Row[] = [];

/** One measured step: the logins the portal counted while `step` ran. */
async function measure(name: string, step: () => Promise<number | null>): Promise<void> {
  const before = portal.stats();
  const started = performance.now();
  const code = await step();
  const after = portal.stats();
  rows.push({
    case: name,
    logins: after.logins - before.logins,
    seconds: (performance.now() - started) / 1000,
    code,
  });
}

const dirs: string[] = [];
const folder = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-session-logins-'));
  dirs.push(dir);
  return dir;
};
const run = (cwd: string, more: string[] = [], onSpawn?: (child: ChildProcess) => void) =>
  pagepool(['run', ...base, '--concurrency', concurrency, ...more], cwd, onSpawn);

/** Kills the run with SIGKILL once half the PDFs are on disk (polled every 100 ms, bounded by the run). */
const killAtHalf = (cwd: string) => (child: ChildProcess) => {
  void (async () => {
    while (child.exitCode === null && child.signalCode === null) {
      if ((await pdfs(cwd)) >= vehicles / 2) {
        child.kill('SIGKILL');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
};

try {
  // Without a saved session: every run logs in first (--fresh-session ignores the file, as before issue 24).
  const without = await folder();
  await measure('pull, no saved session', () => run(without, ['--fresh-session']));

  // With one: `pagepool login` just before (not counted), then the pull starts from it.
  const withSession = await folder();
  await pagepool(['login', ...base], withSession);
  await measure('pull, saved session', () => run(withSession));

  // Killed half way, then resumed at once: without the saved session the resume logs in again.
  const killedWithout = await folder();
  await measure('first half, no saved session', () =>
    run(killedWithout, ['--fresh-session'], killAtHalf(killedWithout)),
  );
  await measure('resume, no saved session', () => run(killedWithout, ['--fresh-session']));
  const killedWith = await folder();
  await measure('first half, saved session', () => run(killedWith, [], killAtHalf(killedWith)));
  await measure('resume, saved session', () => run(killedWith));
} finally {
  await portal.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

console.log(
  `${vehicles} items, sessions last ${lifetimeMs / 1000} s, pages ${pageLatencyMs} ms, concurrency ${concurrency}`,
);
for (const r of rows) {
  console.log(
    `${r.case.padEnd(30)} ${String(r.logins).padStart(3)} logins  ${r.seconds.toFixed(1).padStart(6)} s  exit ${r.code ?? 'killed'}`,
  );
}
