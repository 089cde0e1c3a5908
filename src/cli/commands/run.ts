// `pagepool run`: one pull on this machine (or, with --queue, this machine's share of a fleet's).
// Everything that can be checked before the first item is checked before anything is created in --out.
import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { readStatus, startFresh } from '../../checkpoint/checkpoint.js';
import { CheckpointLock } from '../../checkpoint/checkpoint-lock.js';
import { workerOptionsFrom } from '../../config.js';
import { EXIT_CODES } from '../../errors.js';
import { type RunSummary, run } from '../../run.js';
import type { RunEvents } from '../../run-events.js';
import { RunReport } from '../../ui/run-report.js';
import { formatNothingToDo } from '../../ui/run-summary.js';
import type { CommandContext } from '../command-context.js';
import { EarlyBrowser } from '../early-browser.js';
import { fleetPull } from '../fleet-pull.js';
import { ensureCreatable, missingFolders } from '../out-folder.js';
import { openPortalSession } from '../portal-session.js';
import { showProgress } from '../progress-display.js';
import { openPullServices } from '../pull-services.js';
import { checkRefsFile } from '../refs-check.js';
import { isInterrupt } from '../report-error.js';
import { SetupProgress } from '../setup-failure.js';

export default async function runCommand(ctx: CommandContext): Promise<number> {
  if (ctx.config.queue) return fleetPull(ctx);
  // Chromium boots while the folders, the lock, the site and the preflights are checked.
  return EarlyBrowser.around(ctx.config, (browser) => pull(ctx, browser));
}

async function pull({ config, signal, interrupts }: CommandContext, browser: EarlyBrowser): Promise<number> {
  const checkpointDir = path.dirname(config.checkpoint);
  await ensureCreatable('--out', config.out, config.out);
  await ensureCreatable('--checkpoint', config.checkpoint, checkpointDir);
  // A notice, not an error: stderr carries only errors, so a failed run's stderr is its one line.
  const say = (line: string) => {
    if (!config.quiet) process.stdout.write(`${line}\n`);
  };
  // The lock is the first thing made in --out; what it had to create goes again if the run never starts.
  const created = [
    ...new Set([...(await missingFolders(config.out)), ...(await missingFolders(checkpointDir))]),
  ];
  await mkdir(checkpointDir, { recursive: true });
  let lock: CheckpointLock | null = null;
  let progress: SetupProgress | null = null;
  try {
    lock = await CheckpointLock.acquire(config.checkpoint, 'run');
    const services = await openPullServices(config, signal, say);
    try {
      const session = await openPortalSession(config, say);
      try {
        if (config.refs && config.refs !== '-') await checkRefsFile(session.site, config.refs);
        if (config.fresh) {
          const backup = await startFresh(config.checkpoint, path.join(config.out, 'manifest.jsonl'));
          if (backup && !config.quiet)
            process.stderr.write(`Starting fresh; the old checkpoint is in ${backup}\n`);
        }
        const { events } = services;
        progress = new SetupProgress(!session.site.login, events);
        const report = new RunReport(events, { metrics: services.collector });
        const display = showProgress(events, config, interrupts);
        // What the source showed and what it could not use, for the "nothing to do" line and the report.
        let listed: RunEvents['list:progress'][0] | null = null;
        let badRefs = 0;
        events.on('list:progress', (shown) => {
          listed = shown;
        });
        events.on('ref:bad', () => {
          badRefs += 1;
        });
        let gone: string[] | null = null;
        events.on('list:gone', ({ keys }) => {
          gone = keys;
        });
        let summary: RunSummary;
        try {
          summary = await run({
            site: session.site,
            baseUrl: session.baseUrl,
            credentials: session.credentials,
            ...session.sessions,
            ...workerOptionsFrom(config),
            browser: await browser.get(),
            signal,
            max: config.max,
            checkpoint: config.checkpoint,
            refs: config.refs,
            retryFailed: config.retryFailed,
            refreshAfterMs: config.refreshAfter,
            upload: services.upload,
            events,
          });
        } catch (err) {
          if (isInterrupt(err, signal)) return EXIT_CODES.interrupted;
          throw progress.explain(err, session.baseUrl);
        } finally {
          // The pool and the checkpoint are closed: the browser goes while the report is written.
          void browser.close();
          display.stop();
          // Only a run that tried something (or skipped a bad ref) has something to report: a run with nothing to do
          // (or that never got to its first item) leaves the last report as it was.
          if (progress.started || badRefs > 0) {
            await report.write(path.join(checkpointDir, 'report.json')).catch(() => {});
          }
        }
        if (summary.reason === 'fatal') throw progress.explain(summary.error, session.baseUrl);
        if (summary.reason === 'interrupted') return EXIT_CODES.interrupted;
        if (!progress.started && summary.pending.length === 0 && !config.quiet) {
          // Nothing was left to try: say so with what the checkpoint holds, not "0 items saved".
          const held = await readStatus(config.checkpoint);
          say(formatNothingToDo({ done: held.done, failedPermanently: held.failed, listed, badRefs, gone }));
        }
        return summary.failed > 0 || summary.badRefs > 0 ? EXIT_CODES.failed : EXIT_CODES.ok;
      } finally {
        await session.close();
      }
    } finally {
      await services.close();
    }
  } finally {
    await lock?.release();
    // Stopped before the first item: the folders made for the lock go again, so --out is as it was.
    if (!progress?.started) {
      for (const dir of created.reverse()) await rmdir(dir).catch(() => {});
    }
  }
}
