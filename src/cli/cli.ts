// The `pagepool` command as a function: argv in, exit code out. Wires the parts; knows none of their insides.
import { EventEmitter } from 'node:events';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatStatus, readStatus, repairCheckpoint, startFresh } from '../checkpoint/checkpoint.js';
import { journalPathFor } from '../checkpoint/checkpoint-paths.js';
import { type Config, helpText, loadConfig } from '../config.js';
import { type Portal, startPortal } from '../demo/portal.js';
import { ConfigError, describe, PagepoolError, ShutdownError } from '../errors.js';
import { fleetCommand, fleetStatus } from '../fleet/fleet-commands.js';
import type { QueueSummary } from '../queue/task-queue.js';
import { listRefs, run } from '../run.js';
import type { RunEvents } from '../run-events.js';
import { initCommand } from '../sites/adapter-skeleton.js';
import { isBuiltInSite, loadSite } from '../sites/load-site.js';
import type { Credentials } from '../sites/site.js';
import { createUi, type UiOptions } from '../ui/create-ui.js';
import { RunReport } from '../ui/run-report.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'init') {
    try {
      process.stdout.write(await initCommand(argv.slice(1)));
      return EXIT.ok;
    } catch (err) {
      return fail(err);
    }
  }
  let config: Readonly<Config>;
  try {
    const parsed = loadConfig({ argv, isTTY: Boolean(process.stdout.isTTY) });
    if (parsed.help) {
      process.stdout.write(`${helpText()}\n`);
      return EXIT.ok;
    }
    config = parsed.config;
  } catch (err) {
    return fail(err);
  }

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // The journal is appended line by line and a torn last line is dropped on load: exiting now is safe.
      process.stderr.write(`pagepool: ${name} again, exiting now\n`);
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(
      `pagepool: ${name}: finishing items in flight (press Ctrl+C again to quit at once)\n`,
    );
    controller.abort(new ShutdownError(`stopped by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let portal: Portal | undefined;
  try {
    switch (config.command) {
      case 'status':
        return config.queue ? await fleetStatus(config) : await status(config);
      case 'repair': {
        const result = await repairCheckpoint(config.checkpoint);
        process.stdout.write(
          `Repaired ${config.checkpoint}: kept ${result.kept} records, set aside ${result.dropped}; the old journal is in ${result.backup}\n`,
        );
        return EXIT.ok;
      }
    }
    const site = await loadSite(config.site);
    let baseUrl = config.baseUrl;
    let defaults: Credentials = { username: '', password: '' };
    if (baseUrl === '' || baseUrl === 'demo') {
      if (baseUrl === '' && !isBuiltInSite(config.site))
        throw new ConfigError(`Missing \`--base-url\` (PAGEPOOL_BASE_URL) for site \`${config.site}\``);
      portal = await startPortal(config.demo);
      baseUrl = portal.url;
      defaults = { username: portal.options.username, password: portal.options.password };
      if (!config.quiet && config.command === 'run') process.stderr.write(`Demo portal on ${portal.url}\n`);
    }
    const credentials = {
      username: config.username || defaults.username,
      password: config.password || defaults.password,
    };
    if (site.login && (!credentials.username || !credentials.password)) {
      throw new ConfigError(
        'Missing credentials: set PAGEPOOL_USERNAME (or --username) and PAGEPOOL_PASSWORD',
      );
    }
    const common = {
      site,
      baseUrl,
      credentials,
      chromiumPath: config.chromiumPath,
      headed: config.headed,
      slowMoMs: config.slowMoMs,
      signal: controller.signal,
      max: config.max,
    };
    if (config.queue && config.command !== 'list') {
      const events = new EventEmitter<RunEvents>();
      const ui = createUi(events, uiOptions(config));
      try {
        return await fleetCommand({ config, site, baseUrl, credentials, signal: controller.signal, events });
      } finally {
        ui.stop();
      }
    }
    if (config.command === 'list') {
      for await (const ref of listRefs(common)) process.stdout.write(`${JSON.stringify(ref)}\n`);
      return controller.signal.aborted ? EXIT.interrupted : EXIT.ok;
    }

    await ensureWritable(config.out);
    if (config.fresh) {
      const backup = await startFresh(config.checkpoint, path.join(config.out, 'manifest.jsonl'));
      if (backup && !config.quiet)
        process.stderr.write(`Starting fresh; the old checkpoint is in ${backup}\n`);
    }
    const events = new EventEmitter<RunEvents>();
    const report = new RunReport(events);
    const ui = createUi(events, uiOptions(config));
    let summary: QueueSummary;
    try {
      summary = await run({
        ...common,
        out: config.out,
        checkpoint: config.checkpoint,
        concurrency: config.concurrency,
        taskTimeoutMs: config.taskTimeoutMs,
        retries: config.retries,
        rate: config.rate,
        refs: config.refs,
        retryFailed: config.retryFailed,
        trace: config.trace,
        block: config.block,
        recycleAfter: config.recycleAfter,
        fileIdleTimeoutMs: config.fileIdleTimeoutMs,
        diskMarginBytes: config.diskMarginBytes,
        events,
      });
    } finally {
      ui.stop();
      await report.write(path.join(path.dirname(config.checkpoint), 'report.json')).catch(() => {});
    }
    if (summary.reason === 'fatal') return fail(summary.error);
    if (summary.reason === 'interrupted') return EXIT.interrupted;
    return summary.failed > 0 ? EXIT.failed : EXIT.ok;
  } catch (err) {
    if (err instanceof ShutdownError || (controller.signal.aborted && !(err instanceof PagepoolError))) {
      return EXIT.interrupted;
    }
    return fail(err);
  } finally {
    await portal?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function uiOptions(config: Config): UiOptions {
  return {
    mode: config.quiet ? 'quiet' : process.stdout.isTTY ? 'tty' : 'plain',
    out: process.stdout,
    err: process.stderr,
    color: config.color,
  };
}

async function status(config: Config): Promise<number> {
  // A run killed before its first clean close has a journal but no snapshot yet: that is a checkpoint too.
  const exists = async (file: string) =>
    stat(file).then(
      () => true,
      () => false,
    );
  if (!(await exists(config.checkpoint)) && !(await exists(journalPathFor(config.checkpoint)))) {
    throw new ConfigError(
      `No checkpoint at ${config.checkpoint}: nothing has run with this output folder yet`,
    );
  }
  const summary = await readStatus(config.checkpoint);
  process.stdout.write(
    config.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatStatus(summary, config.checkpoint)}\n`,
  );
  return EXIT.ok;
}

async function ensureWritable(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    const { access, constants } = await import('node:fs/promises');
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError(`Cannot write to \`--out\` folder \`${dir}\`: ${describe(err)}`, { cause: err });
  }
}

/** One line on stderr; user errors exit 2, anything else 1. */
function fail(err: unknown): number {
  process.stderr.write(`pagepool: ${describe(err)}\n`);
  if (err instanceof PagepoolError) {
    return ['CONFIG', 'LOGIN_FAILED', 'CHECKPOINT_CORRUPT', 'NO_BROWSER'].includes(err.code)
      ? EXIT.usage
      : EXIT.failed;
  }
  return EXIT.failed;
}
