// Picks the run's user interface (TTY bars, plain lines or quiet) and wires it to the run's events.
import type { EventEmitter } from 'node:events';
import type { RunEvents } from '../run-events.js';
import { PlainRenderer } from './plain-renderer.js';
import { RunStats } from './run-stats.js';
import { formatSummary } from './run-summary.js';
import { formatDuration, plural, toAscii } from './text-format.js';
import { TtyRenderer } from './tty-renderer.js';

export type UiMode = 'tty' | 'plain' | 'quiet';

export interface UiOptions {
  /** `tty` when stdout is a TTY and not --quiet, `plain` otherwise, `quiet` for --quiet: the caller decides. */
  mode: UiMode;
  /** Progress bars, plain lines and the final summary (stdout). */
  out: NodeJS.WritableStream;
  /** Failures and warnings (stderr). */
  err: NodeJS.WritableStream;
  /** ANSI colors in TTY mode; false when NO_COLOR is set or the output is not a TTY (caller decides). */
  color: boolean;
  /**
   * How often plain mode prints a progress line (it also prints one at each 5% of the total).
   * @default 5000
   */
  plainIntervalMs?: number;
  /**
   * The TTY display shows the oldest item in flight once it has run longer than this (the page timeout).
   * @default 30000
   */
  slowAfterMs?: number;
  /**
   * The clock, for tests.
   * @default Date.now
   */
  now?: () => number;
}

export interface Ui {
  /** A line for the user now (on stderr), drawn above the bars when they are up rather than under them. */
  notice(line: string): void;
  /** Stops timers and bars and leaves the terminal clean; idempotent. */
  stop(): void;
}

const MODES: readonly UiMode[] = ['tty', 'plain', 'quiet'];

/**
 * Listens to a run's events and shows them. On 'run:end' it takes its bars down and prints the summary (in quiet
 * mode only when the run did not end with every item done); failures and warnings always reach `err`.
 */
export function createUi(events: EventEmitter<RunEvents>, options: UiOptions): Ui {
  const {
    mode,
    out,
    err,
    color,
    plainIntervalMs = 5000,
    slowAfterMs = 30_000,
    now = Date.now,
  } = validate(options);
  // Registered first, so every renderer below reads counters that already include the event.
  const stats = new RunStats(events, now);
  const tty = mode === 'tty' ? new TtyRenderer(stats, { out, err, color, now, slowAfterMs }) : null;
  const plain =
    mode === 'plain' ? new PlainRenderer(events, stats, { out, intervalMs: plainIntervalMs, now }) : null;

  const toErr = (line: string, now = false): void => {
    if (tty) tty.notice(line, 'err', now);
    else err.write(`${line}\n`);
  };
  const toOut = (line: string): void => {
    if (tty) tty.notice(line, 'out');
    else if (plain) out.write(`${line}\n`);
  };

  let started = false;
  /** The end of the last rate-limit hold a line was printed for. */
  let announcedUntil = 0;
  const listeners: { [E in keyof RunEvents]?: (...args: RunEvents[E]) => void } = {
    'run:start': ({ site, concurrency, total, skipped }) => {
      if (plain) {
        const items = total === null ? 'item count not known yet' : `${total} items`;
        const skip = skipped > 0 ? `, ${skipped} already done (skipped)` : '';
        toOut(`Starting ${toAscii(site)}: ${items}, ${plural(concurrency, 'page')}${skip}`);
      }
      tty?.syncSlots();
    },
    'task:stage': () => {
      // A slot number past the announced pool size needs its own line.
      tty?.syncSlots();
    },
    'task:failed': ({ key, reason }) => toErr(`FAILED ${toAscii(key)}: ${toAscii(reason)}`),
    warning: ({ message }) => toErr(`WARNING: ${toAscii(message)}`),
    backoff: ({ untilMs, reason }) => {
      // One line per hold: the 429s that come while it is on (they only move its end) say nothing new.
      const on = now() < announcedUntil;
      announcedUntil = Math.max(announcedUntil, untilMs);
      if (!on) toOut(`Rate limited (${toAscii(reason)}): new items wait ${formatDuration(untilMs - now())}`);
    },
    relogin: ({ done }) => {
      if (!done) toOut('Session expired: logging in again');
    },
    'task:start': () => {
      started = true;
    },
    'run:end': ({ reason }) => {
      stopRenderers();
      const tried = started || stats.finished > 0;
      // Stopped before any item started: the caller's one error line says all there is to say.
      if (reason === 'fatal' && !tried) return;
      // Nothing was left to try: the caller says so with the checkpoint's counts (formatNothingToDo).
      if (reason === 'done' && !tried && stats.pending() === 0) return;
      const exitsNonZero = reason !== 'done' || stats.failed > 0;
      if (mode !== 'quiet' || exitsNonZero) out.write(`${formatSummary(stats, now())}\n`);
    },
  };
  for (const [name, fn] of Object.entries(listeners)) {
    events.on(name as keyof RunEvents, fn as (...args: unknown[]) => void);
  }
  // Up from the start: login can take a while, and the elapsed time shows the run is alive.
  tty?.start();

  let rendering = true;
  function stopRenderers(): void {
    if (!rendering) return;
    rendering = false;
    plain?.stop();
    tty?.stop();
  }

  let stopped = false;
  return {
    notice: (line) => toErr(line, true),
    stop() {
      if (stopped) return;
      stopped = true;
      stopRenderers();
      for (const [name, fn] of Object.entries(listeners)) {
        events.off(name as keyof RunEvents, fn as (...args: unknown[]) => void);
      }
      stats.dispose();
    },
  };
}

function validate(options: UiOptions): UiOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object, got \`${String(options)}\``);
  }
  const problems: string[] = [];
  if (!MODES.includes(options.mode)) {
    problems.push(`Expected \`mode\` to be one of ${MODES.join(', ')}, got \`${String(options.mode)}\``);
  }
  for (const name of ['out', 'err'] as const) {
    if (typeof (options[name] as { write?: unknown } | undefined)?.write !== 'function') {
      problems.push(`Expected \`${name}\` to be a writable stream, got \`${String(options[name])}\``);
    }
  }
  if (typeof options.color !== 'boolean') {
    problems.push(`Expected \`color\` to be a boolean, got \`${String(options.color)}\``);
  }
  const interval = options.plainIntervalMs;
  if (interval !== undefined && !(Number.isInteger(interval) && interval >= 100 && interval <= 86_400_000)) {
    problems.push(
      `Expected \`plainIntervalMs\` to be an integer from 100 to 86400000, got \`${String(interval)}\``,
    );
  }
  const slow = options.slowAfterMs;
  if (slow !== undefined && !(Number.isInteger(slow) && slow >= 0 && slow <= 86_400_000)) {
    problems.push(`Expected \`slowAfterMs\` to be an integer from 0 to 86400000, got \`${String(slow)}\``);
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    problems.push(`Expected \`now\` to be a function, got \`${String(options.now)}\``);
  }
  if (problems.length > 0) throw new TypeError(problems.join('; '));
  return options;
}
