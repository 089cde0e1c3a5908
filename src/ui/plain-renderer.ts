// Plain mode (logs, CI, pipes): a progress line every interval or every 5% of the total, whichever first.
// The listing is lazy, so the total grows as items start; a 5% step is printed once, never again when a grown
// total pulls the percentage back (that printed a line per item at the start of every run).
import type { EventEmitter } from 'node:events';
import type { RunEvents } from '../run-events.js';
import { formatProgressLine } from './progress-line.js';
import type { RunStats } from './run-stats.js';

export interface PlainRendererOptions {
  out: NodeJS.WritableStream;
  intervalMs: number;
  now: () => number;
}

/** Writes progress lines to `out`; reads counters from `stats`, which must be subscribed first. */
export class PlainRenderer {
  private timer: NodeJS.Timeout | null = null;
  /** The highest 5% step a line was printed for, so each step prints once per run. */
  private lastStep = 0;
  private stopped = false;
  private readonly onFinished = (): void => this.checkStep();
  // Lines start with the run: before it (the login) there is nothing to count, and a `0 done` line would
  // come before the `Starting` line.
  private readonly onStart = (): void => this.schedule();

  constructor(
    private readonly events: EventEmitter<RunEvents>,
    private readonly stats: RunStats,
    private readonly options: PlainRendererOptions,
  ) {
    events.on('task:done', this.onFinished);
    events.on('task:failed', this.onFinished);
    events.on('run:start', this.onStart);
  }

  /** Prints the progress line now and restarts the interval. */
  printLine(): void {
    if (this.stopped) return;
    this.options.out.write(`${formatProgressLine(this.stats, this.options.now())}\n`);
    this.schedule();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.events.off('task:done', this.onFinished);
    this.events.off('task:failed', this.onFinished);
    this.events.off('run:start', this.onStart);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.printLine(), this.options.intervalMs);
    // The line timer alone must never keep a finished process alive.
    this.timer.unref();
  }

  private step(): number {
    const total = this.stats.total;
    return total ? Math.floor((this.stats.finished * 20) / total) : 0;
  }

  private checkStep(): void {
    const step = this.step();
    if (step > this.lastStep) {
      this.lastStep = step;
      this.printLine();
    }
  }
}
