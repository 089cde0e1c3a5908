// The `pagepool` command as a function: argv in, exit code out. Wires the parts; knows none of their insides.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatStatus, readStatus, repairCheckpoint, startFresh } from '../checkpoint/checkpoint.js';
import { journalPathFor } from '../checkpoint/checkpoint-paths.js';
import { type Config, helpText, loadConfig, uploadSettingsFrom, workerOptionsFrom } from '../config.js';
import { type Portal, portalOptionsFromEnv, startPortal } from '../demo/portal.js';
import type { UploadStep } from '../engine/upload-step.js';
import {
  ConfigError,
  DiskFullError,
  describe,
  EXIT_CODES,
  exitCodeOf,
  NoItemsError,
  PagepoolError,
  SetupError,
  ShutdownError,
} from '../errors.js';
import { diskFullError } from '../files/disk-space.js';
import { machineId } from '../fleet/fleet-options.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { type MetricsServer, openMetricsServer } from '../metrics/metrics-server.js';
import { checkProxy } from '../proxy/proxy-check.js';
import type { QueueSummary } from '../queue/task-queue.js';
import { listRefs, run } from '../run.js';
import type { RunEvents } from '../run-events.js';
import { loginCommand } from '../sessions/login-command.js';
import { formatSessionStatus, sessionFileInfo } from '../sessions/session-file.js';
import { sessionSettingsFrom } from '../sessions/session-settings.js';
import { initCommand } from '../sites/adapter-skeleton.js';
import { isBuiltInSite, loadSite } from '../sites/load-site.js';
import type { Credentials } from '../sites/site.js';
import { createUi, type UiOptions } from '../ui/create-ui.js';
import { RunReport } from '../ui/run-report.js';
import { formatNothingToDo } from '../ui/run-summary.js';

const EXIT = EXIT_CODES;

export async function main(argv: string[]): Promise<number> {
  // `--version`, `-v` and `-h` stand alone: nothing else on the line matters once one is there (before `--`).
  const options = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (options.includes('--version') || options.includes('-v')) {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (argv[0] === 'init' && !options.includes('-h') && !options.includes('--help')) {
    try {
      process.stdout.write(await initCommand(argv.slice(1)));
      return EXIT.ok;
    } catch (err) {
      return fail(err);
    }
  }
  let config: Readonly<Config>;
  try {
    const parsed = loadConfig({
      argv: options.includes('-h') ? ['--help'] : argv,
      isTTY: Boolean(process.stdout.isTTY),
    });
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
  let metrics: MetricsServer | null = null;
  let collector: MetricsCollector | null = null;
  let upload: UploadStep | null = null;
  try {
    switch (config.command) {
      case 'status':
        return config.queue ? await (await fleetModule()).fleetStatus(config) : await status(config);
      case 'repair': {
        const result = await repairCheckpoint(config.checkpoint);
        process.stdout.write(
          `Repaired ${config.checkpoint}: kept ${result.kept} records, set aside ${result.dropped}; the old journal is in ${result.backup}\n`,
        );
        return EXIT.ok;
      }
    }
    if (config.command === 'run' || config.command === 'work') {
      // Before anything starts (the demo portal, a browser): a folder we cannot create is a setting to fix.
      await ensureCreatable('--out', config.out, config.out);
      if (!config.queue)
        await ensureCreatable('--checkpoint', config.checkpoint, path.dirname(config.checkpoint));
    }
    const events = new EventEmitter<RunEvents>();
    if (config.command === 'run' || config.command === 'work') {
      // Always: report.json carries its snapshot. Each fleet process is named like its jobs' outcomes.
      collector = new MetricsCollector(events, config.queue ? { worker: machineId() } : {});
      // Before the site, the portal and the browser: a port in use is one line and exit 2, with nothing started.
      metrics = await openMetrics(config, collector);
    }
    const uploadSettings = uploadSettingsFrom(config);
    if (uploadSettings && (config.command === 'run' || config.command === 'work')) {
      // Before the portal and the browser: a bucket we cannot write to stops the run with nothing pulled.
      // Loaded only for an upload: the AWS SDK is ~25 MB of a process that does not need it otherwise.
      const { openUploadStep } = await import('../engine/upload-step.js');
      upload = await openUploadStep({
        ...uploadSettings,
        outDir: config.out,
        events,
        signal: controller.signal,
      });
    }
    const site = await loadSite(config.site);
    let baseUrl = config.baseUrl;
    let defaults: Credentials = { username: '', password: '', totpSecret: '' };
    if (baseUrl === '' || baseUrl === 'demo') {
      if (baseUrl === '' && !isBuiltInSite(config.site))
        throw new ConfigError(`Missing \`--base-url\` (PAGEPOOL_BASE_URL) for site \`${config.site}\``);
      portal = await startPortal(demoPortalOptions(config));
      baseUrl = portal.url;
      defaults = {
        username: portal.options.username,
        password: portal.options.password,
        totpSecret: portal.options.totpSecret,
      };
      // A notice, not an error: stderr carries only errors, so a failed run's stderr is its one line.
      if (!config.quiet && config.command === 'run') process.stdout.write(`Demo portal on ${portal.url}\n`);
    }
    const credentials = {
      username: config.username || defaults.username,
      password: config.password || defaults.password,
      totpSecret: config.totpSecret || (defaults.totpSecret ?? ''),
    };
    // Issue 24: the saved session, the proxy, and `pagepool login` (src/sessions/).
    const sessions = sessionSettingsFrom(config, { embeddedPortal: portal !== undefined });
    if (site.login === 'manual' && !site.loggedOut) {
      throw new ConfigError(
        `Site ${site.name} logs in by hand (login: 'manual') but has no loggedOut(page): add it, so pagepool can tell a working session from an expired one`,
      );
    }
    const byHand = site.login === 'manual' || (config.command === 'login' && config.headed);
    if (typeof site.login === 'function' && !byHand && (!credentials.username || !credentials.password)) {
      // A saved session stands in for them until it expires (a fleet machine given only the session file).
      const saved = config.command !== 'login' && sessions.sessionFile !== null;
      if (!saved || !(await sessionFileInfo(sessions.sessionFile!)).saved) {
        throw new ConfigError(
          'Missing credentials: set PAGEPOOL_USERNAME (or --username) and PAGEPOOL_PASSWORD',
        );
      }
    }
    // Before the browser: an unreachable proxy or a refused proxy password names the proxy, not the portal.
    if (sessions.proxy) await checkProxy(sessions.proxy);
    if (config.command === 'login') {
      if (sessions.sessionFile === null) {
        throw new ConfigError(
          '`pagepool login` needs a real portal (`--base-url`): the embedded demo portal forgets its sessions when the command ends',
        );
      }
      await ensureCreatable('--session', sessions.sessionFile, path.dirname(sessions.sessionFile));
      try {
        await loginCommand({
          site,
          baseUrl,
          credentials,
          file: sessions.sessionFile,
          proxy: sessions.proxy,
          byHand,
          chromiumPath: config.chromiumPath,
          slowMoMs: config.slowMoMs,
          signal: controller.signal,
          say: (line) => process.stdout.write(`${line}\n`),
        });
      } catch (err) {
        if (isInterrupt(err, controller.signal)) return EXIT.interrupted;
        return fail(setupFailure(err, baseUrl, 'login'), config);
      }
      return EXIT.ok;
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
      ...sessions,
    };
    // Whatever fails before the first item starts is a setup failure: exit 2, and a line that says what to fix.
    // `list` and `enqueue` log in and list without events: there the failing phase is not known.
    const progress = {
      // A site without login() is past the login phase from the start (the pool emits no 'login' for it).
      loggedIn: !site.login,
      started: false,
      phaseKnown: config.command === 'run' || config.command === 'work',
    };
    const track = (events: EventEmitter<RunEvents>) => {
      events.once('login', () => {
        progress.loggedIn = true;
      });
      events.once('session:restored', () => {
        progress.loggedIn = true;
      });
      events.once('task:start', () => {
        progress.started = true;
      });
    };
    const stopped = (err: unknown): number =>
      fail(
        progress.started
          ? err
          : setupFailure(
              err,
              baseUrl,
              progress.phaseKnown ? (progress.loggedIn ? 'listing' : 'login') : null,
            ),
        config,
      );
    if (config.queue && config.command !== 'list') {
      track(events);
      const ui = createUi(events, uiOptions(config));
      try {
        const { fleetCommand } = await fleetModule();
        return await fleetCommand({
          config,
          site,
          baseUrl,
          credentials,
          sessions,
          signal: controller.signal,
          events,
          upload,
        });
      } catch (err) {
        if (isInterrupt(err, controller.signal)) return EXIT.interrupted;
        return stopped(err);
      } finally {
        ui.stop();
      }
    }
    if (config.command === 'list') {
      try {
        for await (const ref of listRefs(common)) {
          progress.started = true;
          process.stdout.write(`${JSON.stringify(ref)}\n`);
        }
      } catch (err) {
        if (isInterrupt(err, controller.signal)) return EXIT.interrupted;
        return stopped(err);
      }
      return controller.signal.aborted ? EXIT.interrupted : EXIT.ok;
    }

    if (config.fresh) {
      const backup = await startFresh(config.checkpoint, path.join(config.out, 'manifest.jsonl'));
      if (backup && !config.quiet)
        process.stderr.write(`Starting fresh; the old checkpoint is in ${backup}\n`);
    }
    track(events);
    const report = new RunReport(events, collector ? { metrics: collector } : {});
    const ui = createUi(events, uiOptions(config));
    let summary: QueueSummary;
    try {
      summary = await run({
        ...common,
        ...workerOptionsFrom(config),
        checkpoint: config.checkpoint,
        refs: config.refs,
        retryFailed: config.retryFailed,
        upload,
        events,
      });
    } catch (err) {
      if (isInterrupt(err, controller.signal)) return EXIT.interrupted;
      return stopped(err);
    } finally {
      ui.stop();
      // A run that never logged in has nothing to report; writing one would leave a file in --out.
      if (progress.loggedIn) {
        await report.write(path.join(path.dirname(config.checkpoint), 'report.json')).catch(() => {});
      }
    }
    if (summary.reason === 'fatal') return stopped(summary.error);
    if (summary.reason === 'interrupted') return EXIT.interrupted;
    if (!progress.started && summary.pending.length === 0 && !config.quiet) {
      // Nothing was left to try: say so with what the checkpoint holds, not "0 items saved".
      const held = await readStatus(config.checkpoint);
      process.stdout.write(`${formatNothingToDo({ done: held.done, failedPermanently: held.failed })}\n`);
    }
    return summary.failed > 0 ? EXIT.failed : EXIT.ok;
  } catch (err) {
    if (isInterrupt(err, controller.signal)) return EXIT.interrupted;
    return fail(err, config);
  } finally {
    upload?.close();
    await metrics?.close();
    collector?.dispose();
    await portal?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `--metrics-port`: the collector's /metrics endpoint, or null when the setting is off. */
/** The fleet's commands, loaded only when `--queue` is given (BullMQ and ioredis are ~25 MB of memory). */
function fleetModule(): Promise<typeof import('../fleet/fleet-commands.js')> {
  return import('../fleet/fleet-commands.js');
}

async function openMetrics(config: Config, collector: MetricsCollector): Promise<MetricsServer | null> {
  if (config.metricsPort === null) return null;
  const server = await openMetricsServer({
    registry: collector.registry,
    port: config.metricsPort,
    host: config.metricsHost,
  });
  // A notice on stdout, like the demo portal's: stderr carries only errors.
  if (!config.quiet) process.stdout.write(`Metrics on ${server.url}\n`);
  return server;
}

function uiOptions(config: Config): UiOptions {
  return {
    mode: config.quiet ? 'quiet' : process.stdout.isTTY ? 'tty' : 'plain',
    out: process.stdout,
    err: process.stderr,
    color: config.color,
    slowAfterMs: slowAfterMs(config),
  };
}

/** An item in flight longer than its page timeout (or its whole deadline, if shorter) is shown by the TTY display. */
function slowAfterMs(config: Config): number {
  return Math.min(config.taskTimeoutMs, config.pageTimeoutMs);
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
  // Only whether a session is saved and when: it is a credential.
  const sessionFile = sessionSettingsFrom(config, { embeddedPortal: false }).sessionFile!;
  const session = await sessionFileInfo(sessionFile);
  process.stdout.write(
    config.json
      ? `${JSON.stringify({ ...summary, session: { saved: session.saved, ...(session.savedAt ? { savedAt: session.savedAt.toISOString() } : {}) } }, null, 2)}\n`
      : `${formatStatus(summary, config.checkpoint)}\n${formatSessionStatus(sessionFile, session)}\n`,
  );
  return EXIT.ok;
}

function isInterrupt(err: unknown, signal: AbortSignal): boolean {
  return err instanceof ShutdownError || (signal.aborted && !(err instanceof PagepoolError));
}

/** The demo portal's DEMO_* variables, checked by the demo's own parser; a bad one is a config error. */
function demoPortalOptions(config: Readonly<Config>) {
  try {
    return portalOptionsFromEnv(config.demoEnv);
  } catch (err) {
    throw new ConfigError(describe(err), { cause: err });
  }
}

/** The version in package.json, read at run time: dist/ and an installed package both sit two levels below it. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * Checks that `dir` exists as a writable folder or can be created, without creating anything: a run that stops
 * at the login must leave nothing behind.
 */
async function ensureCreatable(flag: string, target: string, dir: string): Promise<void> {
  let existing = dir;
  for (;;) {
    const info = await stat(existing).catch(() => undefined);
    if (info) {
      if (!info.isDirectory()) {
        throw new ConfigError(
          `Cannot create \`${flag}\` \`${target}\`: \`${existing}\` is a file, not a folder; choose another \`${flag}\``,
        );
      }
      break;
    }
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw new ConfigError(
      `Cannot create \`${flag}\` \`${target}\`: no permission to write in \`${existing}\`; choose another \`${flag}\``,
    );
  }
}

const UNREACHABLE =
  /net::(ERR_CONNECTION_REFUSED|ERR_NAME_NOT_RESOLVED|ERR_ADDRESS_UNREACHABLE|ERR_CONNECTION_TIMED_OUT|ERR_CONNECTION_RESET|ERR_INTERNET_DISCONNECTED|ERR_TIMED_OUT|ERR_UNSAFE_PORT)/;

/** An error that ended the command before any item started, as the one line that says what to fix. */
function setupFailure(err: unknown, baseUrl: string, phase: 'login' | 'listing' | null): unknown {
  // An empty listing is its own answer (NO_ITEMS, exit 1), not a setup failure.
  if (exitCodeOf(err) !== EXIT.failed || (err instanceof PagepoolError && err.code === 'NO_ITEMS'))
    return err;
  const text = describe(err);
  const net = UNREACHABLE.exec(text);
  if (net) {
    return new SetupError(
      `Cannot reach the portal at ${baseUrl} (${net[1]}): check \`--base-url\` and that the portal is up`,
      { cause: err },
    );
  }
  const advice = {
    login: `The login failed: ${text} (check the adapter's login() and the credentials)`,
    listing: `Listing the items failed before any item started: ${text} (check the adapter's list())`,
    unknown: `The login or the listing failed: ${text} (check the adapter's login() and list(), and the credentials)`,
  }[phase ?? 'unknown'];
  // A listing that fails before its first item produced no items (issue 16: exit 1, like an empty listing).
  if (phase === 'listing') return new NoItemsError(advice, { cause: err });
  return new SetupError(advice, { cause: err });
}

/** One line on stderr; the exit code comes from exitCodeOf. */
function fail(err: unknown, config?: Readonly<Config>): number {
  // A raw ENOSPC (a checkpoint write, say) gets the same one line as a margin stop, never the errno text.
  const shown =
    exitCodeOf(err) === EXIT.diskSpace && !(err instanceof DiskFullError) && config
      ? diskFullError(config.out, config.diskMarginBytes, undefined, err)
      : err;
  process.stderr.write(`pagepool: ${describe(shown)}\n`);
  return exitCodeOf(shown);
}
