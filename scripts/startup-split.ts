// Where the seconds of a one-item run go (issue 26, point 2): `pagepool run --site demo --max 1` (the built bin,
// as a user runs it) against a demo portal in this process, several times, with scripts/startup-probe.mjs
// preloaded to mark every Playwright call and run event. Prints the median of each segment from the spawn to the
// exit, then one run's whole timeline. --cpu-prof adds node's own profile of one run (what node does in the gaps).
//   npx tsx scripts/startup-split.ts [--runs 5] [--page-latency 100] [--file-latency 200] [--cpu-prof]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPortal } from '../src/demo/portal.js';
import { buildIfStale } from '../test/helpers/build-dist.js';
import { BIN } from '../test/helpers/cli.js';
import { ROOT } from './bench-measure.js';
import { printProfile, summarizeProfile } from './cpu-profile-summary.js';

interface Mark {
  t: number;
  what: string;
  api?: string;
  url?: string;
  since?: number;
  stage?: string;
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`Expected \`${name}\` to be an integer from 0, got \`${value}\``);
  return value;
}

const runs = Math.max(1, option('--runs', 5));
const pageLatencyMs = option('--page-latency', 100);
const fileLatencyMs = option('--file-latency', 200);
const cpuProf = process.argv.includes('--cpu-prof');
const PROBE = path.join(import.meta.dirname, 'startup-probe.mjs');

/** Spawns `node args`, resolves with the wall clock (ms) at the spawn and at the close, and the exit code. */
function timedChild(args: string[], env: Record<string, string>) {
  const spawned = performance.timeOrigin + performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise<{ spawned: number; closed: number; code: number | null; stderr: string }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) =>
        resolve({ spawned, closed: performance.timeOrigin + performance.now(), code, stderr }),
      );
    },
  );
}

/** The segments of one run, in order, each in ms; the marks they are cut at are named in the labels. */
function segments(marks: Mark[], spawned: number, closed: number): Array<[string, number]> {
  const find = (pred: (m: Mark) => boolean, after = 0) => marks.find((m) => m.t >= after && pred(m))?.t;
  const at = (what: string, after = 0) => find((m) => m.what === what, after);
  const apiBegin = (api: string, after = 0) => find((m) => m.what === 'api:begin' && m.api === api, after);
  const apiEnd = (api: string, after = 0) => find((m) => m.what === 'api:end' && m.api === api, after);
  const start = at('process:start');
  const probe = at('probe:ready');
  const launch = apiBegin('browserType.launch');
  const launched = apiEnd('browserType.launch');
  const firstGoto = apiBegin('page.goto', launched ?? 0);
  const login = at('event:login');
  const runStart = at('event:run:start');
  const listed = find(
    (m) => m.what === 'api:end' && m.api === 'page.goto' && /inventory/.test(m.url ?? ''),
    runStart ?? 0,
  );
  const taskStart = at('event:task:start');
  const released = at('event:page:released');
  const saved = at('event:file:saved');
  const done = at('event:task:done');
  const runEnd = at('event:run:end');
  const exit = at('process:exit');
  const cuts: Array<[string, number | undefined]> = [
    ['spawn -> node running (exec, node start-up)', start],
    ['-> Playwright imported (by the probe)', probe],
    ['-> launch called (CLI import, config, preflights, site)', launch],
    ['-> Chromium launched (browserType.launch)', launched],
    ['-> first page.goto (context, pool pages, blocking)', firstGoto],
    ['-> logged in (login form, licence: "login" event)', login],
    ['-> run:start (checkpoint open, manifest, queue)', runStart],
    ['-> first listing page loaded (page.goto inventory)', listed],
    ['-> first task:start (rows read, next link, filter)', taskStart],
    ['-> page released (detail page goto + read)', released],
    ['-> file saved (PDF fetched, fsync, rename)', saved],
    ['-> task:done (checkpoint record)', done],
    ['-> run:end (queue drained)', runEnd],
    ['-> process exit (browser and checkpoint closed)', exit],
    ['-> command returned (the tree gone)', closed],
  ];
  const out: Array<[string, number]> = [];
  let previous = spawned;
  for (const [label, t] of cuts) {
    if (t === undefined) {
      out.push([`${label} (not seen)`, Number.NaN]);
      continue;
    }
    out.push([label, t - previous]);
    previous = t;
  }
  return out;
}

const median = (xs: number[]) => {
  const s = xs.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
};

/** How long node takes to load a module by itself (a fresh process each time), median of `n`. */
async function importMs(specifier: string, n: number, how: 'import' | 'require' = 'import'): Promise<number> {
  const times: number[] = [];
  const load =
    how === 'import'
      ? `await import(${JSON.stringify(specifier)})`
      : `(await import('node:module')).createRequire(${JSON.stringify(`${ROOT}/`)})(${JSON.stringify(specifier)})`;
  for (let i = 0; i < n; i++) {
    const code = `const t = performance.now(); ${load}; process.stdout.write(String(performance.now() - t));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await new Promise((resolve) => child.on('close', resolve));
    times.push(Number(out));
  }
  return median(times);
}

buildIfStale();
const portal = await startPortal({ vehicles: 300, pageLatencyMs, fileLatencyMs });
const work = await mkdtemp(path.join(os.tmpdir(), 'pagepool-startup-'));
try {
  console.log(
    `One-item runs: pagepool run --site demo --max 1 (dist/main.js), ${runs} runs, page ${pageLatencyMs} ms, file ${fileLatencyMs} ms, ` +
      `${os.availableParallelism()} cores, load average ${os.loadavg()[0]!.toFixed(2)}`,
  );
  const all: Array<Array<[string, number]>> = [];
  const timelines: Array<{ marks: Mark[]; spawned: number; total: number }> = [];
  for (let i = 0; i < runs; i++) {
    const out = path.join(work, `out-${i}`);
    const marksFile = path.join(work, `marks-${i}.jsonl`);
    const profDir = path.join(work, `prof-${i}`);
    const profiled = cpuProf && i === runs - 1;
    const r = await timedChild(
      [
        ...(profiled ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
        '--import',
        PROBE,
        BIN,
        'run',
        '--site',
        'demo',
        '--base-url',
        portal.url,
        '--out',
        out,
        '--max',
        '1',
        '--quiet',
      ],
      { STARTUP_PROBE_OUT: marksFile, PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' },
    );
    if (r.code !== 0) throw new Error(`run ${i + 1} exited ${r.code}:\n${r.stderr}`);
    const marks = readFileSync(marksFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Mark)
      .sort((a, b) => a.t - b.t);
    const total = r.closed - r.spawned;
    console.log(`  run ${i + 1}: ${(total / 1000).toFixed(2)} s${profiled ? ' (with --cpu-prof)' : ''}`);
    if (!profiled) {
      all.push(segments(marks, r.spawned, r.closed));
      timelines.push({ marks, spawned: r.spawned, total });
    }
    if (profiled) {
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        console.log('');
        console.log(`node's CPU profile of run ${i + 1} (the CLI process only; Chromium is not in it):`);
        printProfile(summarizeProfile(path.join(profDir, file)), 15);
      }
    }
  }
  if (all.length > 0) {
    console.log('');
    console.log(`Median of ${all.length} runs, ms (each segment from the mark before it):`);
    const labels = all[0]!.map(([label]) => label);
    labels.forEach((label, k) => {
      const ms = median(all.map((segs) => segs[k]?.[1] ?? Number.NaN));
      console.log(`  ${ms.toFixed(0).padStart(6)}  ${label}`);
    });
    console.log(
      `  ${median(timelines.map((t) => t.total))
        .toFixed(0)
        .padStart(6)}  total`,
    );
    const mid = [...timelines].sort((a, b) => a.total - b.total)[Math.floor(timelines.length / 2)]!;
    console.log('');
    console.log('Timeline of the median run (ms from the spawn; Playwright calls with their own duration):');
    let previous: Mark | undefined;
    for (const m of mid.marks) {
      if (m.what === 'api:begin') continue;
      // The queue's events are emitted again on the run's emitter: one line each.
      const repeat =
        previous?.what === m.what &&
        previous.stage === m.stage &&
        m.what.startsWith('event:') &&
        m.t - previous.t < 1;
      previous = m;
      if (repeat) continue;
      const at = (m.t - mid.spawned).toFixed(0).padStart(6);
      const took = m.since === undefined ? '' : ` (${(m.t - m.since).toFixed(0)} ms)`;
      const what =
        m.what === 'api:end' ? `${m.api}${m.url ? ` ${m.url.replace(portal.url, '')}` : ''}` : m.what;
      console.log(`  ${at}  ${what}${m.stage ? ` ${m.stage}` : ''}${took}`);
    }
  }
  console.log('');
  console.log(
    `Imports by themselves (fresh node each, median of 3): playwright ${(await importMs('playwright', 3)).toFixed(0)} ms ` +
      `(require(): ${(await importMs('playwright', 3, 'require')).toFixed(0)} ms, as the CLI loads it), ` +
      `dist/cli/commands/run.js ${(await importMs(path.join(ROOT, 'dist', 'cli', 'commands', 'run.js'), 3)).toFixed(0)} ms ` +
      "(the run command's modules; Playwright comes when the browser starts)",
  );
} finally {
  await portal.close();
  await rm(work, { recursive: true, force: true });
}
