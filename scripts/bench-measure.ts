// How the benchmarks measure a pull from outside: one child process (the real CLI, or a peer of bench/peers/),
// the PDFs appearing on disk, the CPU of every process of its tree and the PSS of each process kind, from /proc.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findChromium } from '../src/browser/find-chromium.js';
import { CHROMIUM_ARGS } from '../src/browser/launch.js';
import {
  descendants,
  PROCESS_KINDS,
  type ProcessKind,
  processKind,
  treeMemoryByKind,
} from '../src/metrics/process-tree-memory.js';
import { buildIfStale } from '../test/helpers/build-dist.js';
import { BIN } from '../test/helpers/cli.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
/** No benchmark child may run longer than this (a stuck run must not hang the script). */
const CHILD_LIMIT_MS = 30 * 60_000;

// ---- process tree CPU (Linux /proc) ----

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
 * Whether a process's kind may still change, so its command line is read again: a Chromium child seen between
 * fork and exec still has node's command line, and a renderer forked by the zygote has the zygote's (an `other`)
 * until it sets its own title (measured: at 16 pages a whole run's renderer CPU was counted as `other`).
 */
export function unsettled(kind: CpuKind | undefined): boolean {
  return kind === undefined || kind === 'node' || kind === 'other';
}

export function zeroKinds(): Record<CpuKind, number> {
  return Object.fromEntries(CPU_KINDS.map((k) => [k, 0])) as Record<CpuKind, number>;
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
      if (unsettled(this.kinds.get(pid))) this.kinds.set(pid, cpuKind(pid));
    }
  }
  get seconds(): number {
    let sum = 0;
    for (const s of this.last.values()) sum += s;
    return sum;
  }
  /** CPU seconds so far by process kind. */
  byKind(): Record<CpuKind, number> {
    const sums = zeroKinds();
    for (const [pid, s] of this.last) sums[this.kinds.get(pid) ?? 'other'] += s;
    return sums;
  }
}

// ---- the job's output ----

/** The PDFs under `dir`, in any folder (`.part` files are not PDFs yet): every system's output of the job. */
export function pdfFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.pdf'))
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/** Whether `file` starts like a PDF: a peer that silently saved the login page instead must not count. */
export function isPdf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(5);
    readSync(fd, head, 0, 5, 0);
    return head.toString('latin1') === '%PDF-';
  } finally {
    closeSync(fd);
  }
}

// ---- one measured child process ----

export interface ChildRun {
  code: number | null;
  /** PDFs on disk at the end, each checked to start like one. */
  items: number;
  /** Files named .pdf that are not PDFs (a login page saved by a logged-out client). */
  notPdf: number;
  /** From the spawn of the command to its exit: what a user waits. */
  wallS: number;
  /** Items per second between the first and the last file seen (start-up, login, first listing page excluded). */
  steadyRate: number;
  /** Items per second over the whole command, start-up and listing included: what a user sees. */
  wallRate: number;
  /** Seconds from the spawn to the first file on disk. */
  firstFileS: number;
  /** Tree CPU seconds per item between the first and the last file (startup excluded), like `steadyRate`. */
  steadyCpuPerItem: number;
  /** `steadyCpuPerItem` split by process kind. */
  steadyCpuKinds: Record<CpuKind, number>;
  /** CPU seconds of the tree, per process sampled (see TreeCpu). */
  cpuS: number;
  /** `cpuS` by process kind. */
  cpuKinds: Record<CpuKind, number>;
  /** CPU seconds of the tree as cutime + cstime saw it (undercounts the renderers). */
  reapedCpuS: number;
  /** Highest PSS sum of the whole tree seen in one sample. */
  peakBytes: number;
  /** Highest PSS sum of each process kind, each on its own (the peaks need not be simultaneous). */
  peakKinds: Record<ProcessKind, number>;
  /** Every renderer's PSS as sampled, by pid: [elapsed ms, items done, bytes]. */
  renderers: Map<number, Array<[number, number, number]>>;
  pss: boolean;
  stdout: string;
  stderr: string;
}

export interface ChildOptions {
  /** Called on every memory sample with the files done so far and the tree's memory. */
  onSample?(done: number, memoryBytes: number, elapsedMs: number, pid: number): void;
  /** CPU and files. @default 250 */
  sampleMs?: number;
  /** PSS by process kind: the kernel takes ~0.3 s per read of a Chromium tree on this loaded machine. @default 1000 */
  memoryMs?: number;
  /** Working directory of the child. @default the repository */
  cwd?: string;
}

/**
 * Runs `node args...` with `env` and measures it from outside: PDFs appearing under `filesDir`, the CPU and
 * the PSS of its whole process tree.
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
    cwd: options.cwd ?? ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      ...(process.env.CHROMIUM_PATH ? { CHROMIUM_PATH: process.env.CHROMIUM_PATH } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // Keep the ends: a peer's last line is its result, an error's last lines say why.
  child.stdout.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-20_000);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
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
    const n = pdfFiles(filesDir).length;
    const t = performance.now();
    const cpu = treeCpu?.seconds ?? 0;
    const mark = () => ({ t, n, cpu, kinds: treeCpu?.byKind() ?? zeroKinds() });
    if (n > 0 && first === null) first = mark();
    if (last === null || n > last.n) last = mark();
  };
  const sampleMemory = () => {
    if (child.pid === undefined) return;
    const mem = treeMemoryByKind(child.pid);
    const n = pdfFiles(filesDir).length;
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
  const files = pdfFiles(filesDir);
  const items = files.filter(isPdf).length;
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
    notPdf: files.length - items,
    wallS,
    steadyRate,
    wallRate: items / wallS,
    firstFileS: f === null ? wallS : (f.t - started) / 1000,
    cpuS,
    cpuKinds: treeCpu?.byKind() ?? zeroKinds(),
    reapedCpuS,
    peakBytes,
    peakKinds,
    renderers,
    pss,
    stdout,
    stderr,
  };
}

// ---- the systems measured ----

export interface CliRunOptions extends ChildOptions {
  baseUrl: string;
  /** `--site`: demo, or the path of an adapter module (a second pagepool row, e.g. one that reads over HTTP). */
  site?: string;
  /** A JSONL refs file to pull instead of walking the listing. */
  refsFile?: string;
  concurrency: number;
  extraArgs?: string[];
  /** Switches for node itself, before the bin (e.g. --cpu-prof). @default [] */
  nodeArgs?: string[];
}

let built = false;

/** Runs `pagepool run` (the built bin, as a user's install runs it) in a child process and measures it. */
export async function runCli(options: CliRunOptions): Promise<ChildRun> {
  if (!built) buildIfStale();
  built = true;
  const out = await mkdtemp(path.join(os.tmpdir(), 'pagepool-bench-'));
  const args = [
    ...(options.nodeArgs ?? []),
    BIN,
    'run',
    '--site',
    options.site ?? 'demo',
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
      out,
      { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' },
      options,
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** The peers pagepool is measured against, one script each in bench/peers/. */
export const PEERS = ['floor', 'minimal', 'crawlee'] as const;
export type Peer = (typeof PEERS)[number];
export const PEERS_DIR = path.join(ROOT, 'bench', 'peers');

/**
 * Installs bench/peers/ (Crawlee, Playwright, undici at the versions of its lockfile) when its node_modules is
 * missing: `npm ci` from the registry, once. They are the bench's, never pagepool's dependencies.
 */
export function ensurePeers(): void {
  if (!existsSync(path.join(PEERS_DIR, 'node_modules', '.package-lock.json'))) {
    process.stderr.write('bench/peers/node_modules is missing: npm ci in bench/peers ...\n');
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: PEERS_DIR,
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 10 * 60_000,
    });
    if (npm.status !== 0) throw new Error(`npm ci in bench/peers failed (${npm.status ?? npm.signal})`);
  }
  const version = (dir: string) =>
    (
      JSON.parse(readFileSync(path.join(dir, 'node_modules', 'playwright', 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  const ours = version(ROOT);
  const theirs = version(PEERS_DIR);
  if (ours !== theirs) {
    process.stderr.write(
      `warning: bench/peers has playwright ${theirs}, pagepool ${ours}: set bench/peers/package.json to ${ours} and run npm install there\n`,
    );
  }
}

/** Runs one peer of bench/peers/ with plain node (no loader, as pagepool's bin runs) and measures it. */
export async function runPeer(
  peer: Peer,
  baseUrl: string,
  concurrency: number,
  options: ChildOptions = {},
): Promise<ChildRun> {
  const out = await mkdtemp(path.join(os.tmpdir(), `pagepool-bench-${peer}-`));
  const storage = await mkdtemp(path.join(os.tmpdir(), `pagepool-bench-${peer}-storage-`));
  try {
    return await measureChild(
      [path.join(PEERS_DIR, `${peer}.mjs`), baseUrl, String(concurrency), out],
      out,
      {
        PEER_CHROMIUM: findChromium(process.env.CHROMIUM_PATH ?? null),
        PEER_CHROMIUM_ARGS: CHROMIUM_ARGS.join(' '),
        // Crawlee's request queue and key-value store (persisted, its default), out of the repository.
        CRAWLEE_STORAGE_DIR: storage,
      },
      { cwd: storage, ...options },
    );
  } finally {
    await rm(out, { recursive: true, force: true });
    await rm(storage, { recursive: true, force: true });
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
