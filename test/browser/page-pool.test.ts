// The page pool with a real Chromium against the demo portal: resource blocking, page recycling by count and by
// JS heap, and the move to a fresh context carrying the session, all without a second login.
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagePool, type PagePoolOptions } from '../../src/browser/page-pool.js';
import { faultDraw } from '../../src/demo/fault-plan.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { ConfigError, ShutdownError } from '../../src/errors.js';
import { demoLogin } from '../../src/sites/demo-portal-login.js';
import { launchTestBrowser } from '../helpers/chromium.js';

let browser: Browser;
let portal: Portal;

beforeAll(async () => {
  [browser, portal] = await Promise.all([launchTestBrowser(), startPortal({ vehicles: 40 })]);
});

afterAll(async () => {
  await browser?.close();
  await portal?.close();
});

const signal = new AbortController().signal;
// Chromium opens and closes contexts in its own time; on two busy cores that can take far more than poll's 1 s.
const BROWSER_WAIT = { timeout: 30_000, interval: 50 };

function openPool(options: Partial<PagePoolOptions> = {}) {
  const replaced: string[] = [];
  const warnings: string[] = [];
  const contexts: number[] = [];
  const logins: number[] = [];
  const created = new PagePool({
    browser,
    size: 2,
    login: (page) => demoLogin(page, { username: 'demo', password: 'demo-pass' }, portal.url),
    ...options,
  });
  created.on('page:replaced', ({ reason }) => replaced.push(reason));
  created.on('warning', ({ message }) => warnings.push(message));
  created.on('context:recycled', ({ count }) => contexts.push(count));
  created.on('login', ({ count }) => logins.push(count));
  return { pool: created.open(), replaced, warnings, contexts, logins };
}

/** Opens a vehicle's detail page; returns the path it ended on (the login page when the session is gone). */
async function openVehicle(page: Page, n: number): Promise<string> {
  await page.goto(`${portal.url}/vehicle/S${String(n).padStart(5, '0')}`, { waitUntil: 'domcontentloaded' });
  return new URL(page.url()).pathname;
}

/** Loads a detail page and says whether its stylesheet arrived. */
async function stylesheetLoaded(page: Page): Promise<boolean> {
  const seen = new Promise<boolean>((resolve) => {
    page.on('requestfinished', (r) => {
      if (r.resourceType() === 'stylesheet') resolve(true);
    });
    page.on('requestfailed', (r) => {
      if (r.resourceType() === 'stylesheet') resolve(false);
    });
  });
  await page.goto(`${portal.url}/vehicle/S00001`, { waitUntil: 'load' });
  return seen;
}

let imageNumber = 0;
/** Shows an image at a URL never asked for before (so no cache answers it) and says whether it arrived. */
async function imageLoaded(page: Page): Promise<boolean> {
  imageNumber += 1;
  const url = `${portal.url}/card/C0001.png?n=${imageNumber}`;
  const settled = Promise.race([
    page.waitForEvent('requestfinished', (r) => r.url() === url).then(() => true),
    page.waitForEvent('requestfailed', (r) => r.url() === url).then(() => false),
  ]);
  await page.evaluate((src) => {
    const img = document.createElement('img');
    img.src = src;
    document.body.append(img);
  }, url);
  return settled;
}

describe('resource blocking', () => {
  it('fails image and stylesheet requests on pool pages until unblock(), which lasts until the page is back', async () => {
    const p = await openPool({ size: 1 }).pool;
    try {
      await p.withPage(
        async (page) => {
          expect(await stylesheetLoaded(page)).toBe(false);
          expect(await imageLoaded(page)).toBe(false);
          p.unblock(page);
          expect(await imageLoaded(page)).toBe(true);
          expect(await stylesheetLoaded(page)).toBe(true);
        },
        { signal },
      );
      await p.withPage(
        async (page) => {
          await openVehicle(page, 2);
          expect(await imageLoaded(page)).toBe(false);
        },
        { signal },
      );
    } finally {
      await p.close();
    }
  });

  it('never blocks a document, even a PNG one (a file the browser is asked for)', async () => {
    const p = await openPool({ size: 1 }).pool;
    try {
      await p.withPage(
        async (page) => {
          const response = await page.goto(`${portal.url}/card/C0001.png`);
          expect(response?.status()).toBe(200);
          expect((await response!.body()).subarray(1, 4).toString()).toBe('PNG');
        },
        { signal },
      );
    } finally {
      await p.close();
    }
  });

  it('loads everything when blocking is off', async () => {
    const p = await openPool({ size: 1, block: false }).pool;
    try {
      await p.withPage(
        async (page) => {
          expect(await stylesheetLoaded(page)).toBe(true);
          expect(await imageLoaded(page)).toBe(true);
        },
        { signal },
      );
    } finally {
      await p.close();
    }
  });
});

describe('page recycling', () => {
  it('replaces a page after recycleAfter tasks, still logged in', async () => {
    const { pool, replaced } = openPool({ size: 1, recycleAfter: 2, memoryCheckEvery: 0 });
    const p = await pool;
    try {
      const pages: Page[] = [];
      for (let i = 1; i <= 5; i++) {
        await p.withPage(
          async (page) => {
            pages.push(page);
            expect(await openVehicle(page, i)).toBe(`/vehicle/S0000${i}`);
          },
          { signal },
        );
      }
      expect(replaced).toEqual(['recycled', 'recycled']);
      expect(new Set(pages).size).toBe(3);
      expect(p.loginCount).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('replaces a page whose JS heap is over the limit, without a new login', async () => {
    const { pool, replaced } = openPool({
      size: 1,
      memoryCheckEvery: 2,
      pageHeapLimitBytes: 4 * 1024 * 1024,
    });
    const p = await pool;
    try {
      const pages: Page[] = [];
      const task = (grow: boolean) =>
        p.withPage(
          async (page) => {
            pages.push(page);
            expect(await openVehicle(page, 1)).toBe('/vehicle/S00001');
            // About 16 MB kept alive by the page: well over the 4 MB limit.
            if (grow)
              await page.evaluate(() => {
                (globalThis as { hoard?: unknown }).hoard = Array.from({ length: 200_000 }, (_, i) => ({
                  i,
                  s: `x${i}`,
                }));
              });
          },
          { signal },
        );
      await task(false);
      await task(false); // second task: checked, small heap, kept
      // One page: the third task gets it only once the second one's check is over.
      await task(false);
      expect(replaced).toEqual([]);
      await task(true); // fourth task: checked, over the limit
      // The check runs after the task has its result; the slot is handed on once it is done.
      await p.withPage(async (page) => pages.push(page), { signal });
      expect(replaced).toEqual(['memory']);
      expect(pages[4]).not.toBe(pages[3]);
      expect(pages[0]).toBe(pages[3]);
      expect(p.loginCount).toBe(1);
    } finally {
      await p.close();
    }
  });
});

describe('context recycling', () => {
  it('moves to a fresh context every contextRecycleAfter tasks, keeps the session, closes the old contexts', async () => {
    const { pool, warnings, contexts, logins } = openPool({ size: 2, contextRecycleAfter: 3 });
    const p = await pool;
    const before = browser.contexts().length;
    try {
      const seen = new Set<unknown>();
      for (let round = 1; round <= 4; round++) {
        // Three tasks, two at a time: the third one to finish moves the pool to a new context.
        await Promise.all(
          [0, 1, 2].map((k) =>
            p.withPage(
              async (page) => {
                seen.add(page.context());
                expect(await openVehicle(page, 3 * round + k)).toMatch(/^\/vehicle\//);
              },
              { signal },
            ),
          ),
        );
        await expect.poll(() => p.contextRecycleCount, BROWSER_WAIT).toBe(round);
      }
      expect(p.loginCount).toBe(1);
      // The first login, made inside open(), is reported too.
      expect(logins).toEqual([1]);
      expect(p.contextRecycleCount).toBe(4);
      expect(contexts.at(-1)).toBe(p.contextRecycleCount);
      expect(seen.size).toBeGreaterThanOrEqual(4);
      // Old contexts close once their last page is back: at most the current one and one retiring are left.
      await expect.poll(() => browser.contexts().length - before, BROWSER_WAIT).toBeLessThanOrEqual(1);
      expect(warnings).toEqual([]);
    } finally {
      await p.close();
    }
    expect(browser.contexts().length).toBe(before - 1);
  });

  it('keeps an old context open while one of its pages is out, and closes it when that page comes back', async () => {
    const p = await openPool({ size: 2, contextRecycleAfter: 2, memoryCheckEvery: 0 }).pool;
    try {
      let holdPage: Page | undefined;
      let letGo!: () => void;
      const gate = new Promise<void>((resolve) => {
        letGo = resolve;
      });
      const held = p.withPage(
        async (page) => {
          holdPage = page;
          await gate;
          // Still usable and still logged in after the pool moved on.
          return openVehicle(page, 7);
        },
        { signal },
      );
      await p.withPage((page) => openVehicle(page, 1), { signal });
      await p.withPage((page) => openVehicle(page, 2), { signal }); // the second task: the pool moves on
      await expect.poll(() => p.contextRecycleCount, BROWSER_WAIT).toBe(1);
      const oldContext = holdPage!.context();
      expect(p.context).not.toBe(oldContext);
      expect(browser.contexts()).toContain(oldContext);
      letGo();
      expect(await held).toBe('/vehicle/S00007');
      await expect.poll(() => browser.contexts().includes(oldContext), BROWSER_WAIT).toBe(false);
      expect(holdPage!.isClosed()).toBe(true);
      await p.withPage(async (page) => expect(page.context()).toBe(p.context), { signal });
      expect(p.loginCount).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('closes an old context whose last page was poisoned by an abandoned task', async () => {
    const p = await openPool({ size: 2, contextRecycleAfter: 1, memoryCheckEvery: 0 }).pool;
    try {
      const abandon = new AbortController();
      let stuckPage: Page | undefined;
      const stuck = p
        .withPage(
          async (page) => {
            stuckPage = page;
            await page.waitForSelector('#never-there', { timeout: 60_000 }); // fails only when the page closes
          },
          { signal, abandoned: abandon.signal },
        )
        .catch((err: unknown) => err);
      await expect.poll(() => stuckPage !== undefined, BROWSER_WAIT).toBe(true);
      await p.withPage((page) => openVehicle(page, 3), { signal });
      await expect.poll(() => p.contextRecycleCount, BROWSER_WAIT).toBe(1);
      const oldContext = stuckPage!.context();
      abandon.abort(new Error('abandoned'));
      expect(await stuck).toBeInstanceOf(Error);
      await expect.poll(() => browser.contexts().includes(oldContext), BROWSER_WAIT).toBe(false);
      // Both slots work in the current context.
      await Promise.all(
        [4, 5].map((n) =>
          p.withPage(
            async (page) => {
              expect(await openVehicle(page, n)).toBe(`/vehicle/S0000${n}`);
            },
            { signal },
          ),
        ),
      );
      expect(p.loginCount).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('replaces a page whose navigation timed out, so its hung request does not hold the URL for other pages', async () => {
    // A vehicle whose first detail request the portal never answers and whose second it answers.
    const seed = 3;
    const rate = 0.5;
    const stock = Array.from({ length: 40 }, (_, i) => `S${String(i + 1).padStart(5, '0')}`).find(
      (s) => faultDraw(seed, 'detail', s, 0) < rate && faultDraw(seed, 'detail', s, 1) >= rate,
    )!;
    const faulty = await startPortal({ vehicles: 40, seed, stuckRate: rate });
    const p = await new PagePool({
      browser,
      size: 2,
      login: (page) => demoLogin(page, { username: 'demo', password: 'demo-pass' }, faulty.url),
      // The pool's timeout bounds the hung navigation; it also bounds the login's, which a loaded machine can
      // take seconds over (1.5 s was too little for it).
      pageTimeoutMs: 5_000,
    }).open();
    const replaced: string[] = [];
    p.on('page:replaced', ({ reason }) => replaced.push(reason));
    const url = `${faulty.url}/vehicle/${stock}`;
    try {
      // The pool's page timeout bounds the navigation: the adapter passes none.
      const error = await p
        .withPage((page) => page.goto(url, { waitUntil: 'domcontentloaded' }), { signal })
        .catch((err: unknown) => err);
      expect((error as Error).name).toBe('TimeoutError');
      expect(replaced).toEqual(['timeout']);
      // Left loading, the hung request would hold Chromium's cache lock on the URL: the next request for it would
      // wait 20 s, past this navigation's own 15 s bound.
      const landed = await p.withPage(
        async (page) => {
          await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 15_000 });
          return new URL(page.url()).pathname;
        },
        { signal },
      );
      expect(landed).toBe(`/vehicle/${stock}`);
      expect(faulty.stats().stuck).toBe(1);
      expect(p.loginCount).toBe(1);
    } finally {
      await p.close();
      await faulty.close();
    }
  });

  it('says a closed pool is shutting down (a coded error: the item stays pending)', async () => {
    const p = await openPool().pool;
    await p.close();
    const error = await p.extraPage().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ShutdownError);
    expect((error as ShutdownError).code).toBe('SHUTDOWN');
  });

  it('rejects bad options with one ConfigError naming each', () => {
    const bad = () =>
      new PagePool({ browser, size: 0, login: async () => {}, contextRecycleAfter: -1, pageTimeoutMs: 0 });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(
      'Expected `size` to be an integer from 1, got `0`; Expected `contextRecycleAfter` to be an integer from 0, got `-1`; Expected `pageTimeoutMs` to be an integer from 1, got `0`',
    );
  });
});

describe('pages on demand', () => {
  it('closes the login page once logged in, and opens a page only for a task that asks', async () => {
    const p = await openPool({ pageOnDemand: true }).pool;
    try {
      // The login page goes in the background: the pool is open before it has closed.
      await expect.poll(() => p.context.pages().length, BROWSER_WAIT).toBe(0);
      const without = await p.withSlot(async () => p.context.pages().length, { signal });
      expect(without).toBe(0);
      const path = await p.withSlot(async (lease) => openVehicle(await lease.page(), 3), { signal });
      expect(path).toBe('/vehicle/S00003'); // logged in: the context's session serves the new page
      expect(p.loginCount).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('keeps the login page as the first page of the pool without pageOnDemand', async () => {
    const p = await openPool().pool;
    try {
      expect(p.context.pages()).toHaveLength(1);
      expect(new URL(p.context.pages()[0]!.url()).pathname).toBe('/inventory');
    } finally {
      await p.close();
    }
  });

  it("runs `alongside` while the login runs, in the pool's context, and waits for it", async () => {
    const seen: string[] = [];
    const p = new PagePool({
      browser,
      size: 1,
      login: async (page) => {
        seen.push('login:start');
        await demoLogin(page, { username: 'demo', password: 'demo-pass' }, portal.url);
        seen.push('login:end');
      },
    });
    let sameContext = false;
    await p.open(async (context) => {
      seen.push('alongside:start');
      await new Promise((resolve) => setTimeout(resolve, 50));
      sameContext = context === p.context;
      seen.push('alongside:end');
    });
    try {
      expect(sameContext).toBe(true);
      // Started before the login finished, and done by the time open() returned.
      expect(seen.indexOf('alongside:start')).toBeLessThan(seen.indexOf('login:end'));
      expect(seen).toContain('alongside:end');
    } finally {
      await p.close();
    }
  });
});
