// Benchmark of the checkpoint: group-commit write rate, per-record fsync rate, 1M-item load time and peak RSS.
import { fork } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checkpoint } from '../src/checkpoint/checkpoint.js';
import { journalPathFor } from '../src/checkpoint/checkpoint-paths.js';
import { journalLine } from '../src/checkpoint/records.js';

const ITEMS = 1_000_000;
const WRITERS = 32;

const sha = (i: number): string => i.toString(16).padStart(8, '0').repeat(8);
const filesFor = (key: string, i: number) => [
  { path: `site/${key}.pdf`, bytes: 10_000 + (i % 90_000), sha256: sha(i) },
];
const keyOf = (i: number): string => `item-${String(i).padStart(7, '0')}`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

/** `writers` concurrent loops, each awaiting its own done() before the next: the group-commit case. */
async function writeDone(dir: string, count: number, writers: number, offset = 0): Promise<number> {
  const checkpoint = await Checkpoint.open({ path: join(dir, 'checkpoint.json'), compactEvery: 10 * ITEMS });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < count) {
        const i = offset + next++;
        const key = keyOf(i);
        await checkpoint.done(key, 1, filesFor(key, i));
      }
    }),
  );
  const ms = performance.now() - t0;
  await checkpoint.close();
  return ms;
}

/** Writes a 1M-record journal directly (same line format), much faster than through fsyncs. */
async function syntheticJournal(path: string): Promise<void> {
  const out = createWriteStream(path);
  let batch = '';
  const at = new Date().toISOString();
  for (let i = 0; i < ITEMS; i++) {
    const key = keyOf(i);
    batch += journalLine({ t: 'done', key, attempt: 1, at, files: filesFor(key, i) });
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await new Promise<void>((r) => out.once('drain', () => r()));
      batch = '';
    }
  }
  out.end(batch);
  await new Promise<void>((r) => out.once('finish', () => r()));
}

/** Opens the checkpoint in a fresh process, so its peak RSS is the load's alone. */
function loadInChild(path: string): Promise<{ ms: number; rss: number; done: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--load', path], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve(m as { ms: number; rss: number; done: number }));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`load child exited with ${code}`)));
  });
}

async function childLoad(path: string): Promise<void> {
  const t0 = performance.now();
  const checkpoint = await Checkpoint.open({ path });
  const ms = performance.now() - t0;
  const done = checkpoint.summary().done;
  process.send?.({ ms, rss: process.resourceUsage().maxRSS * 1024, done });
  // No close(): that would compact; this process only measures the load.
  process.exit(0);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pagepool-bench-'));
  const rows: Array<[string, string]> = [];
  try {
    const single = 2_000;
    const msSingle = await writeDone(join(dir, 'single'), single, 1);
    rows.push([
      `done, 1 writer (fsync per record), ${single.toLocaleString()} records`,
      `${Math.round((single / msSingle) * 1000).toLocaleString()} rec/s`,
    ]);

    const group = 100_000;
    const msGroup = await writeDone(join(dir, 'group'), group, WRITERS);
    rows.push([
      `done, ${WRITERS} writers (group commit), 100,000 records`,
      `${(msGroup / 1000).toFixed(2)} s = ${Math.round((group / msGroup) * 1000).toLocaleString()} rec/s`,
    ]);

    const msWide = await writeDone(join(dir, 'wide'), group, 256);
    rows.push([
      'done, 256 writers (group commit), 100,000 records',
      `${(msWide / 1000).toFixed(2)} s = ${Math.round((group / msWide) * 1000).toLocaleString()} rec/s`,
    ]);

    const big = join(dir, 'big', 'checkpoint.json');
    await (await Checkpoint.open({ path: big })).close();
    await syntheticJournal(journalPathFor(big));
    const journalSize = (await stat(journalPathFor(big))).size;
    const fromJournal = await loadInChild(big);
    if (fromJournal.done !== ITEMS) throw new Error(`journal load saw ${fromJournal.done} done`);
    rows.push([
      `load 1M-item journal (${mb(journalSize)})`,
      `${(fromJournal.ms / 1000).toFixed(2)} s, peak RSS ${mb(fromJournal.rss)}`,
    ]);

    const t0 = performance.now();
    const checkpoint = await Checkpoint.open({ path: big });
    await checkpoint.close();
    rows.push([
      'open + compact 1M items into a snapshot',
      `${((performance.now() - t0) / 1000).toFixed(2)} s`,
    ]);
    const fromSnapshot = await loadInChild(big);
    if (fromSnapshot.done !== ITEMS) throw new Error(`snapshot load saw ${fromSnapshot.done} done`);
    const snapSize = (await stat(big)).size;
    rows.push([
      `load 1M-item snapshot (${mb(snapSize)})`,
      `${(fromSnapshot.ms / 1000).toFixed(2)} s, peak RSS ${mb(fromSnapshot.rss)}`,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`checkpoint benchmark (${tmpdir()}, node ${process.version})`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
  console.log('  targets: 100,000 records <= 1 s; load <= 2 s and <= 300 MB');
}

if (process.argv[2] === '--load') await childLoad(process.argv[3]!);
else await main();
