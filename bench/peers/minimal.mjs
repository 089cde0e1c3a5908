// @ts-check
// The minimal Playwright loop, the one people write by hand: launch, one context, log in on a page, read the
// inventory (over HTTP with the session's cookie, whole, first), then CONCURRENCY long-lived pages each taking
// the next vehicle: goto its detail page, read the link, fetch the PDF with the cookie, write it. Playwright's
// own launch with the bench's switches (PEER_CHROMIUM_ARGS: pagepool's quiet-network ones, not its memory
// levers). No retries, no checkpoint, no atomic write, no resource blocking.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright';
import { PASS, peerArgs, runPeer, USER } from './peer-args.mjs';
import { agent, get, inventory, pool } from './portal-http.mjs';

const { baseUrl, concurrency, out, chromium: executablePath, args } = await peerArgs('minimal');

await runPeer('minimal', async () => {
  const dispatcher = agent(concurrency * 2);
  const browser = await chromium.launch({ executablePath, args });
  try {
    const context = await browser.newContext();
    const first = await context.newPage();
    await first.goto(`${baseUrl}/login`);
    await first.fill('input[name=username]', USER);
    await first.fill('input[name=password]', PASS);
    await Promise.all([first.waitForURL('**/licence**'), first.click('button[type=submit]')]);
    await first.check('#accept');
    await Promise.all([first.waitForURL('**/inventory**'), first.click('#accept-licence')]);
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const urls = [];
    for await (const url of inventory(dispatcher, baseUrl, cookie)) urls.push(url);
    const pages = [
      first,
      ...(await Promise.all(Array.from({ length: concurrency - 1 }, () => context.newPage()))),
    ];
    return await pool(urls.values(), concurrency, async (url, worker) => {
      const page = /** @type {import('playwright').Page} */ (pages[worker]);
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      const href = await page
        .locator('#download-sticker')
        .evaluate((a) => /** @type {HTMLAnchorElement} */ (a).href);
      const pdf = await get(dispatcher, href, cookie);
      if (pdf.status !== 200) throw new Error(`${href} answered ${pdf.status}`);
      await writeFile(path.join(out, `${path.basename(url)}.pdf`), pdf.body);
    });
  } finally {
    await browser.close();
    await dispatcher.close();
  }
});
