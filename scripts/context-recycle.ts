// npx tsx scripts/context-recycle.ts [vehicles] [contextRecycleAfter]: the pool's context rotation at its default
// size. Pulls 1,050 vehicles at 8 pages with run() against the demo portal (a context every 1,000 items by
// default) and prints what the rotation cost: contexts moved to, pages replaced, logins, files, time.
// test/recycling.test.ts checks the same behaviour on 40 items with contextRecycleAfter 10.
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeVehicles } from '../src/demo/inventory.js';
import { startPortal } from '../src/demo/portal.js';
import { stickerPdf } from '../src/demo/sticker-pdf.js';
import { run } from '../src/run.js';
import type { RunEvents } from '../src/run-events.js';
import demoVehicles from '../src/sites/demo-vehicles.js';

const vehicles = Number(process.argv[2] ?? 1050);
const every = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
if (!Number.isInteger(vehicles) || vehicles < 1 || (every !== undefined && !Number.isInteger(every))) {
  process.stderr.write('usage: npx tsx scripts/context-recycle.ts [vehicles] [contextRecycleAfter]\n');
  process.exit(2);
}
const portal = await startPortal({ vehicles });
const out = await mkdtemp(path.join(os.tmpdir(), 'pagepool-context-recycle-'));
try {
  const events = new EventEmitter<RunEvents>();
  const replaced = new Map<string, number>();
  events.on('page:replaced', ({ reason }) => replaced.set(reason, (replaced.get(reason) ?? 0) + 1));
  const started = performance.now();
  const summary = await run({
    site: demoVehicles,
    baseUrl: portal.url,
    credentials: { username: portal.options.username, password: portal.options.password },
    out,
    checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
    concurrency: 8,
    events,
    ...(every === undefined ? {} : { contextRecycleAfter: every }),
  });
  const seconds = (performance.now() - started) / 1000;
  let bad = 0;
  for (const v of makeVehicles(vehicles, portal.options.seed)) {
    const bytes = await readFile(path.join(out, 'demo', `${v.stock}-window-sticker.pdf`)).catch(() => null);
    if (!bytes?.equals(stickerPdf(v))) bad += 1;
  }
  const stats = portal.stats();
  const lines = [
    `items           ${vehicles}, contextRecycleAfter ${every ?? 'default (1000)'}`,
    `done            ${summary.done} (failed ${summary.failed}, pending ${summary.pending.length}) in ${seconds.toFixed(1)} s`,
    `pages replaced  ${[...replaced].map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none'}`,
    `logins          ${stats.logins} (sessions expired ${stats.expiredSessions})`,
    `files           ${Object.keys(stats.filesServed).length} served, ${bad} missing or wrong on disk`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await portal.close();
  await rm(out, { recursive: true, force: true });
}
