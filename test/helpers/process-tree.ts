// Processes seen through /proc (Linux): those whose command line mentions a marker, such as a temp folder.
import { readdirSync, readFileSync } from 'node:fs';

/** pid -> [parent pid, command name, state] for every process, read from /proc/<pid>/stat. */
function processTable(): Map<number, { ppid: number; comm: string; state: string }> {
  const table = new Map<number, { ppid: number; comm: string; state: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const [state = '', ppid = '0'] = stat.slice(close + 2).split(' ');
    table.set(Number(name), { ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close), state });
  }
  return table;
}

/** Living processes whose command name matches `comm` and whose command line mentions `marker`. */
export function processesWith(comm: RegExp, marker: string): number[] {
  const found: number[] = [];
  for (const [pid, info] of processTable()) {
    if (!comm.test(info.comm) || info.state === 'Z') continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(marker)) found.push(pid);
  }
  return found;
}

/** Living processes whose parent is `pid` and whose command name matches `comm` (a launched browser's root). */
export function childrenOf(pid: number, comm: RegExp): number[] {
  const found: number[] = [];
  for (const [p, info] of processTable()) {
    if (info.ppid === pid && info.state !== 'Z' && comm.test(info.comm)) found.push(p);
  }
  return found;
}
