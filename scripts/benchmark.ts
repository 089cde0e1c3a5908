// Benchmark (`npm run bench`): what a user sees, beside the peers users know. For light pages and, where the demo
// portal has them (DEMO_HEAVY), heavy ones, at 8 and 16 pages, interleaved in one run: the real CLI
// (`node dist/main.js run --site demo`, start-up and listing included), Crawlee's PlaywrightCrawler, the minimal
// Playwright loop and the HTTP-only floor (bench/peers/, installed on first use), each one child process measured
// from outside: whole-run wall and items/s from the spawn, the steady rate (first to last file), CPU of every
// process of its tree, peak PSS by process kind. Then pagepool's ratios to each.
//   npm run bench -- --quick                        60 vehicles, 8 pages: a smoke run of every row
//   npm run bench -- --adapter http=adapters/x.ts   one more pagepool row per adapter module (--site PATH)
// Flags: --vehicles N, --concurrency 8,16, --rounds N, --pages light,heavy,
// --systems floor,minimal,crawlee,pagepool,pagepool-browser (pagepool: the demo adapter, pages over HTTP;
// pagepool-browser: the same adapter reading every page on a browser page),
// --no-baselines (pagepool only), --refs (pagepool reads a refs file instead of the listing); DEMO_* variables set
// the portal (e.g. DEMO_LIST_LATENCY_MS); other arguments go to `pagepool run` as they are. Opt-in extras:
// --blocking-costs (CPU per page load of each way of blocking resources), --contexts (1 context x 8 pages vs 8).
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright';
import { findChromium } from '../src/browser/find-chromium.js';
import { launchBrowser } from '../src/browser/launch.js';
import { PageSession } from '../src/browser/page-session.js';
import { startPortal } from '../src/demo/portal.js';
import {
  DEFAULT_PORTAL_OPTIONS,
  type PortalOptions,
  portalOptionsFromEnv,
  resolvePortalOptions,
} from '../src/demo/portal-options.js';
import { treeMemory } from '../src/metrics/process-tree-memory.js';
import {
  type ChildRun,
  CPU_KINDS,
  ensurePeers,
  PEERS,
  PEERS_DIR,
  type Peer,
  runCli,
  runPeer,
  TreeCpu,
  writeRefs,
} from './bench-measure.js';

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

// ---- the whole-run tables ----

type PageKind = 'light' | 'heavy';
const SYSTEM_NAMES = [...PEERS, 'pagepool', 'pagepool-browser'] as const;
/** The demo adapter with every detail page read on a browser page (the "pagepool-browser" row). */
const BROWSER_ADAPTER = path.join(import.meta.dirname, 'fixtures', 'demo-browser.ts');

interface BenchArgs {
  vehicles: number;
  concurrency: number[];
  rounds: number;
  pages: PageKind[];
  systems: string[];
  /** More pagepool rows: `--site PATH` each, named `pagepool:LABEL`. */
  adapters: Array<{ label: string; path: string }>;
  refs: boolean;
  extra: string[];
  contexts: boolean;
  blocking: boolean;
}

/** A bad flag: one line and exit code 2, no stack trace. */
class UsageError extends Error {}

function list(value: string | undefined): string[] {
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseArgs(argv: string[]): BenchArgs {
  let vehicles: number | undefined;
  let concurrency: number[] | undefined;
  let quick = false;
  let rounds = 1;
  let pages: string[] = ['light', 'heavy'];
  let systems: string[] = [...SYSTEM_NAMES];
  const adapters: BenchArgs['adapters'] = [];
  const extra: string[] = [];
  let refs = false;
  let contexts = false;
  let blocking = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--vehicles') vehicles = Number(argv[++i]);
    else if (a === '--concurrency') concurrency = list(argv[++i]).map(Number);
    else if (a === '--quick') quick = true;
    else if (a === '--rounds') rounds = Number(argv[++i]);
    else if (a === '--pages') pages = list(argv[++i]);
    else if (a === '--systems') systems = list(argv[++i]);
    else if (a === '--no-baselines') systems = ['pagepool', 'pagepool-browser'];
    else if (a === '--adapter') {
      const value = String(argv[++i] ?? '');
      const eq = value.indexOf('=');
      const file = eq < 0 ? value : value.slice(eq + 1);
      const label = eq < 0 ? path.basename(file).replace(/\.[cm]?[jt]s$/, '') : value.slice(0, eq);
      if (!file) throw new UsageError('Expected `--adapter` to be [LABEL=]PATH of an adapter module');
      if (!existsSync(file)) throw new UsageError(`\`--adapter\`: no file \`${file}\``);
      adapters.push({ label, path: path.resolve(file) });
    } else if (a === '--refs') refs = true;
    else if (a === '--contexts') contexts = true;
    else if (a === '--blocking-costs') blocking = true;
    else extra.push(a); // passed to `pagepool run` as is, e.g. --no-block
  }
  vehicles ??= quick ? 60 : 300;
  concurrency ??= quick ? [8] : [8, 16];
  if (!Number.isInteger(vehicles) || vehicles < 1)
    throw new UsageError(`Expected \`--vehicles\` to be an integer from 1, got \`${vehicles}\``);
  for (const c of concurrency)
    if (!Number.isInteger(c) || c < 1 || c > 64)
      throw new UsageError(`Expected \`--concurrency\` to list integers from 1 to 64, got \`${c}\``);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new UsageError(`Expected \`--rounds\` to be an integer from 1, got \`${rounds}\``);
  for (const p of pages)
    if (p !== 'light' && p !== 'heavy')
      throw new UsageError(`Expected \`--pages\` to list light and/or heavy, got \`${p}\``);
  for (const s of systems)
    if (!(SYSTEM_NAMES as readonly string[]).includes(s))
      throw new UsageError(`Expected \`--systems\` to list ${SYSTEM_NAMES.join(', ')}, got \`${s}\``);
  return {
    vehicles,
    concurrency,
    rounds,
    pages: pages as PageKind[],
    systems,
    adapters,
    refs,
    extra,
    contexts,
    blocking,
  };
}

/**
 * The portal of each table: 100 ms per page, 200 ms per file (as every earlier figure), then DEMO_* variables,
 * then --vehicles. Heavy pages are the demo portal's DEMO_HEAVY mode; undefined while the portal has none.
 */
function portalOptions(kind: PageKind, vehicles: number): Partial<PortalOptions> | undefined {
  const heavy = kind === 'heavy' ? portalOptionsFromEnv({ DEMO_HEAVY: '1' }) : {};
  if (kind === 'heavy' && Object.keys(heavy).length === 0) return undefined;
  return {
    pageLatencyMs: 100,
    fileLatencyMs: 200,
    ...portalOptionsFromEnv(process.env),
    ...heavy,
    vehicles,
  };
}

/** The options that differ from the portal's defaults, for the table's title. */
function describePortal(options: Partial<PortalOptions>): string {
  const resolved = resolvePortalOptions(options) as unknown as Record<string, unknown>;
  const defaults = DEFAULT_PORTAL_OPTIONS as unknown as Record<string, unknown>;
  return Object.keys(resolved)
    .filter((k) => resolved[k] !== defaults[k] && k !== 'port' && k !== 'host')
    .map((k) => `${k} ${String(resolved[k])}`)
    .join(', ');
}

interface System {
  name: string;
  /** A pagepool row: its ratios to the peers are printed. */
  pagepool: boolean;
  run(baseUrl: string, concurrency: number): Promise<ChildRun>;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const pad = (s: string, n: number) => s.padStart(n);
const NAME = 20;

export const TABLE_HEADER = `${pad('conc', 4)} ${'system'.padEnd(NAME)} ${pad('items/s', 7)} ${pad('wall s', 6)} ${pad('1st file s', 10)} ${pad('steady/s', 8)} ${pad('CPU ms/item', 11)} ${pad('cores', 5)} ${pad('peak MB', 7)} ${pad('node', 5)} ${pad('browser', 7)} ${pad('renderers', 9)} ${pad('gpu/util', 8)}`;

/** One row: whole-run rate and wall (what a user sees), the first file, the steady rate, CPU, peak PSS. */
export function tableRow(c: number, system: string, r: ChildRun): string {
  const k = r.peakKinds;
  return `${pad(String(c), 4)} ${system.padEnd(NAME)} ${pad(r.wallRate.toFixed(2), 7)} ${pad(r.wallS.toFixed(1), 6)} ${pad(r.firstFileS.toFixed(2), 10)} ${pad(r.steadyRate.toFixed(2), 8)} ${pad(((r.cpuS / r.items) * 1000).toFixed(1), 11)} ${pad((r.cpuS / r.wallS).toFixed(2), 5)} ${pad(mb(r.peakBytes), 7)} ${pad(mb(k.node), 5)} ${pad(mb(k.browser), 7)} ${pad(mb(k.renderer), 9)} ${pad(mb(k['gpu/utility']), 8)}${r.pss ? '' : ' (RSS)'}`;
}

/** Where a run's CPU went, whole run, by process kind, in ms per item. */
export function cpuKindsRow(r: ChildRun): string {
  const parts = CPU_KINDS.filter((k) => r.cpuKinds[k] / r.items > 0.00005).map(
    (k) => `${k} ${((r.cpuKinds[k] / r.items) * 1000).toFixed(1)}`,
  );
  return `${pad('', 4)} ${''.padEnd(NAME)} CPU ms/item: ${parts.join(', ')}`;
}

/** The run of median whole-run items/s among `runs`. */
function medianRun(runs: ChildRun[]): ChildRun {
  return [...runs].sort((a, b) => a.wallRate - b.wallRate)[Math.floor(runs.length / 2)]!;
}

const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

function printTable(
  kind: PageKind,
  args: BenchArgs,
  systems: System[],
  results: Map<string, ChildRun[]>,
  cores: number,
): void {
  console.log('');
  console.log(
    `${kind} pages, median of ${args.rounds} round(s) by whole-run items/s (CPU ms/item and cores: whole run; cores = CPU s / wall s of ${cores}):`,
  );
  console.log(TABLE_HEADER);
  const at = (c: number, name: string) => {
    const runs = results.get(`${c}|${name}`);
    return runs?.length ? medianRun(runs) : undefined;
  };
  for (const c of args.concurrency) {
    for (const s of systems) {
      const r = at(c, s.name);
      console.log(
        r
          ? `${tableRow(c, s.name, r)}\n${cpuKindsRow(r)}`
          : `${pad(String(c), 4)} ${s.name.padEnd(NAME)} (no complete run)`,
      );
    }
    for (const s of systems.filter((s) => s.pagepool)) {
      const p = at(c, s.name);
      if (!p) continue;
      const vs = systems
        .filter((o) => !o.pagepool)
        .map((o) => [o.name, at(c, o.name)] as const)
        .filter((e): e is readonly [string, ChildRun] => e[1] !== undefined);
      const rates = vs.map(([name, o]) => `${x(p.wallRate, o.wallRate)} ${name}`).join(', ');
      const pss = vs
        .filter(([name]) => name !== 'floor')
        .map(([name, o]) => `${x(p.peakBytes, o.peakBytes)} ${name}`)
        .join(', ');
      const cpu = vs.map(([name, o]) => `${x(p.cpuS / p.items, o.cpuS / o.items)} ${name}`).join(', ');
      console.log(
        `${pad(String(c), 4)} ${s.name} items/s (whole run): ${rates}; peak PSS: ${pss}; CPU per item: ${cpu}`,
      );
    }
  }
  const [low, high] = [Math.min(...args.concurrency), Math.max(...args.concurrency)];
  if (high > low) {
    for (const s of systems) {
      const a = at(low, s.name);
      const b = at(high, s.name);
      if (a && b)
        console.log(
          `${s.name} ${high} vs ${low} pages: ${x(b.wallRate, a.wallRate)} items/s (whole run), cores busy ${(a.cpuS / a.wallS).toFixed(2)} -> ${(b.cpuS / b.wallS).toFixed(2)} of ${cores}`,
        );
    }
  }
  console.log(
    kind === 'light'
      ? 'Targets (issue 26), whole run: 8 pages >= 0.9x floor and >= 5x crawlee, peak PSS <= 0.6x crawlee; 16 pages >= 1.5x the 8-page items/s or >= 85% of the cores.'
      : 'Targets (issue 27), whole run, 8 pages: pagepool with HTTP reads >= 0.8x floor and >= 10x crawlee; with the browser >= 1.3x the figure before issue 27.',
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cores = os.availableParallelism();
  const peers = args.systems.filter((s): s is Peer => (PEERS as readonly string[]).includes(s));
  if (peers.length > 0) ensurePeers();
  const crawlee = peers.includes('crawlee')
    ? `, Crawlee ${
        (
          JSON.parse(
            readFileSync(
              path.join(PEERS_DIR, 'node_modules', '@crawlee', 'playwright', 'package.json'),
              'utf8',
            ),
          ) as { version: string }
        ).version
      }`
    : '';
  const refsDir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-bench-refs-'));
  let refsFile: string | undefined;
  const systems: System[] = [
    ...peers.map((peer) => ({
      name: peer,
      pagepool: false,
      run: (url: string, c: number) => runPeer(peer, url, c),
    })),
    ...(args.systems.includes('pagepool')
      ? [
          {
            name: 'pagepool',
            pagepool: true,
            run: (baseUrl: string, concurrency: number) =>
              runCli({ baseUrl, concurrency, extraArgs: args.extra, ...(refsFile ? { refsFile } : {}) }),
          },
        ]
      : []),
    ...(args.systems.includes('pagepool-browser')
      ? [
          {
            name: 'pagepool-browser',
            pagepool: true,
            run: (baseUrl: string, concurrency: number) =>
              runCli({
                baseUrl,
                concurrency,
                site: BROWSER_ADAPTER,
                extraArgs: args.extra,
                ...(refsFile ? { refsFile } : {}),
              }),
          },
        ]
      : []),
    ...args.adapters.map((a) => ({
      name: `pagepool:${a.label}`,
      pagepool: true,
      run: (baseUrl: string, concurrency: number) =>
        runCli({ baseUrl, concurrency, site: a.path, extraArgs: args.extra }),
    })),
  ];
  console.log(
    `pagepool benchmark: ${args.vehicles} vehicles, ${args.concurrency.join(' and ')} pages, ${args.rounds} round(s), ` +
      `${cores} cores, load average ${os.loadavg()[0]!.toFixed(2)}, node ${process.version}, ` +
      `${findChromium(process.env.CHROMIUM_PATH ?? null)}${crawlee}` +
      `${args.extra.length ? `, pagepool args: ${args.extra.join(' ')}` : ''}`,
  );
  console.log(
    [
      'Every system is one command measured from its spawn to its exit: start-up, login and listing included.',
      'floor = the same HTTP requests with undici, no browser, listing walked lazily; minimal = Playwright, one',
      'context, N long-lived pages, listing read first (bench/peers/minimal.mjs); crawlee = PlaywrightCrawler',
      '(bench/peers/crawlee.mjs); pagepool = `node dist/main.js run`. All browsers are the same Chromium at the same',
      'concurrency. items/s and wall s: whole run; 1st file s: from the spawn; steady/s: first to last file.',
      'CPU = utime+stime of every process of the tree, sampled every 250 ms (the portal runs in this process and',
      "is not counted). peak MB = highest PSS sum of the tree, then each kind's own peak, sampled every second.",
    ].join('\n'),
  );
  try {
    for (const kind of args.pages) {
      const options = portalOptions(kind, args.vehicles);
      if (!options) {
        console.log('');
        console.log(`${kind} pages: skipped, the demo portal has no DEMO_HEAVY mode in this build.`);
        continue;
      }
      const portal = await startPortal(options);
      try {
        refsFile = args.refs ? await writeRefs(refsDir, portal.url, args.vehicles) : undefined;
        console.log('');
        console.log(`${kind} pages: portal ${describePortal(options)}`);
        const results = new Map<string, ChildRun[]>();
        for (let round = 0; round < args.rounds; round++) {
          // Every other round in the opposite order, so a drift of the machine's load favours no one.
          const order = round % 2 === 0 ? systems : [...systems].reverse();
          for (const c of args.concurrency) {
            for (const s of order) {
              const r = await s.run(portal.url, c);
              const incomplete = r.code !== 0 || r.items !== args.vehicles || r.notPdf > 0;
              console.log(
                incomplete
                  ? `  round ${round + 1} ${pad(String(c), 2)} ${s.name}: run incomplete: exit ${r.code}, ${r.items}/${args.vehicles} PDFs, ${r.notPdf} files not PDFs\n${r.stderr.slice(-2000)}`
                  : `  round ${round + 1} ${pad(String(c), 2)} ${s.name.padEnd(NAME)} ${r.wallRate.toFixed(2)} items/s, ${r.wallS.toFixed(1)} s`,
              );
              if (incomplete) continue;
              const key = `${c}|${s.name}`;
              results.set(key, [...(results.get(key) ?? []), r]);
            }
          }
        }
        printTable(kind, args, systems, results, cores);
      } finally {
        await portal.close();
      }
    }
    const extras =
      args.blocking || args.contexts
        ? await startPortal({ vehicles: 300, pageLatencyMs: 100, fileLatencyMs: 200 })
        : undefined;
    try {
      if (extras && args.blocking) {
        console.log('');
        await blockingCosts(extras.url, 60, 3);
      }
      if (extras && args.contexts) {
        console.log('');
        const one = await browserMemory(extras.url, 1, 8);
        const eight = await browserMemory(extras.url, 8, 8);
        console.log(
          `Browser tree PSS, 8 pages each on a detail page: 1 context x 8 pages = ${mb(one)} MB; ` +
            `8 contexts x 1 page = ${mb(eight)} MB (${(((eight - one) / one) * 100).toFixed(0)}% more)`,
        );
      }
    } finally {
      await extras?.close();
    }
  } finally {
    await rm(refsDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().catch((err: unknown) => {
    console.error(err instanceof UsageError ? err.message : err);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
