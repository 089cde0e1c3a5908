// Issue 17 end to end: a real pull (Chromium, the demo portal with faults, `run()`) watched through /metrics,
// scraped over HTTP while items are in flight and at the end; the counters agree with the run's summary and report.
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { startPortal } from '../../src/demo/portal.js';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import { openMetricsServer } from '../../src/metrics/metrics-server.js';
import { run } from '../../src/run.js';
import type { RunEvents } from '../../src/run-events.js';
import demoVehicles, { type VehicleRef } from '../../src/sites/demo-vehicles.js';
import type { Site } from '../../src/sites/site.js';
import { RunReport } from '../../src/ui/run-report.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { type Family, parsePromText, sampleSum, sampleValue } from '../helpers/prom-text.js';
import { sleep } from '../helpers/sleep.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

let browser: Browser;

beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await browser?.close();
  await removeTempDirs();
});

const VEHICLES = 40;
/** The mid-run scrape happens in the first attempt that starts after this many items are done. */
const DONE_BEFORE_SCRAPE = 5;

/** A scrape of /metrics as it came back; checked by `families` outside the attempts (an expect that throws inside
 * one would be an attempt failure, retried away). */
interface Scrape {
  status: number;
  text: string;
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

function families(answer: Scrape): Map<string, Family> {
  expect(answer.status).toBe(200);
  return parsePromText(answer.text);
}

describe('metrics of a real pull', () => {
  it('a pull through 500s, 429s, hung requests and expiring sessions, scraped during and after', async () => {
    const portal = await startPortal({
      vehicles: VEHICLES,
      failureRate: 0.1,
      rateLimitRate: 0.05,
      stuckRate: 0.02,
      sessionLifetimeMs: 6_000,
      seed: 11,
    });
    const out = await tempDir();
    const events = new EventEmitter<RunEvents>();
    const collector = new MetricsCollector(events);
    const report = new RunReport(events, { metrics: collector });
    const server = await openMetricsServer({ registry: collector.registry, port: 0 });
    try {
      let done = 0;
      events.on('task:done', () => {
        done += 1;
      });
      const startedAt = new Map<string, number>();
      events.on('task:start', ({ key }) => {
        startedAt.set(key, Date.now());
      });
      const runStarted = Date.now();
      // The demo adapter, scraping once from inside an attempt: that attempt holds a page while the scrape runs,
      // so the pull is certainly under way when /metrics answers. The answer is kept and checked after the run.
      let mid:
        | { answer: Scrape | { error: unknown }; doneBefore: number; attemptAgeMs: number; runAgeMs: number }
        | undefined;
      const site: Site<VehicleRef> = {
        ...demoVehicles,
        async process(job) {
          if (!mid && done >= DONE_BEFORE_SCRAPE) {
            const doneBefore = done;
            const attemptStarted = startedAt.get(job.key) ?? Number.NaN;
            // Until the clock has moved since this attempt started (a millisecond at most), so its age is above 0.
            for (let i = 0; i < 100 && !(Date.now() > attemptStarted); i++) await sleep(1);
            const asked = Date.now();
            const answer = await scrape(server.url).catch((error: unknown) => ({ error }));
            mid = {
              answer,
              doneBefore,
              attemptAgeMs: asked - attemptStarted,
              runAgeMs: Date.now() - runStarted,
            };
          }
          return demoVehicles.process(job);
        },
      };
      const summary = await run({
        site,
        baseUrl: portal.url,
        credentials: { username: portal.options.username, password: portal.options.password },
        out,
        checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
        browser,
        events,
        concurrency: 4,
        taskTimeoutMs: 5_000,
        retries: 6,
      });
      const stats = portal.stats();
      expect(summary).toMatchObject({ done: VEHICLES, failed: 0, reason: 'done' });
      // The faults really happened, or the failure counts below prove nothing.
      expect(stats.sent5xx).toBeGreaterThan(0);
      expect(stats.sent429).toBeGreaterThan(0);
      expect(stats.expiredSessions).toBeGreaterThan(0);

      // During the pull: this attempt on its page, items done, more to do, Chromium in the process tree.
      if (!mid)
        throw new Error('no attempt started after the first items were done: nothing scraped mid-run');
      expect(mid.answer).not.toHaveProperty('error');
      const during = families(mid.answer as Scrape);
      expect(sampleValue(during, 'pagepool_items_in_flight', { stage: 'page' })).toBeGreaterThanOrEqual(1);
      const doneDuring = sampleValue(during, 'pagepool_items_total', { outcome: 'done' });
      expect(doneDuring).toBeGreaterThanOrEqual(mid.doneBefore);
      expect(doneDuring).toBeLessThan(VEHICLES);
      // The oldest attempt is at least as old as the one that scraped, and younger than the run.
      const oldestMs = Math.round(sampleValue(during, 'pagepool_oldest_in_flight_seconds') * 1000);
      expect(mid.attemptAgeMs).toBeGreaterThan(0);
      expect(oldestMs).toBeGreaterThanOrEqual(mid.attemptAgeMs);
      expect(oldestMs).toBeLessThanOrEqual(mid.runAgeMs);
      // run() has no adaptive limit: the limit is the concurrency.
      expect(sampleValue(during, 'pagepool_in_flight_limit')).toBe(4);
      expect(sampleValue(during, 'pagepool_logins_total')).toBeGreaterThanOrEqual(1);
      expect(sampleValue(during, 'pagepool_logins_total')).toBeLessThanOrEqual(stats.logins);
      expect(sampleValue(during, 'pagepool_process_tree_processes')).toBeGreaterThanOrEqual(2);
      expect(sampleValue(during, 'pagepool_process_tree_resident_memory_bytes')).toBeGreaterThan(
        process.memoryUsage.rss(),
      );

      // At the end: every counter agrees with the queue's summary and with the report.
      const after = families(await scrape(server.url));
      const item = (outcome: string) => sampleValue(after, 'pagepool_items_total', { outcome });
      expect(item('done')).toBe(summary.done);
      expect(item('failed')).toBe(summary.failed);
      expect(item('retried')).toBe(summary.retries);
      expect(item('abandoned')).toBe(summary.abandoned);
      expect(item('duplicate')).toBe(summary.duplicates);
      expect(item('interrupted')).toBe(summary.interrupted);
      expect(summary.retries).toBeGreaterThan(0);
      expect(sampleSum(after, 'pagepool_item_failures_total', { outcome: 'retried' })).toBe(summary.retries);
      expect(sampleSum(after, 'pagepool_item_failures_total', { outcome: 'failed' })).toBe(summary.failed);
      // Every 429 the portal sent was a RateLimitedError to some attempt, and held new starts at least once.
      expect(sampleSum(after, 'pagepool_item_failures_total', { code: 'RATE_LIMITED' })).toBeGreaterThan(0);
      expect(sampleValue(after, 'pagepool_rate_limit_holds_total')).toBeGreaterThan(0);
      expect(sampleValue(after, 'pagepool_relogins_total')).toBe(summary.relogins);
      expect(sampleValue(after, 'pagepool_logins_total')).toBe(stats.logins);

      const totals = report.toJSON().totals;
      expect(totals).toMatchObject({
        done: item('done'),
        failed: item('failed'),
        retries: item('retried'),
        abandoned: item('abandoned'),
        duplicates: item('duplicate'),
      });
      expect(sampleValue(after, 'pagepool_written_bytes_total')).toBe(totals.bytes);
      let onDisk = 0;
      for (const vehicle of makeVehicles(VEHICLES, portal.options.seed)) {
        onDisk += (await stat(path.join(out, 'demo', `${vehicle.stock}-window-sticker.pdf`))).size;
      }
      expect(totals.bytes).toBeGreaterThanOrEqual(onDisk);
      expect(sampleValue(after, 'pagepool_files_written_total')).toBeGreaterThanOrEqual(VEHICLES);

      // Nothing is left in flight, waiting or queued once the run has ended.
      expect(sampleSum(after, 'pagepool_items_in_flight')).toBe(0);
      expect(sampleValue(after, 'pagepool_items_retry_waiting')).toBe(0);
      expect(sampleValue(after, 'pagepool_items_queued')).toBe(0);
      expect(sampleValue(after, 'pagepool_oldest_in_flight_seconds')).toBe(0);

      // The snapshot for report.json holds the same counts, and the run's peaks.
      const snapshot = collector.snapshot();
      console.log(
        `metrics: mid-run ${doneDuring} done, ${sampleSum(during, 'pagepool_items_in_flight')} in flight, ` +
          `tree ${sampleValue(during, 'pagepool_process_tree_processes')} processes ` +
          `${(sampleValue(during, 'pagepool_process_tree_resident_memory_bytes') / 2 ** 20).toFixed(0)} MiB RSS / ` +
          `${(sampleValue(during, 'pagepool_process_tree_anonymous_memory_bytes') / 2 ** 20).toFixed(0)} MiB anonymous; ` +
          `end ${JSON.stringify(snapshot.items)} failures ${JSON.stringify(snapshot.failures)} ` +
          `peak ${JSON.stringify(snapshot.peak)}`,
      );
      expect(snapshot.items).toEqual({
        done: item('done'),
        failed: item('failed'),
        retried: item('retried'),
        abandoned: item('abandoned'),
        duplicate: item('duplicate'),
        interrupted: item('interrupted'),
      });
      expect(snapshot.bytesWritten).toBe(totals.bytes);
      // report.json carries the snapshot taken at the end of the run: the same counters as the scrape after it.
      const inReport = report.toJSON().metrics;
      expect(inReport.items).toEqual(snapshot.items);
      expect(inReport.failures).toEqual(snapshot.failures);
      expect(inReport.bytesWritten).toBe(sampleValue(after, 'pagepool_written_bytes_total'));
      expect(inReport.filesWritten).toBe(sampleValue(after, 'pagepool_files_written_total'));
      expect(inReport.relogins).toBe(sampleValue(after, 'pagepool_relogins_total'));
      expect(inReport.rateLimitHolds).toBe(sampleValue(after, 'pagepool_rate_limit_holds_total'));
      expect(inReport.peak).toEqual(snapshot.peak);
      expect(snapshot.peak.inFlight).toBeGreaterThanOrEqual(1);
      // Two stages: 4 pages plus the download stage (2 x 4 by default).
      expect(snapshot.peak.inFlight).toBeLessThanOrEqual(4 + 2 * 4);
      expect(snapshot.peak.oldestInFlightSeconds).toBeGreaterThan(0);
    } finally {
      await server.close();
      collector.dispose();
      await portal.close();
    }
  }, 240_000);
});
