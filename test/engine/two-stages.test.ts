// Pages and downloads as two stages, end to end: real Chromium against the demo portal on 127.0.0.1.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { type RunOptions, run } from '../../src/run.js';
import type { RunEvents } from '../../src/run-events.js';
import demoVehicles, { type VehicleRef } from '../../src/sites/demo-vehicles.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

let browser: Browser;
const portals: Portal[] = [];

beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await browser?.close();
  await removeTempDirs();
});

/** What the run's events say about both stages, at their peaks. */
function watch(events: EventEmitter<RunEvents>) {
  const inFlight = new Set<string>();
  const downloading = new Set<string>();
  const seen = {
    peakInFlight: 0,
    peakDownloading: 0,
    /** A page took an item while another item was downloading. */
    startsWhileDownloading: 0,
    waitedForSlot: 0,
    /** `key:attempt` of attempts that gave their page back. */
    released: new Set<string>(),
    retriedAfterRelease: new Set<string>(),
    /** Keys whose later attempt came back onto a page after a retry from the download stage. */
    backOnAPage: new Set<string>(),
    attempt: new Map<string, number>(),
  };
  const end = (key: string) => {
    inFlight.delete(key);
    downloading.delete(key);
  };
  events.on('task:start', ({ key, attempt }) => {
    inFlight.add(key);
    seen.attempt.set(key, attempt);
    seen.peakInFlight = Math.max(seen.peakInFlight, inFlight.size);
  });
  events.on('task:stage', ({ key, attempt, stage }) => {
    if (stage === 'start' && downloading.size > 0) seen.startsWhileDownloading += 1;
    if (stage === 'start' && seen.retriedAfterRelease.has(key) && attempt > 1) seen.backOnAPage.add(key);
    if (stage === 'wait slot') seen.waitedForSlot += 1;
  });
  events.on('page:released', ({ key }) => {
    downloading.add(key);
    seen.released.add(`${key}:${seen.attempt.get(key)}`);
    seen.peakDownloading = Math.max(seen.peakDownloading, downloading.size);
  });
  events.on('download:left', ({ key }) => downloading.delete(key));
  events.on('task:retry', ({ key, attempt }) => {
    if (seen.released.has(`${key}:${attempt}`)) seen.retriedAfterRelease.add(key);
    end(key);
  });
  events.on('task:done', ({ key }) => end(key));
  events.on('task:failed', ({ key }) => end(key));
  events.on('task:interrupted', ({ key }) => end(key));
  events.on('task:abandoned', ({ key }) => end(key));
  return seen;
}

async function pull(options: Partial<PortalOptions>, runOptions: Partial<RunOptions<VehicleRef>>) {
  const p = await startPortal(options);
  portals.push(p);
  const out = await tempDir();
  const events = new EventEmitter<RunEvents>();
  const seen = watch(events);
  const summary = await run({
    site: demoVehicles,
    baseUrl: p.url,
    credentials: { username: p.options.username, password: p.options.password },
    out,
    checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
    browser,
    events,
    ...runOptions,
  });
  for (const vehicle of makeVehicles(p.options.vehicles, p.options.seed)) {
    const bytes = await readFile(path.join(out, 'demo', `${vehicle.stock}-window-sticker.pdf`));
    expect(bytes.equals(stickerPdf(vehicle)), vehicle.stock).toBe(true);
  }
  const checkpoint = await readFile(path.join(out, '.pagepool', 'checkpoint.json'), 'utf8');
  return { summary, seen, stats: p.stats(), checkpoint };
}

describe('two stages', () => {
  it('at 2 pages and 3 downloads with a slow file, pages take new items while files download, never more than 3 at once', async () => {
    const { summary, seen, stats } = await pull(
      { vehicles: 12, fileLatencyMs: 1500 },
      { concurrency: 2, downloads: 3 },
    );
    expect(summary).toMatchObject({ done: 12, failed: 0, reason: 'done' });
    // More items in flight than pages: the downloads went on without theirs (at most pages + downloads).
    expect(seen.peakInFlight).toBeGreaterThan(2);
    expect(seen.peakInFlight).toBeLessThanOrEqual(5);
    expect(seen.startsWhileDownloading).toBeGreaterThan(0);
    // The bound, counted by the portal itself (file requests open at once) and by the events.
    expect(stats.peakFilesInFlight).toBeGreaterThan(1);
    expect(stats.peakFilesInFlight).toBeLessThanOrEqual(3);
    expect(seen.peakDownloading).toBeLessThanOrEqual(3);
    expect(stats.filesInFlight).toBe(0);
    expect(Object.values(stats.filesServed).every((n) => n === 1)).toBe(true);
  });

  it('a full download stage holds the browser stage: an item waits for a slot holding its page, nothing piles up', async () => {
    const { summary, seen, stats } = await pull(
      { vehicles: 8, fileLatencyMs: 1500 },
      { concurrency: 2, downloads: 1 },
    );
    expect(summary).toMatchObject({ done: 8, failed: 0, reason: 'done' });
    expect(seen.waitedForSlot).toBeGreaterThan(0);
    expect(stats.peakFilesInFlight).toBe(1);
    expect(seen.peakDownloading).toBe(1);
    // Two pages and one download: a third item never starts while both pages wait on the stage.
    expect(seen.peakInFlight).toBeLessThanOrEqual(3);
  });

  it('a download that fails after releasePage() is retried by the policy, back through a page, and the item ends done', async () => {
    // A file answered with the "session expired" page while the session is live: a retry, which needs a page again.
    const { summary, seen, stats, checkpoint } = await pull(
      { vehicles: 12, htmlExpiredRate: 0.3 },
      { concurrency: 2, downloads: 2, retries: 6, backoff: { minMs: 50, maxMs: 200 } },
    );
    expect(summary).toMatchObject({ done: 12, failed: 0, reason: 'done' });
    expect(stats.htmlExpired).toBeGreaterThan(0);
    expect(seen.retriedAfterRelease.size).toBeGreaterThan(0);
    expect([...seen.backOnAPage].sort()).toEqual([...seen.retriedAfterRelease].sort());
    for (const key of seen.retriedAfterRelease) expect(checkpoint).toContain(key);
  });
});
