// Plain-ASCII formatting of durations, clocks, byte counts and untrusted text for every UI mode.

/**
 * Makes untrusted text (item keys, error reasons, warnings) safe for one terminal line: accents are
 * dropped, whitespace runs become one space, and anything else outside printable ASCII becomes `?`.
 */
export function toAscii(text: string, maxLength = 200): string {
  const flat = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  // A reason can be a whole HTML page; one line must stay one line.
  return flat.length > maxLength ? `${flat.slice(0, Math.max(0, maxLength - 3))}...` : flat;
}

/** `ms` as a clock: `07:05`, or `1:02:03` past an hour. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${pad2(m)}:${pad2(s)}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** `ms` in words for the summary: `31.2 s`, `2 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  const safe = Math.max(0, ms);
  if (safe < 60_000) return `${(safe / 1000).toFixed(1)} s`;
  const total = Math.floor(safe / 1000);
  if (total < 3600) return `${Math.floor(total / 60)} min ${pad2(total % 60)} s`;
  return `${Math.floor(total / 3600)} h ${pad2(Math.floor((total % 3600) / 60))} min`;
}

/** Decimal units, as disks and download tools count: `412.5 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.max(0, Math.round(bytes))} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/** Always MB/s, so successive progress lines compare at a glance. */
export function formatMbPerSec(bytesPerSec: number): string {
  return `${(bytesPerSec / 1e6).toFixed(1)} MB/s`;
}

/** `1 item`, `2 items`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
