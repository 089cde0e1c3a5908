// The `pagepool` command as a function: argv in, exit code out. Parses with the command and settings tables, then
// hands the command to its handler (src/cli/commands/<name>.ts); knows none of the parts' insides.
import { readFileSync } from 'node:fs';
import { type Config, loadConfig } from '../config.js';
import { EXIT_CODES } from '../errors.js';
import { commandSpec } from './command-table.js';
import { helpText } from './help-text.js';
import { Interrupts } from './interrupts.js';
import { isInterrupt, reportError } from './report-error.js';

export async function main(argv: string[]): Promise<number> {
  let config: Readonly<Config>;
  try {
    const parsed = loadConfig({ argv, isTTY: Boolean(process.stdout.isTTY) });
    if (parsed.kind === 'version') return print(`${packageVersion()}\n`);
    if (parsed.kind === 'help') return print(`${helpText(parsed.command)}\n`);
    config = parsed.config;
  } catch (err) {
    return reportError(err);
  }
  const interrupts = new Interrupts().listen();
  onClosedStdout(() => interrupts.stopQuietly('stdout was closed'));
  try {
    const { default: handler } = await commandSpec(config.command).load();
    return await handler({ config, signal: interrupts.signal, interrupts });
  } catch (err) {
    if (isInterrupt(err, interrupts.signal)) return EXIT_CODES.interrupted;
    return reportError(err, config);
  } finally {
    interrupts.dispose();
  }
}

function print(text: string): number {
  process.stdout.write(text);
  return EXIT_CODES.ok;
}

/**
 * `pagepool list | head -3`: once the reader is gone, writes to stdout fail with EPIPE. Like `git log | head`, the
 * command then ends quietly (a pull stops as on Ctrl+C, its checkpoint saved), never with a stack trace.
 */
function onClosedStdout(stop: () => void): void {
  // Never removed: a write still queued when the command ends must not fail the exit with an unhandled EPIPE.
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') stop();
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
}

/** The version in package.json, read at run time: dist/ and an installed package both sit two levels below it. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
