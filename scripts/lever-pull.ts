// One pagepool pull through the library with a memory lever applied, for scripts/bench-levers.ts:
//   tsx scripts/lever-pull.ts BASE_URL CONCURRENCY OUT REFS LEVER_JSON
// LEVER_JSON: { "args": [Chromium switches], "blank": true to load about:blank before each item,
// "recycleAfter": items per page before it is replaced }. Exits 0 when every item is done.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { launchBrowser } from '../src/browser/launch.js';
import { run } from '../src/run.js';
import type { RunEvents } from '../src/run-events.js';
import demoVehicles from '../src/sites/demo-vehicles.js';

const [baseUrl, concurrency, out, refs, leverJson] = process.argv.slice(2);
if (!baseUrl || !concurrency || !out || !refs || !leverJson) {
  process.stderr.write('usage: tsx scripts/lever-pull.ts BASE_URL CONCURRENCY OUT REFS LEVER_JSON\n');
  process.exit(2);
}
const lever = JSON.parse(leverJson) as { args?: string[]; blank?: boolean; recycleAfter?: number };
const site = lever.blank
  ? {
      ...demoVehicles,
      async process(ctx: Parameters<typeof demoVehicles.process>[0]) {
        await ctx.page.goto('about:blank');
        return demoVehicles.process(ctx);
      },
    }
  : demoVehicles;
const browser = await launchBrowser({
  chromiumPath: process.env.CHROMIUM_PATH ?? null,
  args: lever.args ?? [],
});
try {
  const summary = await run({
    site,
    baseUrl,
    credentials: { username: 'demo', password: 'demo-pass' },
    out,
    checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
    refs,
    concurrency: Number(concurrency),
    browser,
    events: new EventEmitter<RunEvents>(),
    ...(lever.recycleAfter ? { recycleAfter: lever.recycleAfter } : {}),
  });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = summary.failed === 0 && summary.error === undefined ? 0 : 1;
} finally {
  await browser.close();
}
