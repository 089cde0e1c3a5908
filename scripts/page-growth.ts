// What grows in a long-lived page (issue 13): one logged-in page loads detail pages one after another; every 15
// loads it prints the page's JS heap, the live documents and DOM nodes (CDP Performance.getMetrics) and each
// renderer's PSS, then the same after a forced GC (HeapProfiler.collectGarbage) and after about:blank.
//   tsx scripts/page-growth.ts [chromium switches...]
import { launchBrowser } from '../src/browser/launch.js';
import { startPortal } from '../src/demo/portal.js';
import { treeMemoryByKind } from '../src/metrics/process-tree-memory.js';
import { demoLogin } from '../src/sites/demo-portal-login.js';

const LOADS = 60;
const portal = await startPortal({ vehicles: LOADS, pageLatencyMs: 0, fileLatencyMs: 0 });
const browser = await launchBrowser({
  chromiumPath: process.env.CHROMIUM_PATH ?? null,
  args: process.argv.slice(2),
});
const mb = (bytes: number | undefined) => ((bytes ?? 0) / 1048576).toFixed(1);
try {
  const context = await browser.newContext();
  await demoLogin(await context.newPage(), { username: 'demo', password: 'demo-pass' }, portal.url);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const report = async (label: string) => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    const renderers = [...treeMemoryByKind(process.pid).renderers.values()].map((b) => mb(b)).join(', ');
    console.log(
      `${label.padEnd(22)} JS heap used ${mb(m.JSHeapUsedSize).padStart(5)} MB of ${mb(m.JSHeapTotalSize).padStart(5)}, ` +
        `documents ${String(m.Documents).padStart(3)}, nodes ${String(m.Nodes).padStart(5)}; renderers PSS MB: ${renderers}`,
    );
  };
  for (let i = 1; i <= LOADS; i++) {
    await page.goto(`${portal.url}/vehicle/S${String(i).padStart(5, '0')}`, {
      waitUntil: 'domcontentloaded',
    });
    await page.locator('#download-sticker').getAttribute('href');
    if (i % 15 === 0) await report(`after ${i} loads`);
  }
  await cdp.send('HeapProfiler.collectGarbage');
  await report('after a forced GC');
  await page.goto('about:blank');
  await cdp.send('HeapProfiler.collectGarbage');
  await report('about:blank + GC');
} finally {
  await browser.close();
  await portal.close();
}
