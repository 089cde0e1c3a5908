// The memory of a process and all its descendants (node plus Chromium's browser, GPU and renderer processes),
// read from Linux /proc: the metrics' RSS gauges and the benchmarks' peak memory.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessMemory {
  /** PSS in bytes (shared pages split between their sharers), or RSS when PSS is unreadable; 0 when gone. */
  bytes: number;
  /** Resident set size in bytes: every resident page, shared ones included; 0 when gone. */
  rssBytes: number;
  /** False when `bytes` is RSS standing in for an unreadable PSS. */
  pss: boolean;
}

export interface TreeMemory extends ProcessMemory {
  /** Processes that could be read (exited ones and, off Linux, all of them are left out). */
  processes: number;
}

/** Every live descendant of `root` (not `root` itself), found through the parent ids in /proc; [] without /proc. */
export function descendants(root: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited between readdir and read
    }
    // The command name (field 2) may hold spaces and parentheses: the fields after it start past the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** One process's memory: PSS and RSS from smaps_rollup (one read), RSS alone from status when that is unreadable. */
export function processMemory(pid: number): ProcessMemory {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const pss = /^Pss:\s+(\d+) kB/m.exec(rollup);
    const rss = /^Rss:\s+(\d+) kB/m.exec(rollup);
    if (pss && rss) return { bytes: Number(pss[1]) * 1024, rssBytes: Number(rss[1]) * 1024, pss: true };
  } catch {
    // fall through to RSS
  }
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const rssBytes = m ? Number(m[1]) * 1024 : 0;
    return { bytes: rssBytes, rssBytes, pss: false };
  } catch {
    return { bytes: 0, rssBytes: 0, pss: false };
  }
}

/** Memory of `pid` and all its descendants, summed per process. */
export function treeMemory(pid: number, includeRoot = true): TreeMemory {
  const pids = includeRoot ? [pid, ...descendants(pid)] : descendants(pid);
  const sum: TreeMemory = { bytes: 0, rssBytes: 0, pss: true, processes: 0 };
  for (const p of pids) {
    const m = processMemory(p);
    if (m.rssBytes === 0) continue; // gone, or not readable here
    sum.bytes += m.bytes;
    sum.rssBytes += m.rssBytes;
    sum.processes += 1;
    if (!m.pss) sum.pss = false;
  }
  return sum;
}
