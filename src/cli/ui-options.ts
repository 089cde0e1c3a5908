// The progress display a command gets: bars on a terminal, plain lines otherwise, nothing but errors with --quiet.
import type { Config } from '../config.js';
import type { UiOptions } from '../ui/create-ui.js';

export function uiOptions(config: Readonly<Config>): UiOptions {
  return {
    mode: config.quiet ? 'quiet' : process.stdout.isTTY ? 'tty' : 'plain',
    out: process.stdout,
    err: process.stderr,
    color: config.color,
    // An item in flight longer than its page timeout (or its whole deadline, if shorter) is shown as slow.
    slowAfterMs: Math.min(config.taskTimeoutMs, config.pageTimeoutMs),
  };
}
