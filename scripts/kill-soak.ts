// npx tsx scripts/kill-soak.ts [kills] [vehicles] [seed]: the long SIGKILL soak (issue 4). `pagepool run` in a
// child process is killed at seeded random moments, then run to completion; prints what survived and what it cost.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPortal } from '../src/demo/portal.js';
import { buildIfStale } from '../test/helpers/build-dist.js';
import { badPdfs, doneKeys, leftoverFiles, outDir } from '../test/helpers/child-pull.js';
import { killSoak } from '../test/helpers/kill-soak.js';

const [kills = 20, vehicles = 300, seed = 7] = process.argv.slice(2).map(Number);
if (![kills, vehicles, seed].every((n) => Number.isInteger(n) && n >= 0) || vehicles < 1) {
  process.stderr.write('usage: npx tsx scripts/kill-soak.ts [kills] [vehicles] [seed]\n');
  process.exit(2);
}
buildIfStale();
const portal = await startPortal({ vehicles, pageLatencyMs: 100 });
const cwd = await mkdtemp(path.join(os.tmpdir(), 'pagepool-kill-soak-'));
try {
  const result = await killSoak({
    portal,
    cwd,
    kills,
    seed,
    maxFilesPerKill: Math.max(1, Math.floor((vehicles * 0.8) / Math.max(1, kills))),
    args: ['--concurrency', '4', '--quiet'],
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const pdfs = (await readdir(path.join(outDir(cwd), 'demo'))).filter((n) => n.endsWith('.pdf'));
  const bad = await badPdfs(cwd, portal);
  const leftovers = await leftoverFiles(outDir(cwd));
  const done = await doneKeys(cwd);
  const unrecorded = result.inFlightAtKill.reduce((n, set) => n + set.size, 0);
  const served = Object.values(portal.stats().filesServed);
  const lines = [
    `kills           ${result.kills} of ${kills} (seed ${seed})`,
    `items           ${vehicles}: ${done.size} done in the checkpoint, ${pdfs.length} PDFs on disk, ${bad.length} missing or wrong`,
    `final run       exit ${result.final.code}${result.final.stderr ? `, stderr: ${result.final.stderr.trim()}` : ''}`,
    `files served    ${served.reduce((a, b) => a + b, 0)} for ${served.length} items`,
    `re-fetched      ${result.refetched.length} items (kills caught ${unrecorded} fetched but not yet recorded)`,
    `over-fetched    ${result.overFetched.length} items beyond 1 + the kills that caught them in flight`,
    `.part left      ${leftovers.length}`,
    `orphan procs    ${result.orphans.length}`,
    `logins          ${portal.stats().logins}`,
    `wall time       ${(result.wallMs / 1000).toFixed(1)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const ok =
    result.final.code === 0 &&
    done.size === vehicles &&
    pdfs.length === vehicles &&
    bad.length === 0 &&
    leftovers.length === 0 &&
    result.overFetched.length === 0 &&
    result.orphans.length === 0;
  process.exitCode = ok ? 0 : 1;
} finally {
  await portal.close();
  await rm(cwd, { recursive: true, force: true });
}
