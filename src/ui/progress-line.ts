// The one-line progress text shared by plain mode: `[00:12] 120/300 done (40.0%), 2 failed, ...`.
import type { RunStats } from './run-stats.js';
import { formatClock, formatMbPerSec, plural } from './text-format.js';

/**
 * `[00:12] 120/300 done (40.0%), 2 failed, 1 retrying, 9.8 items/s, 1.2 MB/s, ETA 00:18`, in a refresh
 * `120/300 done (40.0%: 2 saved, 8 updated, 110 unchanged)`, and while the listing goes on
 * `, listing: 3 pages, 75 items seen, 2 to pull`.
 */
export function formatProgressLine(stats: RunStats, now: number): string {
  const total = stats.total;
  const percent = total === null ? null : `${(total > 0 ? (100 * stats.done) / total : 100).toFixed(1)}%`;
  const refresh = stats.refreshing ? refreshPart(stats) : null;
  const detail = [percent, refresh].filter((p) => p !== null).join(': ');
  const done = `${stats.done}${total === null ? '' : `/${total}`} done${detail === '' ? '' : ` (${detail})`}`;
  const eta = stats.etaMs(now);
  return (
    `[${formatClock(stats.elapsedMs(now))}] ${done}, ${stats.failed} failed, ${stats.retrying} retrying, ` +
    `${stats.itemsPerSec(now).toFixed(1)} items/s, ${formatMbPerSec(stats.bytesPerSec(now))}, ` +
    `ETA ${eta === null ? '--:--' : formatClock(eta)}${listingPart(stats, ', listing: ')}`
  );
}

/** `2 saved, 8 updated, 110 unchanged`: what the done items of a refresh were. */
export function refreshPart(stats: RunStats): string {
  return `${stats.saved} saved, ${stats.updated} updated, ${stats.unchanged} unchanged`;
}

/**
 * `<prefix>3 pages, 75 items seen, 2 to pull` while the source is still being read (`--refs`: no pages); else ''.
 * "To pull", not "new": a refresh pulls done items again too.
 */
export function listingPart(stats: RunStats, prefix: string): string {
  const l = stats.listing;
  if (l === null || l.done) return '';
  const pages = l.pages === null ? '' : `${plural(l.pages, 'page')}, `;
  return `${prefix}${pages}${plural(l.seen, 'item')} seen, ${l.fresh} to pull`;
}
