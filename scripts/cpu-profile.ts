// Where a pagepool run's CPU goes (issue 26, point 3): one `pagepool run --site demo` (the built bin, listing
// included) under `node --cpu-prof`, measured from outside like `npm run bench`. Prints CPU ms per item by process
// kind (whole run and first-to-last file), by thread of each kind (Chromium's threads are named: CrRendererMain,
// Chrome_IOThread...), and node's own profile: self time by place and the top functions.
//   npx tsx scripts/cpu-profile.ts [--vehicles 300] [--concurrency 8] [--top 25] [--heavy] [pagepool run args...]
// DEMO_* variables set the portal (page 100 ms and file 200 ms unless they say otherwise).
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPortal } from '../src/demo/portal.js';
import { portalOptionsFromEnv } from '../src/demo/portal-options.js';
import { descendants } from '../src/metrics/process-tree-memory.js';
import { CLK_TCK, CPU_KINDS, type CpuKind, cpuKind, runCli, unsettled } from './bench-measure.js';
import { printProfile, summarizeProfile } from './cpu-profile-summary.js';

function parse(argv: string[]) {
  let vehicles = 300;
  let concurrency = 8;
  let top = 25;
  let heavy = false;
  const extra: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--vehicles') vehicles = Number(argv[++i]);
    else if (a === '--concurrency') concurrency = Number(argv[++i]);
    else if (a === '--top') top = Number(argv[++i]);
    else if (a === '--heavy') heavy = true;
    else extra.push(a);
  }
  for (const [name, v] of Object.entries({ vehicles, concurrency, top }))
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`Expected \`--${name}\` to be an integer from 1, got \`${v}\``);
  return { vehicles, concurrency, top, heavy, extra };
}

/**
 * The CPU seconds of every thread of a process tree, by process kind and thread name, as last seen: sampled
 * while the run goes (a thread's time is lost with it after the last sample, as with TreeCpu).
 */
class ThreadCpu {
  private readonly last = new Map<string, { kind: CpuKind; name: string; s: number }>();
  private readonly kinds = new Map<number, CpuKind>();
  sample(root: number): void {
    for (const pid of [root, ...descendants(root)]) {
      if (unsettled(this.kinds.get(pid))) this.kinds.set(pid, cpuKind(pid));
      const kind = this.kinds.get(pid)!;
      let tids: string[] = [];
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        try {
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          const s = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
          const key = `${pid}/${tid}`;
          this.last.set(key, { kind, name, s: Math.max(s, this.last.get(key)?.s ?? 0) });
        } catch {
          // The thread ended between the listing and the read.
        }
      }
    }
  }
  /** CPU seconds by kind, then by thread name with its trailing number dropped (a pool's threads together). */
  byThread(): Map<CpuKind, Map<string, number>> {
    const out = new Map<CpuKind, Map<string, number>>();
    for (const { kind, name, s } of this.last.values()) {
      const group = name.replace(/[\d/]+$/, '') || name;
      const byName = out.get(kind) ?? new Map<string, number>();
      byName.set(group, (byName.get(group) ?? 0) + s);
      out.set(kind, byName);
    }
    return out;
  }
}

const args = parse(process.argv.slice(2));
const heavyOptions = args.heavy ? portalOptionsFromEnv({ DEMO_HEAVY: '1' }) : {};
if (args.heavy && Object.keys(heavyOptions).length === 0)
  throw new Error('--heavy: the demo portal has no DEMO_HEAVY mode in this build');
const portal = await startPortal({
  pageLatencyMs: 100,
  fileLatencyMs: 200,
  ...portalOptionsFromEnv(process.env),
  ...heavyOptions,
  vehicles: args.vehicles,
});
const profDir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-cpu-prof-'));
try {
  console.log(
    `CPU profile: pagepool run --site demo (listing included), ${args.vehicles} vehicles, ${args.concurrency} pages` +
      `${args.heavy ? ', heavy pages' : ''}, node --cpu-prof, ${os.availableParallelism()} cores, load average ${os.loadavg()[0]!.toFixed(2)}` +
      `${args.extra.length ? `, args: ${args.extra.join(' ')}` : ''}`,
  );
  const threads = new ThreadCpu();
  const r = await runCli({
    baseUrl: portal.url,
    concurrency: args.concurrency,
    extraArgs: args.extra,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
    memoryMs: 1000,
    onSample: (_done, _bytes, _ms, pid) => threads.sample(pid),
  });
  if (r.code !== 0 || r.items !== args.vehicles)
    throw new Error(
      `run incomplete: exit ${r.code}, ${r.items}/${args.vehicles} PDFs\n${r.stderr.slice(-2000)}`,
    );
  const perItem = (s: number) => ((s / r.items) * 1000).toFixed(1);
  console.log(
    `${r.items} items in ${r.wallS.toFixed(1)} s (${r.wallRate.toFixed(2)} items/s whole run, ${r.steadyRate.toFixed(2)} first to last file); ` +
      `${perItem(r.cpuS)} CPU ms/item, ${(r.cpuS / r.wallS).toFixed(2)} cores busy of ${os.availableParallelism()} (with the profiler's own cost)`,
  );
  console.log('');
  console.log('CPU ms per item by process kind:  whole run   first to last file');
  for (const k of CPU_KINDS) {
    if (r.cpuKinds[k] === 0) continue;
    console.log(
      `  ${k.padEnd(30)} ${perItem(r.cpuKinds[k]).padStart(9)} ${(r.steadyCpuKinds[k] * 1000).toFixed(1).padStart(20)}`,
    );
  }
  console.log('');
  console.log('By thread (whole run, ms per item; sampled every second, so short-lived threads are missed):');
  for (const [kind, byName] of threads.byThread()) {
    const total = [...byName.values()].reduce((a, b) => a + b, 0);
    if (total / r.items < 0.0005) continue;
    const parts = [...byName]
      .sort((a, b) => b[1] - a[1])
      .filter(([, s]) => s / r.items >= 0.0002)
      .slice(0, 6)
      .map(([name, s]) => `${name} ${perItem(s)}`);
    console.log(`  ${kind.padEnd(9)} ${perItem(total).padStart(6)}: ${parts.join(', ')}`);
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('node wrote no .cpuprofile');
  console.log('');
  console.log("node's own CPU profile (the CLI process: pagepool, Playwright's client and server, undici):");
  printProfile(summarizeProfile(path.join(profDir, file)), args.top);
} finally {
  await portal.close();
  await rm(profDir, { recursive: true, force: true });
}
