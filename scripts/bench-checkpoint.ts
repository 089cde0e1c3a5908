// Benchmark of the checkpoint: group-commit write rate, per-record fsync rate, 1M-item load time and peak RSS.
// Every done() resolves only after an fdatasync covers its line, so a writer that awaits each record can
// commit at most one record per fsync: the table prints the writers, the fsyncs and this disk's fsync time.
import { fork } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checkpoint } from '../src/checkpoint/checkpoint.js';
import { type CheckpointFs, nodeCheckpointFs } from '../src/checkpoint/checkpoint-fs.js';
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

/** node:fs, counting the journal's fsyncs. */
function countingFs(): { fs: CheckpointFs; syncs: () => number } {
  let syncs = 0;
  const fs: CheckpointFs = {
    ...nodeCheckpointFs,
    async openAppend(path) {
      const file = await nodeCheckpointFs.openAppend(path);
      return {
        ...file,
        sync: () => {
          syncs++;
          return file.sync();
        },
      };
    },
  };
  return { fs, syncs: () => syncs };
}

/** This disk's time for one ~6 KB append + fdatasync (a 32-record batch), the floor of every batch. */
async function fsyncMicros(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const handle = await open(join(dir, 'probe'), 'a');
  const data = Buffer.alloc(6400, 0x61);
  const n = 300;
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      await handle.write(data);
      await handle.datasync();
    }
  } finally {
    await handle.close();
  }
  return ((performance.now() - t0) / n) * 1000;
}

/**
 * `writers` concurrent loops, each awaiting its own done() (fsynced) before the next: the group-commit case.
 * Returns the time and the number of journal fsyncs.
 */
async function writeDone(
  dir: string,
  count: number,
  writers: number,
  offset = 0,
): Promise<{ ms: number; syncs: number }> {
  const counting = countingFs();
  const checkpoint = await Checkpoint.open({
    path: join(dir, 'checkpoint.json'),
    compactEvery: 10 * ITEMS,
    fs: counting.fs,
  });
  const syncsBefore = counting.syncs();
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
  const syncs = counting.syncs() - syncsBefore;
  await checkpoint.close();
  return { ms, syncs };
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
interface LoadResult {
  ms: number;
  cpuMs: number;
  rss: number;
  baseRss: number;
  done: number;
}

function loadInChild(path: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--load', path], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve(m as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`load child exited with ${code}`)));
  });
}

async function childLoad(path: string): Promise<void> {
  const baseRss = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const checkpoint = await Checkpoint.open({ path });
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const done = checkpoint.summary().done;
  const result: LoadResult = {
    ms,
    cpuMs: (used.user + used.system) / 1000,
    rss: process.resourceUsage().maxRSS * 1024,
    baseRss,
    done,
  };
  process.send?.(result);
  // No close(): that would compact; this process only measures the load.
  process.exit(0);
}

const loadText = (r: LoadResult): string =>
  `${(r.ms / 1000).toFixed(2)} s (CPU ${(r.cpuMs / 1000).toFixed(2)} s), peak RSS ${mb(r.rss)} ` +
  `(${mb(r.baseRss)} before the load)`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pagepool-bench-'));
  const rows: Array<[string, string]> = [];
  try {
    const fsyncUs = await fsyncMicros(join(dir, 'probe'));
    rows.push([
      'this disk: one 6 KB append + fdatasync',
      `${Math.round(fsyncUs)} us (at most ${Math.round(1e6 / fsyncUs).toLocaleString()} fsyncs/s)`,
    ]);
    const single = 2_000;
    const one = await writeDone(join(dir, 'single'), single, 1);
    rows.push([
      `done, 1 writer, ${single.toLocaleString()} records`,
      `${Math.round((single / one.ms) * 1000).toLocaleString()} rec/s, ${one.syncs.toLocaleString()} fsyncs`,
    ]);
    const group = 100_000;
    for (const writers of [WRITERS, 256, 1024]) {
      const r = await writeDone(join(dir, `group-${writers}`), group, writers);
      // With every writer awaiting its own fsync, a batch holds at most `writers` records.
      const floor = (group / writers) * fsyncUs;
      rows.push([
        `done, ${writers} writers, 100,000 records`,
        `${(r.ms / 1000).toFixed(2)} s = ${Math.round((group / r.ms) * 1000).toLocaleString()} rec/s, ` +
          `${r.syncs.toLocaleString()} fsyncs (${(group / r.syncs).toFixed(0)} rec/fsync; ` +
          `fsync floor ${(floor / 1e6).toFixed(2)} s)`,
      ]);
    }

    const big = join(dir, 'big', 'checkpoint.json');
    await (await Checkpoint.open({ path: big })).close();
    await syntheticJournal(journalPathFor(big));
    const journalSize = (await stat(journalPathFor(big))).size;
    const fromJournal = await loadInChild(big);
    if (fromJournal.done !== ITEMS) throw new Error(`journal load saw ${fromJournal.done} done`);
    rows.push([`load 1M-item journal (${mb(journalSize)})`, loadText(fromJournal)]);

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
    rows.push([`load 1M-item snapshot (${mb(snapSize)})`, loadText(fromSnapshot)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`checkpoint benchmark (${tmpdir()}, node ${process.version})`);
  console.log(
    '  fsync policy: every done() resolves after an fdatasync covering its line; one write + one fsync per batch',
  );
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
  console.log(
    '  targets: 100,000 records <= 1 s; load <= 2 s and <= 300 MB (peak RSS includes the tsx loader)',
  );
}

if (process.argv[2] === '--load') await childLoad(process.argv[3]!);
else await main();
