// Benchmark (`npm run bench`): the real CLI against the embedded demo portal at several concurrencies, with
// throughput, CPU per item and peak memory of the whole process tree; then 1 context x 8 pages vs 8 contexts.
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
import { descendants, treeMemory } from '../src/metrics/process-tree-memory.js';
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

/**
 * The CPU of a process tree, sampled: the last utime + stime seen of every process that was ever in it.
 * Needed because cutime misses Chromium's renderers: the zygote's children are not reaped up the chain to us
 * (measured: cutime showed 11.4 CPU s where the per-process sum was 18.5 CPU s). It misses at most the last
 * sampling interval of each process's life.
 */
export class TreeCpu {
  private readonly last = new Map<number, number>();
  constructor(private readonly root: number) {}
  sample(): void {
    for (const pid of [this.root, ...descendants(this.root)]) {
      const s = processCpuSeconds(pid);
      if (s !== undefined) this.last.set(pid, Math.max(s, this.last.get(pid) ?? 0));
    }
  }
  get seconds(): number {
    let sum = 0;
    for (const s of this.last.values()) sum += s;
    return sum;
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

// ---- one CLI run ----

export interface CliRun {
  code: number | null;
  items: number;
  wallS: number;
  /** Items per second between the first and the last file seen (startup and login excluded). */
  steadyRate: number;
  /** Items per second over the whole child's life, startup included. */
  wallRate: number;
  /** Tree CPU seconds per item between the first and the last file (startup excluded), like `steadyRate`. */
  steadyCpuPerItem: number;
  /** CPU seconds of the tree, per process sampled (see TreeCpu). */
  cpuS: number;
  /** CPU seconds of the tree as cutime + cstime saw it (undercounts the renderers). */
  reapedCpuS: number;
  peakBytes: number;
  pss: boolean;
  stderr: string;
}

export interface CliRunOptions {
  baseUrl: string;
  /** A JSONL refs file to pull instead of walking the listing. */
  refsFile?: string;
  concurrency: number;
  extraArgs?: string[];
  /** Called on every sample with the files done so far and the tree's memory. */
  onSample?(done: number, memoryBytes: number, elapsedMs: number, pid: number): void;
  sampleMs?: number;
}

/** Runs `pagepool run --site demo` in a child process and measures it from outside. */
export async function runCli(options: CliRunOptions): Promise<CliRun> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'pagepool-bench-'));
  const filesDir = path.join(out, 'demo');
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
  const cpuBefore = childrenCpuSeconds();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      PAGEPOOL_USERNAME: 'demo',
      PAGEPOOL_PASSWORD: 'demo-pass',
      ...(process.env.CHROMIUM_PATH ? { CHROMIUM_PATH: process.env.CHROMIUM_PATH } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let peakBytes = 0;
  let pss = true;
  let first: { t: number; n: number; cpu: number } | null = null;
  let last: { t: number; n: number; cpu: number } | null = null;
  const treeCpu = child.pid === undefined ? undefined : new TreeCpu(child.pid);
  const sample = () => {
    if (child.pid === undefined) return;
    treeCpu?.sample();
    const mem = treeMemory(child.pid);
    if (mem.bytes > peakBytes) peakBytes = mem.bytes;
    if (!mem.pss) pss = false;
    const n = finishedFiles(filesDir);
    const t = performance.now();
    const cpu = treeCpu?.seconds ?? 0;
    if (n > 0 && first === null) first = { t, n, cpu };
    if (last === null || n > last.n) last = { t, n, cpu };
    options.onSample?.(n, mem.bytes, t - started, child.pid);
  };
  const sampler = setInterval(sample, options.sampleMs ?? 250);
  const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    // 'exit' comes before the pipes close: one last sample while Chromium may still be shutting down.
    child.on('exit', () => treeCpu?.sample());
    child.on('close', (c) => resolve(c));
  });
  clearInterval(sampler);
  clearTimeout(killer);
  const wallS = (performance.now() - started) / 1000;
  const reapedCpuS = childrenCpuSeconds() - cpuBefore;
  const cpuS = Math.max(treeCpu?.seconds ?? 0, reapedCpuS);
  const items = finishedFiles(filesDir);
  await rm(out, { recursive: true, force: true });
  const f = first as { t: number; n: number; cpu: number } | null;
  const l = last as { t: number; n: number; cpu: number } | null;
  const steady = f !== null && l !== null && l.n > f.n;
  const steadyRate = steady ? (l.n - f.n) / ((l.t - f.t) / 1000) : items / wallS;
  const steadyCpuPerItem = steady ? (l.cpu - f.cpu) / (l.n - f.n) : cpuS / Math.max(1, items);
  return {
    steadyCpuPerItem,
    code,
    items,
    wallS,
    steadyRate,
    wallRate: items / wallS,
    cpuS,
    reapedCpuS,
    peakBytes,
    pss,
    stderr,
  };
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
  items: number;
  concurrency: number[];
  extra: string[];
  contexts: boolean;
  blocking: boolean;
  listing: boolean;
}

function parseArgs(argv: string[]): BenchArgs {
  let items = 300;
  let concurrency = [1, 2, 4, 8, 16];
  const extra: string[] = [];
  let contexts = true;
  let blocking = true;
  let listing = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--items') items = Number(argv[++i]);
    else if (a === '--concurrency') concurrency = String(argv[++i]).split(',').map(Number);
    else if (a === '--no-contexts') contexts = false;
    else if (a === '--no-blocking-costs') blocking = false;
    else if (a === '--listing') listing = true;
    else extra.push(a); // passed to `pagepool run` as is, e.g. --no-block
  }
  if (!Number.isInteger(items) || items < 1)
    throw new Error(`Expected \`--items\` to be an integer from 1, got \`${items}\``);
  for (const c of concurrency)
    if (!Number.isInteger(c) || c < 1 || c > 64)
      throw new Error(`Expected \`--concurrency\` to list integers from 1 to 64, got \`${c}\``);
  return { items, concurrency, extra, contexts, blocking, listing };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const pad = (s: string, n: number) => s.padStart(n);

async function main(): Promise<void> {
  const { items, concurrency, extra, contexts, blocking, listing } = parseArgs(process.argv.slice(2));
  const cores = os.availableParallelism();
  const portal: Portal = await startPortal({ vehicles: items, pageLatencyMs: 100, fileLatencyMs: 200 });
  const refsDir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-bench-refs-'));
  const refsFile = listing ? undefined : await writeRefs(refsDir, portal.url, items);
  try {
    console.log(
      `pagepool benchmark: ${items} vehicles, page latency 100 ms, file latency 200 ms, ${cores} cores, ` +
        `load average ${os.loadavg()[0]!.toFixed(2)}${extra.length ? `, extra args: ${extra.join(' ')}` : ''}`,
    );
    console.log(
      listing
        ? 'Items come from the demo listing (one inventory page per 25 items, walked while workers run).'
        : 'Items come from a refs file (--refs; --listing walks the inventory instead, one page per 25 items).',
    );
    console.log(
      [
        'items/s and CPU s/item: between the first and the last file on disk (browser start and login excluded);',
        'wall and (whole): the whole run. CPU = utime+stime of every process of the tree (CLI, Chromium and its',
        'helpers), sampled per process every 250 ms; (reaped) = cutime+cstime from /proc/self/stat, which only',
        "counts children reaped up the chain and misses Chromium's zygote-forked renderers. The portal runs in",
        'this process and is not counted. peak MB = highest PSS sum of the tree (RSS where PSS is unreadable).',
      ].join('\n'),
    );
    console.log('');
    const header = `${pad('conc', 5)} ${pad('items/s', 8)} ${pad('wall/s', 7)} ${pad('speedup', 8)} ${pad('effic.', 7)} ${pad('CPU s/item', 11)} ${pad('(whole)', 8)} ${pad('(reaped)', 9)} ${pad('peak MB', 8)}`;
    console.log(header);
    let base: CliRun | undefined;
    const results = new Map<number, CliRun>();
    for (const c of concurrency) {
      const r = await runCli({
        baseUrl: portal.url,
        concurrency: c,
        extraArgs: extra,
        ...(refsFile ? { refsFile } : {}),
      });
      if (r.code !== 0 || r.items !== items) {
        console.log(
          `${pad(String(c), 5)}  run incomplete: exit ${r.code}, ${r.items}/${items} files\n${r.stderr.slice(-2000)}`,
        );
        continue;
      }
      results.set(c, r);
      if (c === 1) base = r;
      const speedup = base ? r.steadyRate / base.steadyRate : Number.NaN;
      const efficiency = base ? r.steadyRate / (c * base.steadyRate) : Number.NaN;
      console.log(
        `${pad(String(c), 5)} ${pad(r.steadyRate.toFixed(2), 8)} ${pad(r.wallRate.toFixed(2), 7)} ${pad(`${speedup.toFixed(2)}x`, 8)} ${pad(`${(efficiency * 100).toFixed(0)}%`, 7)} ${pad(r.steadyCpuPerItem.toFixed(4), 11)} ${pad((r.cpuS / r.items).toFixed(4), 8)} ${pad((r.reapedCpuS / r.items).toFixed(4), 9)} ${pad(mb(r.peakBytes), 8)}${r.pss ? '' : ' (RSS)'}`,
      );
    }
    console.log('');
    if (base) {
      const cpuPerItem = base.steadyCpuPerItem;
      const limit = cores / cpuPerItem;
      console.log(
        `CPU-bound limit: ${cores} cores / ${cpuPerItem.toFixed(4)} CPU s per item at concurrency 1 = ${limit.toFixed(2)} items/s`,
      );
      for (const [c, r] of results) {
        if (c === 1) continue;
        console.log(
          `  concurrency ${c}: ${((r.steadyRate / limit) * 100).toFixed(0)}% of the limit, ${(r.steadyRate / base.steadyRate).toFixed(2)}x concurrency 1` +
            `${c === 8 ? ' (targets: >= 85%, >= 4x)' : ''}`,
        );
      }
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
      const c8 = results.get(8);
      if (c8)
        console.log(
          `Whole tree at concurrency 8 (CLI + Chromium, peak during the run): ${mb(c8.peakBytes)} MB; ` +
            `8 contexts would add ${mb(eight - one)} MB to the browser alone`,
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
