// The one-line progress text shared by plain mode: `[00:12] 120/300 done (40.0%), 2 failed, ...`.
import type { RunStats } from './run-stats.js';
import { formatClock, formatMbPerSec, plural } from './text-format.js';

/**
 * `[00:12] 120/300 done (40.0%), 2 failed, 1 retrying, 9.8 items/s, 1.2 MB/s, ETA 00:18`, and while the listing
 * goes on `, listing: 3 pages, 75 items seen, 0 new`.
 */
export function formatProgressLine(stats: RunStats, now: number): string {
  const total = stats.total;
  const done =
    total === null
      ? `${stats.done} done`
      : `${stats.done}/${total} done (${(total > 0 ? (100 * stats.done) / total : 100).toFixed(1)}%)`;
  const eta = stats.etaMs(now);
  return (
    `[${formatClock(stats.elapsedMs(now))}] ${done}, ${stats.failed} failed, ${stats.retrying} retrying, ` +
    `${stats.itemsPerSec(now).toFixed(1)} items/s, ${formatMbPerSec(stats.bytesPerSec(now))}, ` +
    `ETA ${eta === null ? '--:--' : formatClock(eta)}${listingPart(stats, ', listing: ')}`
  );
}

/** `<prefix>3 pages, 75 items seen, 0 new` while the source is still being read (`--refs`: no pages); else ''. */
export function listingPart(stats: RunStats, prefix: string): string {
  const l = stats.listing;
  if (l === null || l.done) return '';
  const pages = l.pages === null ? '' : `${plural(l.pages, 'page')}, `;
  return `${prefix}${pages}${plural(l.seen, 'item')} seen, ${l.fresh} new`;
}
