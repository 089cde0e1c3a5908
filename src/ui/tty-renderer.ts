// TTY mode: a cli-progress MultiBar with one total bar and one line per page slot, redrawn 4 times a second.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { listingPart, refreshPart } from './progress-line.js';
import type { RunStats } from './run-stats.js';
import { formatClock, formatMbPerSec, toAscii } from './text-format.js';

export interface TtyRendererOptions {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  color: boolean;
  now: () => number;
  /** The total line shows the oldest attempt's age once it has run longer than this. */
  slowAfterMs: number;
}

const BAR_WIDTH = 24;
const KEY_WIDTH = 28;
const STAGE_WIDTH = 12;
// Show the cursor and re-enable line wrapping: what cli-progress changes while the bars are up.
const RESTORE_TERMINAL = '\x1B[?25h\x1B[?7h';
// Erase from the cursor to the end of the screen.
const CLEAR_BELOW = '\x1B[0J';

/** Draws the bars from `stats` on each frame; events only change `stats`, so drawing never lags the run. */
export class TtyRenderer {
  private multi: MultiBar | null = null;
  private readonly slotBars: SingleBar[] = [];
  private stopped = false;
  // If the process dies without stop(), the user's terminal must not keep a hidden cursor.
  private readonly onExit = (): void => {
    if (this.multi) this.options.out.write(RESTORE_TERMINAL);
  };

  constructor(
    private readonly stats: RunStats,
    private readonly options: TtyRendererOptions,
  ) {}

  /** Puts the bars up (once), with one line per known page slot. */
  start(): void {
    if (this.stopped) return;
    if (!this.multi) {
      this.multi = new MultiBar(
        {
          stream: this.options.out,
          fps: 4,
          hideCursor: true,
          clearOnComplete: true,
          // The CLI owns signals: it stops the run, which stops the UI.
          gracefulExit: false,
          // Every line on every frame: after lines are logged above the bars (below), a bar whose text had not
          // changed would otherwise stay erased.
          forceRedraw: true,
          autopadding: false,
          format: () => '',
        },
        Presets.legacy,
      );
      this.multi.create(1, 0, {}, { format: () => this.totalLine() });
      // cli-progress writes logged lines over the old bar lines after clearing only the first one, so a short
      // `FAILED ...` line kept the tail of the page row it landed on (`...HTTP 500ad      0s`) and rows doubled.
      // Erase everything below the cursor first: the lines and then the bars are drawn on a clean screen.
      const multi = this.multi as MultiBar & { loggingBuffer?: unknown[] };
      multi.on('redraw-pre', () => {
        if ((multi.loggingBuffer?.length ?? 0) > 0) this.options.out.write(CLEAR_BELOW);
      });
      process.once('exit', this.onExit);
    }
    this.syncSlots();
  }

  /** Adds lines for slots the stats learned about (a slot number past `concurrency`). */
  syncSlots(): void {
    const multi = this.multi;
    if (!multi || this.stopped) return;
    while (this.slotBars.length < this.stats.slots.length) {
      const index = this.slotBars.length;
      this.slotBars.push(multi.create(1, 0, {}, { format: () => this.slotLine(index) }));
    }
  }

  /**
   * A line above the bars. When stderr is this same terminal it goes through the bars' log (a raw write
   * would tear the drawing); when stderr is redirected it goes there, where the user asked for it.
   */
  notice(line: string, stream: 'out' | 'err', now = false): void {
    const target = stream === 'err' ? this.options.err : this.options.out;
    const sameTerminal = target === this.options.out || (target as { isTTY?: boolean }).isTTY === true;
    if (this.multi && sameTerminal) {
      this.multi.log(`${line}\n`);
      // A line the user waits for (Ctrl+C's) is drawn at once, not at the next frame.
      if (now) this.multi.update();
    } else target.write(`${line}\n`);
  }

  /** Clears the bars and restores the cursor; idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.off('exit', this.onExit);
    const multi = this.multi;
    this.multi = null;
    if (!multi) return;
    // Flush lines logged since the last frame before the bars are wiped.
    multi.update();
    multi.stop();
  }

  /** `[=====-----] 120/300 (| 2 saved, 8 updated, 110 unchanged in a refresh) | 9.8 items/s | 1.2 MB/s | ETA 00:18 | failed 2 | retrying 1 | pages 8/8 | downloads 5/16`, then `| oldest 95s` when slow. */
  totalLine(): string {
    const now = this.options.now();
    const s = this.stats;
    const total = s.total;
    const filled = total ? Math.round((Math.min(s.finished, total) / total) * BAR_WIDTH) : 0;
    const bar = `[${'='.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    const eta = s.etaMs(now);
    const failed = `failed ${s.failed}`;
    const retrying = `retrying ${s.retrying}`;
    const oldestMs = s.oldestInFlightMs(now);
    return [
      `${this.paint(bar, 'cyan')} ${this.paint(String(s.done), 'green')}/${total ?? '?'}`,
      ...(s.refreshing ? [refreshPart(s)] : []),
      `${s.itemsPerSec(now).toFixed(1)} items/s`,
      formatMbPerSec(s.bytesPerSec(now)),
      `ETA ${eta === null ? '--:--' : formatClock(eta)}`,
      s.failed > 0 ? this.paint(failed, 'red') : failed,
      s.retrying > 0 ? this.paint(retrying, 'yellow') : retrying,
      ...(oldestMs > this.options.slowAfterMs
        ? [this.paint(`oldest ${Math.floor(oldestMs / 1000)}s`, 'yellow')]
        : []),
      ...(s.uploading
        ? [`uploaded ${s.uploads.uploaded + s.uploads.skipped} (${formatMbPerSec(s.uploadBytesPerSec(now))})`]
        : []),
      ...(s.uploads.failed > 0 ? [this.paint(`upload failures ${s.uploads.failed}`, 'red')] : []),
      ...(s.listing && !s.listing.done ? [listingPart(s, 'listing ')] : []),
      // Both stages, when the run has two: pages busy, items downloading.
      ...(s.downloads > 0
        ? [`pages ${s.pagesBusy}/${s.concurrency}`, `downloads ${s.downloadsInFlight}/${s.downloads}`]
        : []),
    ].join(' | ');
  }

  /** `  page 3  S00017                        download      12s`, or `  page 3  idle`. */
  slotLine(index: number): string {
    const label = `  page ${String(index + 1).padStart(2)}  `;
    const slot = this.stats.slots[index];
    if (!slot) return `${label}${this.paint('idle', 'dim')}`;
    const seconds = Math.max(0, Math.floor((this.options.now() - slot.since) / 1000));
    const key = toAscii(slot.key, KEY_WIDTH).padEnd(KEY_WIDTH);
    const stage = toAscii(slot.stage, STAGE_WIDTH).padEnd(STAGE_WIDTH);
    return `${label}${key}  ${this.paint(stage, 'cyan')}  ${String(seconds).padStart(4)}s`;
  }

  private paint(text: string, color: 'red' | 'green' | 'yellow' | 'cyan' | 'dim'): string {
    if (!this.options.color) return text;
    const code = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2 }[color];
    return `\x1B[${code}m${text}\x1B[0m`;
  }
}
