// A re-login whose page timed out once (a busy machine, a portal hiccup) stopped the whole run as if the portal
// had refused the credentials: faults.test.ts once ended fatal at 26/100, at about its first session expiry.
// Real Chromium, the demo portal behind a proxy that holds the second login form post until the page gives up.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortal } from '../src/demo/portal.js';
import { run } from '../src/run.js';
import type { RunEvents } from '../src/run-events.js';
import demoVehicles from '../src/sites/demo-vehicles.js';
import { launchTestBrowser } from './helpers/chromium.js';
import { startPortalProxy } from './helpers/portal-proxy.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await browser?.close();
  await removeTempDirs();
});

describe('a re-login', () => {
  it('whose form post never answers is tried once more on a fresh page; the run pulls everything', async () => {
    const vehicles = 16;
    // Sessions of 3 s and slow pages: the run outlives its first session, so it needs a re-login.
    const portal = await startPortal({ vehicles, sessionLifetimeMs: 3_000, pageLatencyMs: 300 });
    let release!: () => void;
    const never = new Promise<void>((resolve) => {
      release = resolve;
    });
    let posts = 0;
    const proxy = await startPortalProxy(portal.url, {
      hold: (req) => (req.method === 'POST' && req.path === '/login' && ++posts === 2 ? never : undefined),
    });
    try {
      const events = new EventEmitter<RunEvents>();
      const warnings: string[] = [];
      events.on('warning', ({ message }) => warnings.push(message));
      const out = await tempDir();
      const summary = await run({
        site: demoVehicles,
        baseUrl: proxy.url,
        credentials: { username: portal.options.username, password: portal.options.password },
        out,
        checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
        events,
        browser,
        concurrency: 2,
        // Long enough for a healthy page on a busy machine; the held post fails the first re-login after it.
        pageTimeoutMs: 8_000,
      });
      expect(summary).toMatchObject({ done: vehicles, failed: 0, reason: 'done', pending: [] });
      // The second login post was the re-login's, held until its page gave up; the third one logged in.
      expect(posts).toBeGreaterThanOrEqual(3);
      expect(
        proxy.requests.filter((r) => r.method === 'POST' && r.path === '/login' && r.dropped),
      ).toHaveLength(1);
      expect(warnings.filter((w) => w.startsWith('the re-login failed ('))).toHaveLength(1);
      expect(warnings.find((w) => w.startsWith('the re-login failed ('))).toMatch(
        /Timeout 8000ms.*; trying once more$/,
      );
    } finally {
      release();
      await proxy.close();
      await portal.close();
    }
  }, 180_000);
});
