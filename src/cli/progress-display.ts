// The progress display a command shows while it pulls: bars on a terminal, plain lines otherwise, nothing but
// errors with --quiet; while it is up, Ctrl+C's notices are drawn through it.
import type { EventEmitter } from 'node:events';
import type { Config } from '../config.js';
import type { RunEvents } from '../run-events.js';
import { createUi, type Ui, type UiOptions } from '../ui/create-ui.js';
import type { Interrupts } from './interrupts.js';

/** Puts the display up on `events`; `stop()` takes it down and gives the stop notices back to stderr. */
export function showProgress(
  events: EventEmitter<RunEvents>,
  config: Readonly<Config>,
  interrupts: Interrupts,
): Pick<Ui, 'stop'> {
  const ui = createUi(events, uiOptions(config));
  const undo = interrupts.useDisplay(
    (line) => ui.notice(line),
    () => ui.stop(),
  );
  return {
    stop() {
      undo();
      ui.stop();
    },
  };
}

function uiOptions(config: Readonly<Config>): UiOptions {
  return {
    mode: config.quiet ? 'quiet' : process.stdout.isTTY ? 'tty' : 'plain',
    out: process.stdout,
    err: process.stderr,
    color: config.color,
    // An item in flight longer than its page timeout (or its whole deadline, if shorter) is shown as slow.
    slowAfterMs: Math.min(config.taskTimeoutMs, config.pageTimeoutMs),
  };
}
