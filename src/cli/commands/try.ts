// `pagepool try [N]`: what an adapter author runs after each change. Pulls N items into a temporary folder, checks
// every file (size, sha256, that it opens as its type), prints a table of what was saved and what failed (with the
// failure snapshot to look at), and removes the folder: only failure snapshots are kept, and only when there are.

import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { safeKey } from '../../browser/failure-snapshot.js';
import { workerOptionsFrom } from '../../config.js';
import { ConfigError, EXIT_CODES } from '../../errors.js';
import { run } from '../../run.js';
import type { RunEvents } from '../../run-events.js';
import { formatBytes, formatDuration, toAscii } from '../../ui/text-format.js';
import type { CommandContext } from '../command-context.js';
import { EarlyBrowser } from '../early-browser.js';
import { checkSavedFile } from '../file-check.js';
import { openPortalSession } from '../portal-session.js';
import { showProgress } from '../progress-display.js';
import { checkRefsFile } from '../refs-check.js';
import { isInterrupt } from '../report-error.js';
import { SetupProgress } from '../setup-failure.js';

const DEFAULT_ITEMS = 10;
const MAX_ITEMS = 1000;

interface ManifestLine {
  key: string;
  path: string;
  bytes: number;
  sha256: string;
}

export default async function tryCommand(ctx: CommandContext): Promise<number> {
  const raw = ctx.config.args[0];
  const count = raw === undefined ? DEFAULT_ITEMS : /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(count >= 1 && count <= MAX_ITEMS)) {
    throw new ConfigError(
      `Expected N to be an integer from 1 to ${MAX_ITEMS}, got \`${raw}\`. See \`pagepool try --help\`.`,
    );
  }
  // Chromium boots while the site loads and the preflights run.
  return EarlyBrowser.around(ctx.config, (browser) => pullAndCheck(ctx, count, browser));
}

async function pullAndCheck(
  { config, signal, interrupts }: CommandContext,
  count: number,
  browser: EarlyBrowser,
): Promise<number> {
  const say = (line: string) => {
    if (!config.quiet) process.stdout.write(`${line}\n`);
  };
  const session = await openPortalSession(config, say);
  const out = await mkdtemp(path.join(os.tmpdir(), 'pagepool-try-'));
  const failuresDir = path.join(out, '.pagepool', 'failures');
  let keep = false;
  try {
    if (config.refs && config.refs !== '-') await checkRefsFile(session.site, config.refs);
    const events = new EventEmitter<RunEvents>();
    const failed = new Map<string, string>();
    events.on('task:failed', ({ key, reason }) => failed.set(key, reason));
    // A ref with no usable key (a selector that also matched a "download all" link): a row of its own.
    const badRefs: RunEvents['ref:bad'][0][] = [];
    events.on('ref:bad', (bad) => badRefs.push(bad));
    const progress = new SetupProgress(!session.site.login, events);
    const display = showProgress(events, config, interrupts);
    const started = performance.now();
    let reason: string;
    try {
      const summary = await run({
        site: session.site,
        baseUrl: session.baseUrl,
        credentials: session.credentials,
        // The saved session of --out (what `pagepool login` wrote), so a portal only a person can log in to can
        // be tried too; a login here renews it.
        ...session.sessions,
        ...workerOptionsFrom({ ...config, out }),
        browser: await browser.get(),
        checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
        refs: config.refs,
        max: count,
        signal,
        events,
      });
      if (summary.reason === 'fatal') throw summary.error;
      reason = summary.reason;
    } catch (err) {
      if (isInterrupt(err, signal)) return EXIT_CODES.interrupted;
      throw progress.explain(err, session.baseUrl);
    } finally {
      // The pool is closed: the browser goes while the files are checked.
      void browser.close();
      display.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const manifest = await readFile(path.join(out, 'manifest.jsonl'), 'utf8').catch(() => '');
    const lines = manifest
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ManifestLine);
    const rows: string[][] = [];
    let badFiles = 0;
    const savedKeys = new Set<string>();
    for (const line of lines) {
      savedKeys.add(line.key);
      const check = await checkSavedFile(path.join(out, line.path), line.bytes, line.sha256);
      if (!check.ok) badFiles += 1;
      rows.push([
        line.key,
        check.ok ? 'saved' : 'BAD FILE',
        `${line.path} (${formatBytes(line.bytes)})`,
        check.detail,
      ]);
    }
    for (const [key, why] of failed) {
      const snapshot = path.join(failuresDir, safeKey(key));
      rows.push([key, 'FAILED', toAscii(why), existsSync(snapshot) ? `snapshot: ${snapshot}` : '']);
    }
    for (const bad of badRefs)
      rows.push([toAscii(bad.ref), 'BAD REF', toAscii(bad.where), toAscii(bad.reason)]);
    const tried = savedKeys.size + failed.size;
    process.stdout.write(
      `${[
        `Tried ${tried} item${tried === 1 ? '' : 's'} of ${session.site.name} in ${formatDuration(seconds * 1000)}: ${savedKeys.size} saved (${lines.length - badFiles} of ${lines.length} files check out), ${failed.size} failed${reason === 'interrupted' ? ', interrupted' : ''}`,
        ...table(['item', 'result', 'file', 'check'], rows),
      ].join('\n')}\n`,
    );
    keep = failed.size > 0 && existsSync(failuresDir);
    // Said even with --quiet: it is where the answer to "why did it fail" is.
    if (keep) process.stdout.write(`Failure snapshots kept in ${failuresDir}; delete ${out} when done.\n`);
    const ok = failed.size === 0 && badFiles === 0 && badRefs.length === 0 && savedKeys.size > 0;
    return ok ? EXIT_CODES.ok : EXIT_CODES.failed;
  } finally {
    await session.close();
    if (keep) await removeAllBut(out, path.join(out, '.pagepool'), failuresDir);
    else await rm(out, { recursive: true, force: true });
  }
}

/** Removes everything in `out` but the failure snapshots. */
async function removeAllBut(out: string, pagepoolDir: string, keep: string): Promise<void> {
  for (const entry of await readdir(out)) {
    const full = path.join(out, entry);
    if (full !== pagepoolDir) await rm(full, { recursive: true, force: true });
  }
  for (const entry of await readdir(pagepoolDir)) {
    const full = path.join(pagepoolDir, entry);
    if (full !== keep) await rm(full, { recursive: true, force: true });
  }
}

function table(head: string[], rows: string[][]): string[] {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.min(48, Math.max(...all.map((r) => r[i]!.length))));
  return all.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`);
}
