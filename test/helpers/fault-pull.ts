// One pull of the demo vehicles against a faulty demo portal, in process, with every number the fault tests
// and scripts/fault-run.ts check or print: per-item attempts, retries, re-logins, abandons and the portal's stats.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type PortalOptions, type PortalStats, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import type { QueueSummary } from '../../src/queue/task-queue.js';
import { type RunOptions, run } from '../../src/run.js';
import type { RunEvents } from '../../src/run-events.js';
import demoVehicles, { type VehicleRef } from '../../src/sites/demo-vehicles.js';
import { leftoverFiles } from './child-pull.js';

export interface FaultPullOptions {
  portal: Partial<PortalOptions>;
  /** Output folder (the test's temp dir). */
  out: string;
  run?: Partial<RunOptions<VehicleRef>>;
  browser?: Browser;
}

export interface FaultPullResult {
  summary: QueueSummary;
  /** The portal's `/_stats`, read over HTTP after the run. */
  stats: PortalStats;
  /** Attempts started per item key ('task:start' events). */
  attempts: Map<string, number>;
  /** Logins the engine reported ('login' events: the first one and every re-login). */
  logins: number;
  /** 'warning' events (a re-login while listing, a slow page close). */
  warnings: string[];
  /** Pages items read through job.http / job.read ('page:read' events), in order: key and which way. */
  reads: Array<{ key: string; via: 'http' | 'page' }>;
  /** 429 holds the run began ('backoff' events). */
  holds: number;
  /** Final failures ('task:failed' events): key, attempt and reason. */
  failures: Array<{ key: string; attempt: number; reason: string }>;
  /** Why attempts were retried or failed: reason (item keys and ports blanked) -> count. */
  reasons: Map<string, number>;
  /** Items whose file the portal served from byte 0 more than once: a download restarted instead of resuming. */
  restartedFiles: string[];
  /** Vehicles whose PDF on disk is missing or differs from what the portal serves (`stickerPdf`, padded). */
  badFiles: string[];
  /** `.part`, `.part.json` and `.tmp` files left under the output folder. */
  leftovers: string[];
  wallMs: number;
}

/** Starts the portal, pulls every vehicle with `run()`, checks the files, reads `/_stats`, closes the portal. */
export async function faultPull(options: FaultPullOptions): Promise<FaultPullResult> {
  const portal = await startPortal(options.portal);
  try {
    const events = new EventEmitter<RunEvents>();
    const attempts = new Map<string, number>();
    let logins = 0;
    const warnings: string[] = [];
    events.on('warning', ({ message }) => warnings.push(message));
    const failures: FaultPullResult['failures'] = [];
    const reasons = new Map<string, number>();
    const tally = (reason: string) => {
      const general = reason.replace(/S\d{5}/g, 'S…').replace(/:\d+\//g, ':…/');
      reasons.set(general, (reasons.get(general) ?? 0) + 1);
    };
    events.on('task:retry', ({ reason }) => tally(reason));
    events.on('task:failed', ({ key, attempt, reason }) => {
      failures.push({ key, attempt, reason });
      tally(reason);
    });
    events.on('task:start', ({ key }) => attempts.set(key, (attempts.get(key) ?? 0) + 1));
    const reads: FaultPullResult['reads'] = [];
    events.on('page:read', ({ key, via }) => reads.push({ key, via }));
    let holds = 0;
    events.on('backoff', () => {
      holds += 1;
    });
    events.on('login', () => {
      logins += 1;
    });
    const started = performance.now();
    const summary = await run({
      site: demoVehicles,
      baseUrl: portal.url,
      credentials: { username: portal.options.username, password: portal.options.password },
      out: options.out,
      checkpoint: path.join(options.out, '.pagepool', 'checkpoint.json'),
      events,
      ...(options.browser ? { browser: options.browser } : {}),
      ...options.run,
    });
    const wallMs = performance.now() - started;
    const stats = (await (await fetch(`${portal.url}/_stats`)).json()) as PortalStats;
    const badFiles: string[] = [];
    for (const vehicle of makeVehicles(portal.options.vehicles, portal.options.seed)) {
      const file = path.join(options.out, 'demo', `${vehicle.stock}-window-sticker.pdf`);
      const bytes = await readFile(file).catch(() => null);
      if (!bytes?.equals(stickerPdf(vehicle, portal.options.stickerPadBytes))) badFiles.push(vehicle.stock);
    }
    return {
      summary,
      stats,
      attempts,
      logins,
      warnings,
      reads,
      holds,
      failures,
      reasons,
      restartedFiles: Object.keys(stats.filesFromZero).filter((key) => (stats.filesFromZero[key] ?? 0) > 1),
      badFiles,
      leftovers: await leftoverFiles(options.out),
      wallMs,
    };
  } finally {
    await portal.close();
  }
}
