// Runs the real `pagepool` command on a real pseudo-terminal (util-linux `script`), so stdout is a TTY as in a
// user's terminal: the progress bars, and colours unless NO_COLOR says otherwise. Everything the terminal showed
// (stdout and stderr, escape sequences included) comes back as one string.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { BIN } from './cli.js';

export const SCRIPT = '/usr/bin/script';
export const hasScript = existsSync(SCRIPT);

export interface PtyResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the terminal received. */
  output: string;
}

const quote = (arg: string): string => `'${arg.replaceAll("'", `'\\''`)}'`;

export function runInPty(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<PtyResult> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    // -q: no "Script started" lines; -e: script exits with the command's code; -c: the command; /dev/null: no typescript file.
    const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SHELL: '/bin/sh',
        TERM: 'xterm',
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
    child.stdin.end();
  });
}
