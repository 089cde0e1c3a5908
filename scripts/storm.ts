// npx tsx scripts/storm.ts [storm|stall|slow-link] [vehicles] [seed]: issue 14's fault pulls against the embedded
// demo portal with pagepool's default settings (8 pages, real Chromium), each printed beside the same pull without
// faults. storm: 200 vehicles, 5 % 500s, 2 % never answered, 2 % truncated, 2 % HTML "session expired", 5 % stalled
// bodies, 429 bursts, sessions of 15 s. stall: 40 vehicles, 10 % stalled. slow-link: 16 vehicles whose 32 KiB PDFs
// come at an honest 1 KiB/s, which the minimum speed must never abort.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PAGE_TIMEOUT_MS } from '../src/browser/page-pool.js';
import type { PortalOptions } from '../src/demo/portal.js';
import { DEFAULT_MIN_SPEED } from '../src/files/file-store.js';
import { type FaultPullResult, faultPull } from '../test/helpers/fault-pull.js';

/** The default page timeout (`--page-timeout`): the storm target allows one. */
const PAGE_TIMEOUT_S = PAGE_TIMEOUT_MS / 1000;
const WINDOW_S = DEFAULT_MIN_SPEED.windowMs / 1000;
// The portal's shape in the measurements: every page 50 ms, every file 100 ms.
const SHAPE: Partial<PortalOptions> = { pageLatencyMs: 50, fileLatencyMs: 100 };

interface Scenario {
  vehicles: number;
  /** The faults; the fault-free pull keeps only `shape`. */
  faults: Partial<PortalOptions>;
  /** Part of the portal both pulls share (an honest slow link is not a fault). */
  shape?: Partial<PortalOptions>;
  target(faultFreeS: number): { limitS: number; text: string };
  /** More the faulty pull must show, besides every file byte-exact within the target. */
  check?(result: FaultPullResult): boolean;
}

const SCENARIOS: Record<string, Scenario> = {
  storm: {
    vehicles: 200,
    faults: {
      failureRate: 0.05,
      stuckRate: 0.02,
      truncateRate: 0.02,
      htmlExpiredRate: 0.02,
      stallRate: 0.05,
      // A 1 s burst of 429s every 15 s, Retry-After 1 s.
      rateLimitBurstEveryMs: 15_000,
      rateLimitBurstMs: 1_000,
      sessionLifetimeMs: 15_000,
    },
    target: (free) => ({
      limitS: 2 * free + PAGE_TIMEOUT_S,
      text: `2 x fault-free + one page timeout (${PAGE_TIMEOUT_S} s)`,
    }),
  },
  stall: {
    vehicles: 40,
    faults: { stallRate: 0.1 },
    target: (free) => ({
      limitS: free + 2 * WINDOW_S,
      text: `fault-free + 2 x the min-speed window (${WINDOW_S} s)`,
    }),
  },
  'slow-link': {
    vehicles: 16,
    faults: {},
    shape: { fileBytesPerSec: 1024, stickerPadBytes: 32 * 1024 },
    target: (free) => ({ limitS: free, text: 'one request per file: nothing aborted, nothing resumed' }),
    check: (r) => Object.values(r.stats.filesServed).every((n) => n === 1) && r.summary.retries === 0,
  },
};

const [name = 'storm', vehiclesArg, seedArg] = process.argv.slice(2);
const scenario = SCENARIOS[name];
const vehicles = Number(vehiclesArg ?? scenario?.vehicles);
const seed = Number(seedArg ?? 14);
if (!scenario || !Number.isInteger(vehicles) || vehicles < 1 || !Number.isInteger(seed) || seed < 0) {
  process.stderr.write(
    `usage: npx tsx scripts/storm.ts [${Object.keys(SCENARIOS).join('|')}] [vehicles] [seed]\n`,
  );
  process.exit(2);
}

async function pull(faults: Partial<PortalOptions>): Promise<FaultPullResult> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'pagepool-storm-'));
  try {
    return await faultPull({ out, portal: { vehicles, seed, ...SHAPE, ...scenario!.shape, ...faults } });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

process.stdout.write(`${name}: ${vehicles} vehicles, portal seed ${seed}, default settings (8 pages)\n`);
const free = await pull({});
const storm = name === 'slow-link' ? free : await pull(scenario.faults);

const row = (label: string, value: (r: FaultPullResult) => string | number) =>
  `${label.padEnd(22)}${String(value(free)).padEnd(16)}${name === 'slow-link' ? '' : value(storm)}`;
const served = (r: FaultPullResult) => Object.values(r.stats.filesServed).reduce((a, b) => a + b, 0);
const lines = [
  `${''.padEnd(22)}${'fault-free'.padEnd(16)}${name === 'slow-link' ? '' : name}`,
  row('wall time', (r) => `${(r.wallMs / 1000).toFixed(1)} s`),
  row('done / failed', (r) => `${r.summary.done} / ${r.summary.failed}`),
  row('files byte-exact', (r) => `${vehicles - r.badFiles.length} of ${vehicles}`),
  row('logins (portal)', (r) => r.stats.logins),
  row('sessions expired', (r) => r.stats.expiredSessions),
  row('retries', (r) => r.summary.retries),
  row('re-logins (queue)', (r) => r.summary.relogins),
  row('abandoned', (r) => r.summary.abandoned),
  row('5xx / 429 / stuck', (r) => `${r.stats.sent5xx} / ${r.stats.sent429} / ${r.stats.stuck}`),
  row('truncated / stalled', (r) => `${r.stats.truncated} / ${r.stats.stalled}`),
  row('HTML expired', (r) => r.stats.htmlExpired),
  row('file bodies served', served),
  row('resumed bodies', (r) => r.stats.filesResumed),
  row('restarted from byte 0', (r) => r.restartedFiles.length),
  row('.part left', (r) => r.leftovers.length),
];
const { limitS, text } = scenario.target(free.wallMs / 1000);
const wallS = storm.wallMs / 1000;
const met =
  storm.summary.done === vehicles &&
  storm.badFiles.length === 0 &&
  wallS <= limitS &&
  (scenario.check?.(storm) ?? true);
lines.push(`target                ${text}: <= ${limitS.toFixed(1)} s -> ${met ? 'met' : 'NOT met'}`);
for (const f of storm.failures.slice(0, 10))
  lines.push(`FAILED ${f.key} after ${f.attempt} attempts: ${f.reason}`);
const reasons = [...storm.reasons].sort((a, b) => b[1] - a[1]).slice(0, 10);
for (const [reason, count] of reasons) lines.push(`  ${String(count).padStart(4)} x ${reason}`);
process.stdout.write(`${lines.join('\n')}\n`);
process.exitCode = met ? 0 : 1;
