// The two baselines `npm run bench` measures pagepool against, each one child process run as
// `tsx scripts/baseline-pull.ts floor|minimal BASE_URL CONCURRENCY OUT`:
//   floor    the same HTTP requests with undici and no browser (login form, licence, inventory pages, each
//            vehicle's detail page, its PDF), CONCURRENCY vehicles at once: what the portal itself allows;
//   minimal  the hand-written Playwright loop people write: one context, CONCURRENCY long-lived pages, goto the
//            detail page, read the link, fetch the PDF with the session's cookie, write it. No retries, no
//            checkpoint, no atomic write.
// Prints one JSON line: { items, ms }. Exits 1 on the first error (a baseline that fails is not a baseline).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright';
import { Agent, request } from 'undici';
import { findChromium } from '../src/browser/find-chromium.js';
import { CHROMIUM_ARGS } from '../src/browser/launch.js';

const [mode, baseUrl, concurrencyArg, out] = process.argv.slice(2);
if ((mode !== 'floor' && mode !== 'minimal') || !baseUrl || !concurrencyArg || !out) {
  process.stderr.write('usage: tsx scripts/baseline-pull.ts floor|minimal BASE_URL CONCURRENCY OUT\n');
  process.exit(2);
}
const concurrency = Number(concurrencyArg);
const USER = 'demo';
const PASS = 'demo-pass';
/** No baseline may run longer than this. */
const LIMIT_MS = 20 * 60_000;
setTimeout(() => {
  process.stderr.write('baseline: time limit reached\n');
  process.exit(1);
}, LIMIT_MS).unref();

const dispatcher = new Agent({ connections: concurrency * 2 });

async function get(url: string, cookie: string): Promise<{ status: number; body: Buffer }> {
  const res = await request(url, { headers: { cookie }, dispatcher });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body };
}

async function httpLogin(): Promise<string> {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const login = await request(`${baseUrl}/login`, {
    method: 'POST',
    headers,
    body: form({ username: USER, password: PASS }),
    dispatcher,
  });
  await login.body.dump();
  const setCookie = login.headers['set-cookie'];
  const cookie = String(Array.isArray(setCookie) ? setCookie[0] : setCookie).split(';')[0]!;
  const licence = await request(`${baseUrl}/licence`, {
    method: 'POST',
    headers: { ...headers, cookie },
    body: form({ accept: 'on' }),
    dispatcher,
  });
  await licence.body.dump();
  if (licence.statusCode !== 303) throw new Error(`licence answered ${licence.statusCode}`);
  return cookie;
}

/** Every vehicle's detail URL, walking the inventory pages over HTTP. */
async function listing(cookie: string): Promise<string[]> {
  const urls: string[] = [];
  for (let n = 1; n < 10_000; n++) {
    const page = await get(`${baseUrl}/inventory?page=${n}`, cookie);
    if (page.status !== 200) throw new Error(`inventory page ${n} answered ${page.status}`);
    const html = page.body.toString();
    for (const m of html.matchAll(/<a href="(\/vehicle\/[^"]+)">View<\/a>/g)) urls.push(`${baseUrl}${m[1]}`);
    if (!html.includes('rel="next"')) return urls;
  }
  return urls;
}

/** Runs `work` over `items` with at most `n` at once, in order of the list. */
async function pool<T>(items: T[], n: number, work: (item: T, worker: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, worker) => {
      while (next < items.length) {
        const item = items[next++]!;
        await work(item, worker);
      }
    }),
  );
}

async function floor(): Promise<number> {
  const cookie = await httpLogin();
  const urls = await listing(cookie);
  await pool(urls, concurrency, async (url) => {
    const detail = await get(url, cookie);
    const href = /id="download-sticker"[^>]*href="([^"]+)"/.exec(detail.body.toString())?.[1];
    if (detail.status !== 200 || !href) throw new Error(`${url} answered ${detail.status}`);
    const pdf = await get(new URL(href, url).href, cookie);
    if (pdf.status !== 200) throw new Error(`${href} answered ${pdf.status}`);
    await writeFile(path.join(out!, `${path.basename(url)}.pdf`), pdf.body);
  });
  return urls.length;
}

async function minimal(): Promise<number> {
  // Playwright's launch with pagepool's quiet-network switches only: not LEAN_ARGS, which are pagepool's own work.
  const browser = await chromium.launch({
    executablePath: findChromium(process.env.CHROMIUM_PATH ?? null),
    args: CHROMIUM_ARGS,
  });
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
    const urls = await listing(cookie);
    const pages = [
      first,
      ...(await Promise.all(Array.from({ length: concurrency - 1 }, () => context.newPage()))),
    ];
    await pool(urls, concurrency, async (url, worker) => {
      const page = pages[worker]!;
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      const href = await page.locator('#download-sticker').evaluate((a) => (a as HTMLAnchorElement).href);
      const pdf = await get(href, cookie);
      if (pdf.status !== 200) throw new Error(`${href} answered ${pdf.status}`);
      await writeFile(path.join(out!, `${path.basename(url)}.pdf`), pdf.body);
    });
    return urls.length;
  } finally {
    await browser.close();
  }
}

await mkdir(out, { recursive: true });
const started = performance.now();
try {
  const items = mode === 'floor' ? await floor() : await minimal();
  process.stdout.write(`${JSON.stringify({ items, ms: Math.round(performance.now() - started) })}\n`);
  await dispatcher.close();
  process.exit(0);
} catch (err) {
  process.stderr.write(`baseline ${mode}: ${(err as Error).message}\n`);
  process.exit(1);
}
