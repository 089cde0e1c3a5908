import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../src/browser/launch.js';
import { descendants, processKind, treeMemoryByKind } from '../../src/metrics/process-tree-memory.js';

let browser: Browser;
beforeAll(async () => {
  // A switch of our own through the launch hook, to find it on the browser's command line below.
  browser = await launchBrowser({ chromiumPath: null, args: ['--renderer-process-limit=9'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe('treeMemoryByKind', () => {
  it('splits a real Chromium tree by --type=: the browser, one renderer per page, GPU/utility; node is this process', async () => {
    const context = await browser.newContext();
    const pages = await Promise.all([context.newPage(), context.newPage()]);
    await Promise.all(pages.map((p) => p.setContent('<p>two pages, two renderers</p>')));
    const mem = treeMemoryByKind(process.pid);
    expect(processKind(process.pid)).toBe('node');
    expect(mem.kinds.node).toBeGreaterThan(0);
    expect(mem.kinds.browser).toBeGreaterThan(0);
    expect(mem.kinds['gpu/utility']).toBeGreaterThan(0);
    expect(mem.renderers.size).toBeGreaterThanOrEqual(2);
    expect(mem.kinds.renderer).toBe([...mem.renderers.values()].reduce((a, b) => a + b, 0));
    const sum = Object.values(mem.kinds).reduce((a, b) => a + b, 0);
    expect(sum).toBe(mem.total.bytes);
    const browsers = descendants(process.pid).filter((pid) => processKind(pid) === 'browser');
    expect(browsers).toHaveLength(1);
    expect(readFileSync(`/proc/${browsers[0]}/cmdline`, 'utf8').split('\0')).toContain(
      '--renderer-process-limit=9',
    );
    await context.close();
  }, 120_000);

  it('a pid that is gone has no kind', () => {
    expect(processKind(2 ** 22 + 1)).toBeUndefined();
  });
});
