// The SIGKILL soak shared by test/crash.test.ts and scripts/kill-soak.ts: `pagepool run` in a child process is
// killed at seeded random moments, then run to completion; everything a reader needs to judge it is returned.
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import type { Portal } from '../../src/demo/portal.js';
import { childPull, doneKeys, pdfCount } from './child-pull.js';
import type { CliResult } from './cli.js';

export interface KillSoakOptions {
  portal: Portal;
  cwd: string;
  kills: number;
  seed: number;
  /** Each kill lands after 1..maxFilesPerKill new PDFs (and a further 0..jitterMs). @default 8 */
  maxFilesPerKill?: number;
  /** @default 400 */
  jitterMs?: number;
  args?: string[];
  /** Progress lines (the script prints them). */
  log?: (line: string) => void;
}

export interface KillSoakResult {
  /** Runs that were really SIGKILLed (a run that finished first is not a kill). */
  kills: number;
  /** Per kill: items whose file the portal served during that run that the checkpoint did not record as done. */
  inFlightAtKill: Set<string>[];
  /** The last run, to completion. */
  final: CliResult;
  /** Items with more than one file served over all runs. */
  refetched: string[];
  /** Items served more often than 1 + the kills that caught them in flight. */
  overFetched: Array<{ key: string; served: number; allowed: number }>;
  /** Chromium (or other) processes of a killed child still alive after the kill, by pid. */
  orphans: number[];
  wallMs: number;
}

/** mulberry32: a small seeded PRNG, so a failing soak can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function killSoak(options: KillSoakOptions): Promise<KillSoakResult> {
  const { portal, cwd } = options;
  const random = seededRandom(options.seed);
  const maxFiles = options.maxFilesPerKill ?? 8;
  const jitterMs = options.jitterMs ?? 400;
  const started = performance.now();
  const inFlightAtKill: Set<string>[] = [];
  const orphans: number[] = [];
  let kills = 0;
  for (let round = 0; round < options.kills; round++) {
    const servedBefore = portal.stats().filesServed;
    const filesBefore = await pdfCount(cwd);
    const target = filesBefore + 1 + Math.floor(random() * maxFiles);
    const jitter = Math.floor(random() * jitterMs);
    let killed = false;
    let descendants: Awaited<ReturnType<typeof descendantsOf>> = [];
    await childPull({
      portal,
      cwd,
      args: options.args ?? [],
      onSpawn: (child) => {
        void killWhen(cwd, target, jitter, child).then(async (ok) => {
          if (!ok) return;
          descendants = await descendantsOf(child.pid!);
          killed = child.kill('SIGKILL');
        });
      },
    });
    if (!killed) {
      options.log?.(`round ${round + 1}: the run ended before its kill`);
      continue;
    }
    kills += 1;
    const served = portal.stats().filesServed;
    const done = await doneKeys(cwd);
    const inFlight = new Set(
      Object.keys(served).filter((key) => (served[key] ?? 0) > (servedBefore[key] ?? 0) && !done.has(key)),
    );
    inFlightAtKill.push(inFlight);
    orphans.push(...(await survivors(descendants)));
    options.log?.(
      `kill ${kills}: after ${(await pdfCount(cwd)) - filesBefore} new files (+${jitter} ms), ` +
        `${done.size} done, ${inFlight.size} fetched but not recorded`,
    );
  }
  const final = await childPull({ portal, cwd, args: options.args ?? [], timeoutMs: 300_000 });
  const served = portal.stats().filesServed;
  const overFetched: KillSoakResult['overFetched'] = [];
  for (const [key, n] of Object.entries(served)) {
    const allowed = 1 + inFlightAtKill.filter((set) => set.has(key)).length;
    if (n > allowed) overFetched.push({ key, served: n, allowed });
  }
  return {
    kills,
    inFlightAtKill,
    final,
    refetched: Object.keys(served).filter((key) => (served[key] ?? 0) > 1),
    overFetched,
    orphans,
    wallMs: performance.now() - started,
  };
}

/** After `count` PDFs exist, waits `jitterMs` more; false if the child exited first. Bounded: 120 s. */
async function killWhen(cwd: string, count: number, jitterMs: number, child: ChildProcess): Promise<boolean> {
  const alive = () => child.exitCode === null && child.signalCode === null;
  const until = Date.now() + 120_000;
  while (alive() && Date.now() < until && (await pdfCount(cwd)) < count) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (jitterMs > 0) await new Promise((resolve) => setTimeout(resolve, jitterMs));
  return alive();
}

/** A process as /proc shows it; the start time tells a pid from a later process that reuses it. */
interface Proc {
  pid: number;
  ppid: number;
  state: string;
  startTime: string;
}

async function readProc(pid: number): Promise<Proc | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (stat === '') return undefined;
  // The command name (field 2) may hold spaces: count fields from its closing parenthesis (field 3 = state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(fields[1]), state: fields[0] ?? '', startTime: fields[19] ?? '' };
}

/** Every live descendant of `pid` (Linux /proc; empty elsewhere). */
async function descendantsOf(pid: number): Promise<Proc[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const procs = (
    await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((e) => readProc(Number(e))))
  ).filter((p): p is Proc => p !== undefined);
  const found: Proc[] = [];
  const walk = (parent: number) => {
    for (const proc of procs) {
      if (proc.ppid === parent && !found.includes(proc)) {
        found.push(proc);
        walk(proc.pid);
      }
    }
  };
  walk(pid);
  return found;
}

/**
 * Of `procs`, those still alive 30 s after their parent's death (polled: a bounded loop; Chromium notices the
 * closed pipe and exits, slowly on loaded cores); zombies count as dead.
 * Survivors are descendants of our own child: they are killed here, by pid, so a failing soak leaks nothing.
 */
async function survivors(procs: Proc[]): Promise<number[]> {
  const living = async () => {
    const now = await Promise.all(procs.map((p) => readProc(p.pid)));
    return procs.filter(
      (p, i) => now[i] !== undefined && now[i]!.startTime === p.startTime && now[i]!.state !== 'Z',
    );
  };
  for (let i = 0; i < 300 && (await living()).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const left = await living();
  for (const proc of left) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {}
  }
  return left.map((p) => p.pid);
}
