// npx tsx scripts/fault-run.ts [vehicles] [seed]: the issue-3 fault run at full size. 200 vehicles against a portal that
// fails 10% of item requests, hangs 2%, rate-limits 5% and drops sessions after 15 s; prints what it took.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { faultPull } from '../test/helpers/fault-pull.js';

const vehicles = Number(process.argv[2] ?? 200);
const seed = Number(process.argv[3] ?? 3);
if (!Number.isInteger(vehicles) || vehicles < 1 || !Number.isInteger(seed) || seed < 0) {
  process.stderr.write('usage: npx tsx scripts/fault-run.ts [vehicles] [seed]\n');
  process.exit(2);
}
const out = await mkdtemp(path.join(os.tmpdir(), 'pagepool-fault-run-'));
try {
  const result = await faultPull({
    out,
    portal: {
      vehicles,
      failureRate: 0.1,
      stuckRate: 0.02,
      rateLimitRate: 0.05,
      sessionLifetimeMs: 15_000,
      seed,
    },
    run: { concurrency: 8, taskTimeoutMs: 5_000, retries: 6 },
  });
  const { summary, stats } = result;
  const served = Object.values(stats.filesServed);
  const refetched = served.filter((n) => n > 1).length;
  const lines = [
    `items           ${vehicles} (portal seed ${seed})`,
    `done            ${summary.done} (failed ${summary.failed}, pending ${summary.pending.length})`,
    `files on disk   ${vehicles - result.badFiles.length} byte-exact, ${result.badFiles.length} missing or wrong`,
    `retries         ${summary.retries}`,
    `abandoned       ${summary.abandoned}`,
    `re-logins       ${summary.relogins} (queue), logins seen by the portal ${stats.logins}, sessions expired ${stats.expiredSessions}`,
    `portal faults   ${stats.sent5xx} x 5xx, ${stats.sent429} x 429, ${stats.stuck} stuck`,
    `files served    ${served.reduce((a, b) => a + b, 0)} for ${served.length} items (${refetched} items more than once)`,
    `warnings        ${result.warnings.length}${result.warnings.length ? `: ${[...new Set(result.warnings)].slice(0, 5).join('; ')}` : ''}`,
    `.part left      ${result.leftovers.length}`,
    `wall time       ${(result.wallMs / 1000).toFixed(1)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = summary.done === vehicles && result.badFiles.length === 0 ? 0 : 1;
} finally {
  await rm(out, { recursive: true, force: true });
}
