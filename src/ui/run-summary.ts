// The one-paragraph summary in words printed when a run ends, in every mode but quiet.
import { describe } from '../errors.js';
import type { RunStats } from './run-stats.js';
import { formatBytes, formatDuration, plural, toAscii } from './text-format.js';

/**
 * E.g. `Done in 31.2 s: 298 of 300 items saved (412.5 MB), 2 failed, 5 retries, 1 re-login.`
 * followed, for a stopped run, by how many items are left and that running again resumes.
 */
export function formatSummary(stats: RunStats, now: number): string {
  const total = stats.total;
  const saved =
    total === null
      ? `${plural(stats.done, 'item')} saved`
      : `${stats.done} of ${plural(total, 'item')} saved`;
  const parts = [`${saved} (${formatBytes(stats.bytes)})`];
  if (stats.failed > 0) {
    const permanent =
      stats.permanent > 0 && stats.permanent < stats.failed ? ` (${stats.permanent} permanent)` : '';
    parts.push(`${stats.failed} failed${permanent}`);
  }
  if (stats.retries > 0) parts.push(plural(stats.retries, 'retry', 'retries'));
  if (stats.relogins > 0) parts.push(plural(stats.relogins, 're-login'));
  if (stats.abandoned > 0) parts.push(`${plural(stats.abandoned, 'stuck task')} restarted`);
  if (stats.skipped > 0) parts.push(`${stats.skipped} skipped (done in an earlier run)`);
  if (stats.duplicates > 0) parts.push(`${plural(stats.duplicates, 'duplicate key')} ignored`);

  const duration = formatDuration(stats.elapsedMs(now));
  const head = stats.reason === 'fatal' ? `Stopped after ${duration}` : `Done in ${duration}`;
  let text = `${head}: ${parts.join(', ')}.`;

  const pending = stats.pending();
  const left = pending > 0 ? ` ${plural(pending, 'item')} left pending; run again to resume.` : '';
  if (stats.reason === 'interrupted') {
    text += ` Interrupted:${left || ' nothing left pending.'}`;
  } else if (stats.reason === 'fatal') {
    const cause =
      stats.error === undefined ? 'unknown error' : toAscii(describe(stats.error)).replace(/\.+$/, '');
    text += ` Error: ${cause}.${left}`;
  }
  return text;
}
