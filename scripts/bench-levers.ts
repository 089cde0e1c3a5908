// Memory levers for long-lived pages (issue 13): pagepool at 8 pages through scripts/lever-pull.ts, once per
// lever and interleaved over rounds, each against no lever in the same run. Prints items/s, CPU s per item, peak
// PSS by process kind and how the renderers grow (the median renderer's PSS after its first items and at the end).
// 'none' is launch.ts's defaults with the browser findChromium picks (Debian's headless shell once installed),
// LEAN_ARGS included; 'chromium (not the shell)' is how runs launched before the shell.
// --heavy serves the demo's heavy detail pages (DEMO_HEAVY: ~150 KB of HTML, a script that builds ~600 elements).
//   tsx scripts/bench-levers.ts [--vehicles 200] [--concurrency 8] [--rounds 1] [--heavy] [--only name,name]
//   (names as in LEVERS)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPortal } from '../src/demo/portal.js';
import { type ChildRun, measureChild, writeRefs } from './bench-measure.js';

interface Lever {
  args?: string[];
  blank?: boolean;
  recycleAfter?: number;
  /** Environment of the pull, e.g. CHROMIUM_PATH for another browser build. */
  env?: Record<string, string>;
}

const SHELL = { CHROMIUM_PATH: '/usr/bin/chromium-headless-shell' };

const LEVERS: Record<string, Lever> = {
  none: {},
  // Debian's chromium-headless-shell (the old headless, what Playwright itself launches for headless runs).
  'headless shell': { env: SHELL },
  'shell + --in-process-gpu': { env: SHELL, args: ['--in-process-gpu'] },
  // Playwright's own --enable-features list first: Chromium honours only the last such switch.
  'shell + network service in process': {
    env: SHELL,
    args: [
      '--enable-features=CDPScreenshotNewSurface,SkipListAccountsWithoutGaiaCookies,NetworkServiceInProcess2',
    ],
  },
  'chromium (not the shell)': { env: { CHROMIUM_PATH: '/usr/bin/chromium' } },
  '--in-process-gpu': { args: ['--in-process-gpu'] },
  'no spare renderer': { args: ['--disable-features=SpareRendererForSitePerProcess'] },
  'about:blank before each item': { blank: true },
  '--process-per-site': { args: ['--process-per-site'] },
  // Issue 27.3: renderer processes for the pool's pages (launch.ts sets one per two cores).
  '--renderer-process-limit=1': { args: ['--renderer-process-limit=1'] },
  '--renderer-process-limit=2': { args: ['--renderer-process-limit=2'] },
  '--renderer-process-limit=4': { args: ['--renderer-process-limit=4'] },
  'V8 old 64 MB semi 1 MB': { args: ['--js-flags=--max-old-space-size=64 --max-semi-space-size=1'] },
  'recycle a page after 25 items': { recycleAfter: 25 },
  // The later switch wins: the renderers as before LEAN_ARGS, one per page.
  'without LEAN_ARGS': { args: ['--renderer-process-limit=99'] },
  'limit=2 + V8 old 64 semi 1': {
    args: ['--renderer-process-limit=2', '--js-flags=--max-old-space-size=64 --max-semi-space-size=1'],
  },
  'limit=1 + V8 old 64 semi 1': {
    args: ['--renderer-process-limit=1', '--js-flags=--max-old-space-size=64 --max-semi-space-size=1'],
  },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const vehicles = Number(arg('--vehicles', '200'));
const concurrency = Number(arg('--concurrency', '8'));
const rounds = Number(arg('--rounds', '1'));
const only = arg('--only', '').split(',').filter(Boolean);
const heavy = process.argv.includes('--heavy');
const levers = Object.entries(LEVERS).filter(
  ([name]) => only.length === 0 || name === 'none' || only.includes(name),
);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const pad = (s: string, n: number) => s.padStart(n);
const TABLE_HEADER = `${pad('conc', 4)} ${'system'.padEnd(9)} ${pad('items/s', 7)} ${pad('wall/s', 6)} ${pad('CPU s/item', 10)} ${pad('CPU limit', 9)} ${pad('peak MB', 7)} ${pad('node', 5)} ${pad('browser', 7)} ${pad('renderers', 9)} ${pad('gpu/util', 8)}`;

/** One row: steady rates (first to last file), CPU per item and the CPU-bound limit it implies, peak PSS. */
function tableRow(c: number, system: string, r: ChildRun, cores: number): string {
  const k = r.peakKinds;
  return `${pad(String(c), 4)} ${system.padEnd(9)} ${pad(r.steadyRate.toFixed(2), 7)} ${pad(r.wallRate.toFixed(2), 6)} ${pad(r.steadyCpuPerItem.toFixed(4), 10)} ${pad((cores / r.steadyCpuPerItem).toFixed(1), 9)} ${pad(mb(r.peakBytes), 7)} ${pad(mb(k.node), 5)} ${pad(mb(k.browser), 7)} ${pad(mb(k.renderer), 9)} ${pad(mb(k['gpu/utility']), 8)}${r.pss ? '' : ' (RSS)'}`;
}
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : 0);

/** The median renderer's PSS at its first sample with 10% of the items done, and at its last sample. */
function rendererGrowth(r: ChildRun): { count: number; early: number; late: number; max: number } {
  const early: number[] = [];
  const late: number[] = [];
  let max = 0;
  for (const samples of r.renderers.values()) {
    const warm = samples.find(([, n]) => n >= vehicles / 10);
    if (!warm) continue;
    early.push(warm[2]);
    late.push(samples.at(-1)![2]);
    max = Math.max(max, ...samples.map((s) => s[2]));
  }
  return { count: r.renderers.size, early: median(early), late: median(late), max };
}

const portal = await startPortal({ vehicles, pageLatencyMs: 100, fileLatencyMs: 200, heavy });
const refsDir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-levers-'));
try {
  const refs = await writeRefs(refsDir, portal.url, vehicles);
  const cores = os.availableParallelism();
  console.log(
    `Memory levers: pagepool (library, scripts/lever-pull.ts) at ${concurrency} pages, ${vehicles} vehicles, page 100 ms, ` +
      `file 200 ms${heavy ? ', heavy pages' : ''}, ${rounds} round(s), load average ${os.loadavg()[0]!.toFixed(2)}`,
  );
  console.log(
    'renderer PSS: median over renderers at 10% of the items and at the end, then the largest renderer seen; n = renderers seen.',
  );
  console.log('');
  console.log(`${TABLE_HEADER}  renderer PSS (early -> late, max, n)   lever`);
  for (let round = 0; round < rounds; round++) {
    for (const [name, lever] of levers) {
      const out = await mkdtemp(path.join(os.tmpdir(), 'pagepool-lever-'));
      const script = path.join(import.meta.dirname, 'lever-pull.ts');
      const r = await measureChild(
        ['--import', 'tsx', script, portal.url, String(concurrency), out, refs, JSON.stringify(lever)],
        path.join(out, 'demo'),
        lever.env ?? {},
      );
      await rm(out, { recursive: true, force: true });
      if (r.code !== 0 || r.items !== vehicles) {
        console.log(
          `run incomplete: exit ${r.code}, ${r.items}/${vehicles} files  ${name}\n${r.stderr.slice(-1500)}`,
        );
        continue;
      }
      const g = rendererGrowth(r);
      console.log(
        `${tableRow(concurrency, `r${round + 1}`, r, cores)}  ${`${mb(g.early)} -> ${mb(g.late)}, ${mb(g.max)}, ${g.count}`.padEnd(24)}  ${name}`,
      );
    }
  }
} finally {
  await portal.close();
  await rm(refsDir, { recursive: true, force: true });
}
