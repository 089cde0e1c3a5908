// What one detail-page load costs in CPU, by process kind, for each way of loading and reading it (issue 13: the
// pool is CPU-bound at 8 pages on 2 cores, so CPU per item is its speed limit). One page, loads one after another,
// variants interleaved over rounds, median per variant (launch.ts's switches unless a variant says otherwise). Node's CPU includes the demo portal (same process).
//   tsx scripts/nav-cost.ts [--loads 100] [--rounds 3] [--only name,name] [--heavy]
// --heavy: the demo portal's DEMO_HEAVY detail pages (150 KB of HTML, a 200-300 KB script, stylesheet, photos).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { chromium, type Page } from 'playwright';
import { findChromium } from '../src/browser/find-chromium.js';
import {
  CHROMIUM_ARGS,
  LEAN_ARGS,
  launchBrowser,
  PLAYWRIGHT_DISABLED_FEATURES,
} from '../src/browser/launch.js';
import { PageSession } from '../src/browser/page-session.js';
import { startPortal } from '../src/demo/portal.js';
import { descendants } from '../src/metrics/process-tree-memory.js';
import { demoLogin } from '../src/sites/demo-portal-login.js';
import { CPU_KINDS, type CpuKind, TreeCpu } from './bench-measure.js';

interface Variant {
  /** Chromium switches for this variant's own browser. */
  args?: string[];
  /** The whole `--disable-features` list (Playwright's own replaced). @default launch.ts's */
  features?: string[];
  /** The pool's CDP session: blocking by type, performance metrics. */
  session?: { block: boolean; metrics: boolean };
  /** How the sticker link is read after the load. */
  read: 'locator' | 'page.evaluate' | 'none';
  waitUntil?: 'domcontentloaded' | 'load' | 'commit';
  viewport?: { width: number; height: number };
  /** A page.on('response') listener, as the pool keeps for each page's last document response. */
  onResponse?: boolean;
  /** false: JavaScript disabled on the page, as the pool does for a site with `scripts: false`. */
  scripts?: boolean;
}

const PW = PLAYWRIGHT_DISABLED_FEATURES;
const VARIANTS: Record<string, Variant> = {
  'goto + locator.evaluate': { read: 'locator' },
  'goto + page.evaluate': { read: 'page.evaluate' },
  'page.evaluate + response listener': { read: 'page.evaluate', onResponse: true },
  'page.evaluate, Playwright features': { read: 'page.evaluate', features: [...PW] },
  'page.evaluate, RenderDocument off only': { read: 'page.evaluate', features: ['RenderDocument'] },
  'page.evaluate + pool session': { read: 'page.evaluate', session: { block: true, metrics: true } },
  'pool session + scripts off': {
    read: 'page.evaluate',
    session: { block: true, metrics: true },
    scripts: false,
  },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const loads = Number(arg('--loads', '100'));
const rounds = Number(arg('--rounds', '3'));
const only = arg('--only', '').split(',').filter(Boolean);
const heavy = process.argv.includes('--heavy');
const variants = Object.entries(VARIANTS).filter(([name]) => only.length === 0 || only.includes(name));

/** The Chromium browser process among this process's descendants that is not in `known`. */
function newBrowserPid(known: Set<number>): number {
  for (const pid of descendants(process.pid)) {
    if (known.has(pid)) continue;
    const cmd = execFileSync('cat', [`/proc/${pid}/cmdline`]).toString();
    if (/chrom/i.test(cmd.split('\0')[0] ?? '') && !/--type=/.test(cmd)) return pid;
  }
  throw new Error('no Chromium browser process found');
}

async function measure(name: string, v: Variant, baseUrl: string): Promise<Record<CpuKind, number>> {
  const before = new Set(descendants(process.pid));
  const browser = v.features
    ? await chromium.launch({
        executablePath: findChromium(process.env.CHROMIUM_PATH ?? null),
        args: [
          ...CHROMIUM_ARGS,
          ...LEAN_ARGS,
          ...(v.args ?? []),
          `--disable-features=${v.features.join(',')}`,
        ],
        ignoreDefaultArgs: [`--disable-features=${PW.join(',')}`],
      })
    : await launchBrowser({ chromiumPath: process.env.CHROMIUM_PATH ?? null, args: v.args ?? [] });
  try {
    const tree = new TreeCpu(newBrowserPid(before));
    const context = await browser.newContext(v.viewport ? { viewport: v.viewport } : {});
    const first = await context.newPage();
    await demoLogin(first, { username: 'demo', password: 'demo-pass' }, baseUrl);
    await first.close();
    const page: Page = await context.newPage();
    if (v.onResponse)
      page.on('response', (r) => {
        if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) void r.status();
      });
    if (v.session) await PageSession.attach(context, page, { ...v.session, isUnblocked: () => false });
    if (v.scripts === false)
      await (await context.newCDPSession(page)).send('Emulation.setScriptExecutionDisabled', { value: true });
    const load = async (i: number) => {
      const stock = `S${String((i % 300) + 1).padStart(5, '0')}`;
      await page.goto(`${baseUrl}/vehicle/${stock}`, { waitUntil: v.waitUntil ?? 'domcontentloaded' });
      if (v.read === 'locator')
        await page.locator('#download-sticker').evaluate((a) => (a as HTMLAnchorElement).href);
      else if (v.read === 'page.evaluate')
        await page.evaluate(() => (document.querySelector('#download-sticker') as HTMLAnchorElement).href);
    };
    for (let i = 0; i < 10; i++) await load(i); // warm-up: JIT, caches
    tree.sample();
    const k0 = tree.byKind();
    const self0 = process.cpuUsage();
    const timer = setInterval(() => tree.sample(), 100);
    for (let i = 0; i < loads; i++) await load(i + 10);
    clearInterval(timer);
    tree.sample();
    const k1 = tree.byKind();
    const self = process.cpuUsage(self0);
    const ms = Object.fromEntries(CPU_KINDS.map((k) => [k, ((k1[k] - k0[k]) * 1000) / loads])) as Record<
      CpuKind,
      number
    >;
    ms.node = (self.user + self.system) / 1000 / loads;
    return ms;
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  } finally {
    await browser.close();
  }
}

const portal = await startPortal({ vehicles: 300, heavy });
try {
  console.log(
    `CPU per detail-page load, ms by process kind: ${loads} loads on one page x ${rounds} rounds (median), ` +
      `${heavy ? 'heavy pages (DEMO_HEAVY), ' : ''}no latency, load average ${os.loadavg()[0]!.toFixed(2)}. node includes the demo portal.`,
  );
  const results = new Map<string, Array<Record<CpuKind, number>>>();
  for (let r = 0; r < rounds; r++)
    for (const [name, v] of variants) {
      const list = results.get(name) ?? [];
      results.set(name, list);
      try {
        list.push(await measure(name, v, portal.url));
      } catch (err) {
        console.log(`  ${(err as Error).message.split('\n')[0]}`);
      }
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cols = ['total', ...CPU_KINDS];
  console.log(`${'variant'.padEnd(36)} ${cols.map((c) => c.padStart(8)).join(' ')}`);
  for (const [name, list] of results) {
    if (list.length === 0) continue;
    const total = median(list.map((m) => CPU_KINDS.reduce((s, k) => s + m[k], 0)));
    const cells = [total, ...CPU_KINDS.map((k) => median(list.map((m) => m[k])))];
    console.log(`${name.padEnd(36)} ${cells.map((c) => c.toFixed(1).padStart(8)).join(' ')}`);
  }
} finally {
  await portal.close();
}
