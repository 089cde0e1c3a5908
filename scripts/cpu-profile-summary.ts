// Reads a V8 CPU profile (`node --cpu-prof`) and says where the process's time went: self time per function and
// per place (pagepool's own files, each package, node's internals, GC), busy time apart from idle.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds since the previous sample; the first is since startTime. */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  /** Self time in ms. */
  ms: number;
}

export interface ProfileSummary {
  /** Profile span in ms. */
  totalMs: number;
  /** Time spent idle (waiting in the event loop), in ms. */
  idleMs: number;
  /** Self time by function, largest first (idle left out). */
  functions: ProfileEntry[];
  /** Self time by place: `pagepool <file>`, a package, `node:<module>`, `(garbage collector)`... */
  places: ProfileEntry[];
  /**
   * Self time by owner: a native or node-internal frame charged to the nearest caller that is pagepool's own
   * file or a package (`lstat` under the checkpoint counts for the checkpoint); GC and idle have no caller.
   */
  owners: ProfileEntry[];
}

/** Whether a place is code someone chose to run: pagepool's own or a package's, not node's or native. */
function isOwner(place: string): boolean {
  return !place.startsWith('node:') && !place.startsWith('(');
}

/** Where a script lives: pagepool's own dist/src file, a package under node_modules, a node internal. */
export function placeOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return pkg;
  const own = /\/(dist|src|scripts)\/(.+)$/.exec(url);
  if (own) return `pagepool ${own[1]}/${own[2]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').split('/')[0]!;
  return url;
}

function sorted(map: Map<string, number>): ProfileEntry[] {
  return [...map].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
}

export function summarizeProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const placeOfNode = (n: ProfileNode) => placeOf(n.callFrame.url, n.callFrame.functionName);
  /** The nearest frame at or above `id` that is pagepool's or a package's. */
  const ownerOf = (id: number): ProfileNode | undefined => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (n && isOwner(placeOfNode(n))) return n;
    }
    return undefined;
  };
  const functions = new Map<string, number>();
  const places = new Map<string, number>();
  const owners = new Map<string, number>();
  let idle = 0;
  profile.samples.forEach((id, i) => {
    // A sample's time is the delta to the next one (the last sample gets the span to endTime).
    const us =
      i + 1 < profile.timeDeltas.length
        ? profile.timeDeltas[i + 1]!
        : Math.max(0, profile.endTime - profile.startTime - profile.timeDeltas.reduce((a, b) => a + b, 0));
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    if (frame.functionName === '(idle)') {
      idle += us;
      return;
    }
    const place = placeOf(frame.url, frame.functionName);
    const owner = isOwner(place) ? undefined : ownerOf(id);
    const where = frame.url ? `${place}:${frame.lineNumber + 1}` : place;
    const caller = owner
      ? ` <- ${owner.callFrame.functionName || '(anonymous)'} ${placeOfNode(owner)}:${owner.callFrame.lineNumber + 1}`
      : '';
    const name = `${frame.functionName || '(anonymous)'} ${where}${caller}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    places.set(place, (places.get(place) ?? 0) + us);
    const charged = owner ? placeOfNode(owner) : place;
    owners.set(charged, (owners.get(charged) ?? 0) + us);
  });
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    idleMs: idle / 1000,
    functions: sorted(functions),
    places: sorted(places),
    owners: sorted(owners),
  };
}

/** Prints the top `n` functions and places of a summary, each with its share of the busy time. */
export function printProfile(summary: ProfileSummary, n: number, indent = '  '): void {
  const busy = summary.totalMs - summary.idleMs;
  const line = (e: ProfileEntry) =>
    `${indent}${e.ms.toFixed(0).padStart(7)} ms ${((e.ms / busy) * 100).toFixed(1).padStart(5)} %  ${e.name}`;
  console.log(
    `${indent}span ${summary.totalMs.toFixed(0)} ms, busy ${busy.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms`,
  );
  console.log(`${indent}by place (self time):`);
  for (const e of summary.places.slice(0, n)) console.log(line(e));
  console.log(
    `${indent}by owner (node's and native time charged to the pagepool file or package that called it):`,
  );
  for (const e of summary.owners.slice(0, n)) console.log(line(e));
  console.log(`${indent}top functions (self time):`);
  for (const e of summary.functions.slice(0, n)) console.log(line(e));
}
