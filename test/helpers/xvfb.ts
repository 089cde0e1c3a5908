// A private X display (Debian's Xvfb) for a headed browser, and xdotool to play the person at its keyboard.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Xvfb {
  /** `:N`, for DISPLAY. */
  display: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); safe to call twice. */
  stop(): Promise<void>;
}

export function hasXvfb(): boolean {
  return existsSync('/usr/bin/Xvfb') && existsSync('/usr/bin/xdotool');
}

/** Starts Xvfb on a free display it picks itself (-displayfd); resolves once it serves it (bounded: 10 s). */
export async function startXvfb(): Promise<Xvfb> {
  const child = spawn(
    '/usr/bin/Xvfb',
    ['-displayfd', '1', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const display = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('Xvfb did not start in 10 s')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(`:${line[1]}`);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error('Xvfb exited'));
    });
  }).catch(async (err: unknown) => {
    await kill(child);
    throw err;
  });
  let stopping: Promise<void> | undefined;
  return {
    display,
    stop: () => {
      stopping ??= kill(child);
      return stopping;
    },
  };
}

/** xdotool on `display`. */
export async function xdotool(display: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/xdotool', args, {
    env: { ...process.env, DISPLAY: display },
    timeout: 10_000,
  });
  return stdout.trim();
}

/**
 * The first visible window whose title starts with `title`, polled every 100 ms until `timeoutMs` (a bounded
 * wait: xdotool's own --sync waits for ever).
 */
export async function waitForWindow(display: string, title: string, timeoutMs = 30_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ids = await xdotool(display, 'search', '--onlyvisible', '--name', `^${title}`).catch(() => '');
    const id = ids.split('\n').find(Boolean);
    if (id) return id;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no window titled "${title}..." within ${timeoutMs} ms`);
}

/** Waits until the window's title starts with `title` (bounded). */
export async function waitForTitle(
  display: string,
  window: string,
  title: string,
  timeoutMs = 30_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    last = await xdotool(display, 'getwindowname', window).catch(() => last);
    if (last.startsWith(title)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the window is titled "${last}", not "${title}..." after ${timeoutMs} ms`);
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
