// Benchmark (`npm run bench`): the real CLI against the embedded demo portal at several concurrencies, each beside
// two baselines run in the same pass (the HTTP-only floor and the minimal Playwright loop of
// scripts/baseline-pull.ts), with throughput, CPU per item, the CPU-bound limit and peak PSS by process kind.
// Quick check: `npm run bench -- --vehicles 120 --concurrency 8`. Opt-in extras: --blocking-costs (CPU per page
// load of each way of blocking resources), --contexts (1 context x 8 pages vs 8 contexts); other arguments go to
// `pagepool run` as they are.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright';
import { launchBrowser } from '../src/browser/launch.js';
import { PageSession } from '../src/browser/page-session.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import {
  descendants,
  PROCESS_KINDS,
  type ProcessKind,
  processKind,
  treeMemory,
  treeMemoryByKind,
} from '../src/metrics/process-tree-memory.js';
import { buildIfStale } from '../test/helpers/build-dist.js';
import { BIN } from '../test/helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '..');
// The children run the built bin, as a user's install does.
buildIfStale();
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
/** No benchmark child may run longer than this (a stuck run must not hang the script). */
const CHILD_LIMIT_MS = 30 * 60_000;

// ---- process tree measurement (Linux /proc) ----

/** CPU seconds of the reaped children of this process (cutime + cstime: only descendants reaped up the chain). */
export function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; cutime and cstime are 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}

/** CPU seconds (utime + stime) one process has used so far, or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Where a tree's CPU goes, finer than the memory kinds: Chromium's GPU and network processes on their own. */
export const CPU_KINDS = ['node', 'browser', 'renderer', 'gpu', 'network', 'other'] as const;
export type CpuKind = (typeof CPU_KINDS)[number];

/** The CPU kind of `pid` from its command line (Chromium's `--type=` and `--utility-sub-type=`). */
export function cpuKind(pid: number): CpuKind {
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return 'other';
  }
  const type = /(?:^|[\0 ])--type=([^\0 ]+)/.exec(cmdline)?.[1];
  if (type === 'renderer') return 'renderer';
  if (type === 'gpu-process') return 'gpu';
  if (type === 'utility') return /NetworkService/.test(cmdline) ? 'network' : 'other';
  if (type !== undefined) return 'other';
  return processKind(pid) === 'browser' ? 'browser' : 'node';
}

/**
 * The CPU of a process tree, sampled: the last utime + stime seen of every process that was ever in it.
 * Needed because cutime misses Chromium's renderers: the zygote's children are not reaped up the chain to us
 * (measured: cutime showed 11.4 CPU s where the per-process sum was 18.5 CPU s). It misses at most the last
 * sampling interval of each process's life.
 */
export class TreeCpu {
  private readonly last = new Map<number, number>();
  private readonly kinds = new Map<number, CpuKind>();
  constructor(private readonly root: number) {}
  sample(): void {
    for (const pid of [this.root, ...descendants(this.root)]) {
      const s = processCpuSeconds(pid);
      if (s === undefined) continue;
      this.last.set(pid, Math.max(s, this.last.get(pid) ?? 0));
      // Read again while it says node: a Chromium child seen between fork and exec still has node's command line.
      if ((this.kinds.get(pid) ?? 'node') === 'node') this.kinds.set(pid, cpuKind(pid));
    }
  }
  get seconds(): number {
    let sum = 0;
    for (const s of this.last.values()) sum += s;
    return sum;
  }
  /** CPU seconds so far by process kind. */
  byKind(): Record<CpuKind, number> {
    const sums = Object.fromEntries(CPU_KINDS.map((k) => [k, 0])) as Record<CpuKind, number>;
    for (const [pid, s] of this.last) sums[this.kinds.get(pid) ?? 'other'] += s;
    return sums;
  }
}

/** Files under their final name in `dir` (a `.part` is not a file yet). */
export function finishedFiles(dir: string): number {
  try {
    return readdirSync(dir).filter((n) => !n.endsWith('.part')).length;
  } catch {
    return 0;
  }
}

// ---- one measured child process ----

export interface ChildRun {
  code: number | null;
  items: number;
  wallS: number;
  /** Items per second between the first and the last file seen (startup and login excluded). */
  steadyRate: number;
  /** Items per second over the whole child's life, startup included. */
  wallRate: number;
  /** Tree CPU seconds per item between the first and the last file (startup excluded), like `steadyRate`. */
  steadyCpuPerItem: number;
  /** `steadyCpuPerItem` split by process kind. */
  steadyCpuKinds: Record<CpuKind, number>;
  /** CPU seconds of the tree, per process sampled (see TreeCpu). */
  cpuS: number;
  /** CPU seconds of the tree as cutime + cstime saw it (undercounts the renderers). */
  reapedCpuS: number;
  /** Highest PSS sum of the whole tree seen in one sample. */
  peakBytes: number;
  /** Highest PSS sum of each process kind, each on its own (the peaks need not be simultaneous). */
  peakKinds: Record<ProcessKind, number>;
  /** Every renderer's PSS as sampled, by pid: [elapsed ms, items done, bytes]. */
  renderers: Map<number, Array<[number, number, number]>>;
  pss: boolean;
  stderr: string;
}

export interface ChildOptions {
  /** Called on every memory sample with the files done so far and the tree's memory. */
  onSample?(done: number, memoryBytes: number, elapsedMs: number, pid: number): void;
  /** CPU and files. @default 250 */
  sampleMs?: number;
  /** PSS by process kind: the kernel takes ~0.3 s per read of a Chromium tree on this loaded machine. @default 1000 */
  memoryMs?: number;
}

/**
 * Runs `node args...` with `env` and measures it from outside: files appearing under their final name in
 * `filesDir`, the CPU and the PSS of its whole process tree.
 */
export async function measureChild(
  args: string[],
  filesDir: string,
  env: Record<string, string>,
  options: ChildOptions = {},
): Promise<ChildRun> {
  const cpuBefore = childrenCpuSeconds();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      ...(process.env.CHROMIUM_PATH ? { CHROMIUM_PATH: process.env.CHROMIUM_PATH } : {}),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let peakBytes = 0;
  const peakKinds: Record<ProcessKind, number> = { node: 0, browser: 0, renderer: 0, 'gpu/utility': 0 };
  const renderers = new Map<number, Array<[number, number, number]>>();
  let pss = true;
  type Mark = { t: number; n: number; cpu: number; kinds: Record<CpuKind, number> };
  let first: Mark | null = null;
  let last: Mark | null = null;
  const treeCpu = child.pid === undefined ? undefined : new TreeCpu(child.pid);
  const sample = () => {
    if (child.pid === undefined) return;
    treeCpu?.sample();
    const n = finishedFiles(filesDir);
    const t = performance.now();
    const cpu = treeCpu?.seconds ?? 0;
    const mark = () => ({ t, n, cpu, kinds: treeCpu?.byKind() ?? zeroKinds() });
    if (n > 0 && first === null) first = mark();
    if (last === null || n > last.n) last = mark();
  };
  const sampleMemory = () => {
    if (child.pid === undefined) return;
    const mem = treeMemoryByKind(child.pid);
    const n = finishedFiles(filesDir);
    const t = performance.now() - started;
    peakBytes = Math.max(peakBytes, mem.total.bytes);
    for (const kind of PROCESS_KINDS) peakKinds[kind] = Math.max(peakKinds[kind], mem.kinds[kind]);
    for (const [pid, bytes] of mem.renderers) {
      const list = renderers.get(pid) ?? [];
      list.push([t, n, bytes]);
      renderers.set(pid, list);
    }
    if (!mem.total.pss) pss = false;
    options.onSample?.(n, mem.total.bytes, t, child.pid);
  };
  const sampler = setInterval(sample, options.sampleMs ?? 250);
  const memorySampler = setInterval(sampleMemory, options.memoryMs ?? 1000);
  const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    // 'exit' comes before the pipes close: one last sample while Chromium may still be shutting down.
    child.on('exit', () => treeCpu?.sample());
    child.on('close', (c) => resolve(c));
  });
  clearInterval(sampler);
  clearInterval(memorySampler);
  clearTimeout(killer);
  const wallS = (performance.now() - started) / 1000;
  const reapedCpuS = childrenCpuSeconds() - cpuBefore;
  const cpuS = Math.max(treeCpu?.seconds ?? 0, reapedCpuS);
  const items = finishedFiles(filesDir);
  const f = first as Mark | null;
  const l = last as Mark | null;
  const steady = f !== null && l !== null && l.n > f.n;
  const steadyRate = steady ? (l.n - f.n) / ((l.t - f.t) / 1000) : items / wallS;
  const steadyCpuPerItem = steady ? (l.cpu - f.cpu) / (l.n - f.n) : cpuS / Math.max(1, items);
  const steadyCpuKinds = zeroKinds();
  if (steady) for (const k of CPU_KINDS) steadyCpuKinds[k] = (l.kinds[k] - f.kinds[k]) / (l.n - f.n);
  return {
    steadyCpuPerItem,
    steadyCpuKinds,
    code,
    items,
    wallS,
    steadyRate,
    wallRate: items / wallS,
    cpuS,
    reapedCpuS,
    peakBytes,
    peakKinds,
    renderers,
    pss,
    stderr,
  };
}

function zeroKinds(): Record<CpuKind, number> {
  return Object.fromEntries(CPU_KINDS.map((k) => [k, 0])) as Record<CpuKind, number>;
}

export interface CliRunOptions extends ChildOptions {
  baseUrl: string;
  /** A JSONL refs file to pull instead of walking the listing. */
  refsFile?: string;
  concurrency: number;
  extraArgs?: string[];
}

/** Runs `pagepool run --site demo` (the built bin) in a child process and measures it from outside. */
export async function runCli(options: CliRunOptions): Promise<ChildRun> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'pagepool-bench-'));
  const args = [
    BIN,
    'run',
    '--site',
    'demo',
    '--base-url',
    options.baseUrl,
    '--out',
    out,
    '--concurrency',
    String(options.concurrency),
    '--quiet',
    ...(options.refsFile ? ['--refs', options.refsFile] : []),
    ...(options.extraArgs ?? []),
  ];
  try {
    return await measureChild(
      args,
      path.join(out, 'demo'),
      { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' },
      options,
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Runs one baseline of scripts/baseline-pull.ts (one node process, tsx as its loader) and measures it. */
export async function runBaseline(
  mode: 'floor' | 'minimal',
  baseUrl: string,
  concurrency: number,
  options: ChildOptions = {},
): Promise<ChildRun> {
  const out = await mkdtemp(path.join(os.tmpdir(), `pagepool-bench-${mode}-`));
  try {
    const script = path.join(ROOT, 'scripts', 'baseline-pull.ts');
    return await measureChild(
      ['--import', 'tsx', script, mode, baseUrl, String(concurrency), out],
      out,
      {},
      options,
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

// ---- one context with 8 pages vs 8 contexts ----

async function login(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/login`, { waitUntil: 'domcontentloaded' });
  await page.fill('input[name=username]', 'demo');
  await page.fill('input[name=password]', 'demo-pass');
  await Promise.all([page.waitForURL('**/licence**'), page.click('button[type=submit]')]);
  await page.check('#accept');
  await Promise.all([page.waitForURL('**/inventory**'), page.click('#accept-licence')]);
}

/** Peak PSS of the browser's process tree with `pages` pages spread over `contexts` contexts, each on a detail page. */
async function browserMemory(baseUrl: string, contexts: number, pages: number): Promise<number> {
  const browser: Browser = await launchBrowser({ chromiumPath: process.env.CHROMIUM_PATH ?? null });
  try {
    const first = await browser.newContext();
    const loginPage = await first.newPage();
    await login(loginPage, baseUrl);
    const storageState = await first.storageState();
    await loginPage.close();
    const ctxs = [first];
    for (let i = 1; i < contexts; i++) ctxs.push(await browser.newContext({ storageState }));
    const opened: Page[] = [];
    for (let i = 0; i < pages; i++) opened.push(await ctxs[i % contexts]!.newPage());
    await Promise.all(
      opened.map((p, i) =>
        p.goto(`${baseUrl}/vehicle/S${String(i + 1).padStart(5, '0')}`, { waitUntil: 'load' }),
      ),
    );
    let peak = 0;
    // Renderers settle over a moment after load; keep the highest of a few samples.
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 250));
      peak = Math.max(peak, treeMemory(process.pid, false).bytes);
    }
    return peak;
  } finally {
    await browser.close();
  }
}

// ---- the cost of resource blocking per page load ----

type Blocker = (context: BrowserContext, page: Page) => Promise<void>;
const ROUTE_TYPES = new Set(['image', 'font', 'media', 'stylesheet']);
const BLOCKERS: Record<string, Blocker> = {
  'no blocking': async () => {},
  // The pool before: every request paused and answered from Node.
  "page.route('**/*') by type": async (_context, page) => {
    await page.route('**/*', (route) =>
      (ROUTE_TYPES.has(route.request().resourceType())
        ? route.abort('blockedbyclient')
        : route.continue()
      ).catch(() => {}),
    );
  },
  'page.route(URL glob)': async (_context, page) => {
    await page.route(/\.(css|png|jpe?g|gif|webp|svg|ico|woff2?|ttf|otf|mp4|webm|mp3)(\?|$)/, (route) =>
      route.abort('blockedbyclient').catch(() => {}),
    );
  },
  'CDP Network.setBlockedURLs': async (context, page) => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setBlockedURLs', {
      urls: ['*.css', '*.png', '*.jpg', '*.jpeg', '*.gif', '*.webp', '*.svg', '*.woff', '*.woff2', '*.ttf'],
    });
  },
  // The pool now (PageSession): only requests of the blocked types are paused.
  'CDP Fetch by type (pool)': async (context, page) => {
    await PageSession.attach(context, page, { block: true, metrics: false, isUnblocked: () => false });
  },
};

/** CPU ms (Chromium tree + this process) and wall ms per detail-page load, median of interleaved rounds. */
async function blockingCosts(baseUrl: string, loads: number, rounds: number): Promise<void> {
  const browser = await launchBrowser({ chromiumPath: process.env.CHROMIUM_PATH ?? null });
  try {
    const first = await browser.newContext();
    const loginPage = await first.newPage();
    await login(loginPage, baseUrl);
    await loginPage.close();
    const samples = new Map<string, Array<{ cpu: number; wall: number }>>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, setup] of Object.entries(BLOCKERS)) {
        const page = await first.newPage();
        await setup(first, page);
        const tree = new TreeCpu(process.pid);
        tree.sample();
        const cpu0 = tree.seconds;
        const self0 = process.cpuUsage();
        const t0 = performance.now();
        const timer = setInterval(() => tree.sample(), 100);
        for (let i = 0; i < loads; i++) {
          const stock = `S${String((i % 300) + 1).padStart(5, '0')}`;
          await page.goto(`${baseUrl}/vehicle/${stock}`, { waitUntil: 'domcontentloaded' });
          await page.locator('#download-sticker').getAttribute('href');
        }
        clearInterval(timer);
        tree.sample();
        const self = process.cpuUsage(self0);
        const cpu = ((tree.seconds - cpu0) * 1000 + (self.user + self.system) / 1000) / loads;
        const list = samples.get(name) ?? [];
        list.push({ cpu, wall: (performance.now() - t0) / loads });
        samples.set(name, list);
        await page.close();
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `Resource blocking, per detail-page load (${loads} loads x ${rounds} rounds, median; CPU = Chromium tree + Node):`,
    );
    for (const [name, list] of samples) {
      console.log(
        `  ${name.padEnd(30)} ${median(list.map((x) => x.cpu))
          .toFixed(1)
          .padStart(6)} ms CPU ${median(list.map((x) => x.wall))
          .toFixed(0)
          .padStart(5)} ms wall`,
      );
    }
  } finally {
    await browser.close();
  }
}

// ---- the table ----

interface BenchArgs {
  vehicles: number;
  concurrency: number[];
  extra: string[];
  baselines: boolean;
  contexts: boolean;
  blocking: boolean;
  listing: boolean;
}

function parseArgs(argv: string[]): BenchArgs {
  let vehicles = 300;
  let concurrency = [1, 2, 4, 8, 16];
  const extra: string[] = [];
  let baselines = true;
  let contexts = false;
  let blocking = false;
  let listing = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--vehicles') vehicles = Number(argv[++i]);
    else if (a === '--concurrency') concurrency = String(argv[++i]).split(',').map(Number);
    else if (a === '--no-baselines') baselines = false;
    else if (a === '--contexts') contexts = true;
    else if (a === '--blocking-costs') blocking = true;
    else if (a === '--listing') listing = true;
    else extra.push(a); // passed to `pagepool run` as is, e.g. --no-block
  }
  if (!Number.isInteger(vehicles) || vehicles < 1)
    throw new Error(`Expected \`--vehicles\` to be an integer from 1, got \`${vehicles}\``);
  for (const c of concurrency)
    if (!Number.isInteger(c) || c < 1 || c > 64)
      throw new Error(`Expected \`--concurrency\` to list integers from 1 to 64, got \`${c}\``);
  return { vehicles, concurrency, extra, baselines, contexts, blocking, listing };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const pad = (s: string, n: number) => s.padStart(n);

export const TABLE_HEADER = `${pad('conc', 4)} ${'system'.padEnd(9)} ${pad('items/s', 7)} ${pad('wall/s', 6)} ${pad('CPU s/item', 10)} ${pad('CPU limit', 9)} ${pad('peak MB', 7)} ${pad('node', 5)} ${pad('browser', 7)} ${pad('renderers', 9)} ${pad('gpu/util', 8)}`;

/** One row of the table: rates, CPU per item and the CPU-bound limit it implies, peak PSS (tree, then per kind). */
export function tableRow(c: number | string, system: string, r: ChildRun, cores: number): string {
  const k = r.peakKinds;
  return `${pad(String(c), 4)} ${system.padEnd(9)} ${pad(r.steadyRate.toFixed(2), 7)} ${pad(r.wallRate.toFixed(2), 6)} ${pad(r.steadyCpuPerItem.toFixed(4), 10)} ${pad((cores / r.steadyCpuPerItem).toFixed(1), 9)} ${pad(mb(r.peakBytes), 7)} ${pad(mb(k.node), 5)} ${pad(mb(k.browser), 7)} ${pad(mb(k.renderer), 9)} ${pad(mb(k['gpu/utility']), 8)}${r.pss ? '' : ' (RSS)'}`;
}

/** Where a run's CPU per item went, by process kind, in milliseconds. */
export function cpuKindsRow(r: ChildRun): string {
  const parts = CPU_KINDS.filter((k) => r.steadyCpuKinds[k] > 0.00005).map(
    (k) => `${k} ${(r.steadyCpuKinds[k] * 1000).toFixed(1)}`,
  );
  return `${pad('', 4)} ${''.padEnd(9)} CPU ms/item: ${parts.join(', ')}`;
}

async function main(): Promise<void> {
  const { vehicles, concurrency, extra, baselines, contexts, blocking, listing } = parseArgs(
    process.argv.slice(2),
  );
  const cores = os.availableParallelism();
  const portal: Portal = await startPortal({ vehicles, pageLatencyMs: 100, fileLatencyMs: 200 });
  const refsDir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-bench-refs-'));
  const refsFile = listing ? undefined : await writeRefs(refsDir, portal.url, vehicles);
  try {
    console.log(
      `pagepool benchmark: ${vehicles} vehicles, page latency 100 ms, file latency 200 ms, ${cores} cores, ` +
        `load average ${os.loadavg()[0]!.toFixed(2)}${extra.length ? `, extra args: ${extra.join(' ')}` : ''}`,
    );
    console.log(
      [
        listing
          ? 'pagepool walks the demo listing (one inventory page per 25 items) while its workers run.'
          : 'pagepool reads a refs file (--refs; --listing walks the inventory instead); the baselines walk it first.',
        'Per concurrency, interleaved: floor = the same HTTP requests with undici, no browser; minimal = one context,',
        'N long-lived pages, goto + read the link + fetch the PDF with the cookie (scripts/baseline-pull.ts);',
        'pagepool = the CLI. items/s and CPU s/item: between the first and the last file on disk (start and login',
        'excluded); wall/s: the whole run. CPU = utime+stime of every process of the tree, sampled every 250 ms; the',
        'portal runs in this process and is not counted. CPU limit = cores / CPU s per item. peak MB = highest PSS',
        "sum of the tree, then each kind's own peak (Chromium processes by --type=; node includes tsx's esbuild for",
        'the baselines), sampled every second.',
      ].join('\n'),
    );
    console.log('');
    console.log(TABLE_HEADER);
    const results = new Map<number, ChildRun>();
    const failed = (c: number, system: string, r: ChildRun) =>
      r.code !== 0 || r.items !== vehicles
        ? `${pad(String(c), 4)} ${system.padEnd(9)} run incomplete: exit ${r.code}, ${r.items}/${vehicles} files\n${r.stderr.slice(-2000)}`
        : undefined;
    for (const c of concurrency) {
      const runs: Array<[string, ChildRun]> = [];
      if (baselines) {
        runs.push(['floor', await runBaseline('floor', portal.url, c)]);
        runs.push(['minimal', await runBaseline('minimal', portal.url, c)]);
      }
      const r = await runCli({
        baseUrl: portal.url,
        concurrency: c,
        extraArgs: extra,
        ...(refsFile ? { refsFile } : {}),
      });
      runs.push(['pagepool', r]);
      const ok = new Map<string, ChildRun>();
      for (const [system, run] of runs) {
        const error = failed(c, system, run);
        console.log(error ?? `${tableRow(c, system, run, cores)}\n${cpuKindsRow(run)}`);
        if (!error) ok.set(system, run);
      }
      const p = ok.get('pagepool');
      if (!p) continue;
      results.set(c, p);
      const floor = ok.get('floor');
      const minimal = ok.get('minimal');
      const limit = cores / p.steadyCpuPerItem;
      console.log(
        `${pad('', 4)} ${[
          minimal
            ? `pagepool/minimal ${(p.steadyRate / minimal.steadyRate).toFixed(2)}x items/s, ${(p.peakBytes / minimal.peakBytes).toFixed(2)}x peak PSS`
            : '',
          floor ? `pagepool/floor ${(p.steadyRate / floor.steadyRate).toFixed(2)}x` : '',
          `${((p.steadyRate / limit) * 100).toFixed(0)}% of its CPU limit`,
        ]
          .filter(Boolean)
          .join('; ')}`,
      );
    }
    const c8 = results.get(8);
    const c16 = results.get(16);
    if (c8 || c16) {
      console.log('');
      console.log(
        'Targets (issue 13): at 8 pages >= 1.9x minimal, >= 0.85x floor, peak PSS <= 0.5x minimal and <= 600 MB; at 16 pages >= 85% of the CPU limit.',
      );
    }
    if (blocking) {
      console.log('');
      await blockingCosts(portal.url, 60, 3);
    }
    if (contexts) {
      console.log('');
      const one = await browserMemory(portal.url, 1, 8);
      const eight = await browserMemory(portal.url, 8, 8);
      console.log(
        `Browser tree PSS, 8 pages each on a detail page: 1 context x 8 pages = ${mb(one)} MB; ` +
          `8 contexts x 1 page = ${mb(eight)} MB (${(((eight - one) / one) * 100).toFixed(0)}% more)`,
      );
    }
  } finally {
    await portal.close();
    await rm(refsDir, { recursive: true, force: true });
  }
}

/** Every vehicle's ref with its detail URL, as `pagepool list` would print them. */
export async function writeRefs(dir: string, baseUrl: string, items: number): Promise<string> {
  const file = path.join(dir, 'refs.jsonl');
  const lines = Array.from({ length: items }, (_, i) => {
    const stock = `S${String(i + 1).padStart(5, '0')}`;
    return JSON.stringify({ stock, url: `${baseUrl}/vehicle/${stock}` });
  });
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
