// Soak (`npx tsx scripts/soak.ts [--items N] [--concurrency C]`): the real CLI pulls 10,000 vehicles from a
// demo portal with no latency; prints the memory of the whole process tree every 1,000 items and its drift.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPortal } from '../src/demo/portal.js';
import { processMemory } from '../src/metrics/process-tree-memory.js';
import { runCli, writeRefs } from './bench-measure.js';

/** Items pulled before memory is taken as settled (browser caches, JIT, pools warmed up). */
const WARMUP_ITEMS = 2000;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`Expected \`${name}\` to be an integer from 1, got \`${value}\``);
  return value;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

async function main(): Promise<void> {
  const items = option('--items', 10_000);
  const concurrency = option('--concurrency', 8);
  const every = Math.max(1, Math.round(items / 10));
  const portal = await startPortal({ vehicles: items });
  const refsDir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-soak-refs-'));
  const marks: Array<{ done: number; tree: number; cli: number; seconds: number }> = [];
  try {
    const refsFile = await writeRefs(refsDir, portal.url, items);
    console.log(
      `soak: ${items} vehicles, no latency, concurrency ${concurrency}, load average ${os.loadavg()[0]!.toFixed(2)}; ` +
        'tree MB = highest PSS sum of the CLI and every Chromium process since the previous line (RSS where PSS is ' +
        'unreadable), sampled every 500 ms',
    );
    console.log(
      `${'items'.padStart(7)} ${'seconds'.padStart(8)} ${'items/s'.padStart(8)} ${'tree MB'.padStart(8)} ${'CLI MB'.padStart(7)}`,
    );
    let nextMark = every;
    // Each mark shows the highest tree memory of its interval: one sample can fall between a context's close
    // and the next page's start, and the last one comes after Chromium has exited.
    let intervalPeak = 0;
    const r = await runCli({
      baseUrl: portal.url,
      concurrency,
      refsFile,
      sampleMs: 500,
      onSample(done, sampled, elapsedMs, pid) {
        intervalPeak = Math.max(intervalPeak, sampled);
        while (done >= nextMark && nextMark <= items) {
          const tree = intervalPeak;
          const prev = marks.at(-1);
          const seconds = elapsedMs / 1000;
          const rate = (nextMark - (prev?.done ?? 0)) / (seconds - (prev?.seconds ?? 0));
          const cli = processMemory(pid).bytes;
          marks.push({ done: nextMark, tree, cli, seconds });
          console.log(
            `${String(nextMark).padStart(7)} ${seconds.toFixed(0).padStart(8)} ${rate.toFixed(1).padStart(8)} ${mb(tree).padStart(8)} ${mb(cli).padStart(7)}`,
          );
          nextMark += every;
          intervalPeak = 0;
        }
      },
    });
    console.log(
      `exit ${r.code}, ${r.items} files in ${r.wallS.toFixed(0)} s, ${(r.cpuS / Math.max(1, r.items)).toFixed(4)} CPU s/item, peak tree ${mb(r.peakBytes)} MB`,
    );
    const settled = marks.filter((m) => m.done >= Math.min(WARMUP_ITEMS, items));
    if (settled.length >= 2) {
      const first = settled[0]!;
      const last = settled.at(-1)!;
      const trees = settled.map((m) => m.tree);
      const min = Math.min(...trees);
      const max = Math.max(...trees);
      console.log(
        `after warm-up (${first.done} items): tree ${mb(first.tree)} MB -> ${mb(last.tree)} MB at ${last.done} ` +
          `(${(((last.tree - first.tree) / first.tree) * 100).toFixed(1)}%), range ${mb(min)}..${mb(max)} MB ` +
          `(${(((max - min) / min) * 100).toFixed(1)}% of the lowest; target: within 15%)`,
      );
    }
    if (r.code !== 0) console.log(r.stderr.slice(-2000));
  } finally {
    await portal.close();
    await rm(refsDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
