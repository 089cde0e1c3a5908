// A private tinyproxy (Debian's) for one test file: a free port on 127.0.0.1, optional BasicAuth, and its log
// read back as the requests that passed through it. Stopped after.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Tinyproxy {
  port: number;
  /** `http://127.0.0.1:PORT` (no credentials). */
  url: string;
  /** Every request line the proxy logged: `GET http://host:port/path`, `CONNECT host:port`. */
  requests(): Promise<Array<{ method: string; target: string }>>;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

export const TINYPROXY = '/usr/bin/tinyproxy';

export function hasTinyproxy(): boolean {
  return existsSync(TINYPROXY);
}

/** A port nobody listens on (bound and closed again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts tinyproxy and resolves once it accepts connections (bounded: 10 s per try, 3 tries). */
export async function startTinyproxy(auth?: { user: string; password: string }): Promise<Tinyproxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-tinyproxy-'));
  const log = path.join(dir, 'tinyproxy.log');
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const conf = path.join(dir, 'tinyproxy.conf');
    // No ConnectPort line: CONNECT is allowed to any port. LogLevel Connect logs every request line.
    await writeFile(
      conf,
      [
        `Port ${port}`,
        'Listen 127.0.0.1',
        'Timeout 120',
        `LogFile "${log}"`,
        'LogLevel Connect',
        'MaxClients 200',
        ...(auth ? [`BasicAuth ${auth.user} ${auth.password}`] : []),
        '',
      ].join('\n'),
    );
    const child = spawn(TINYPROXY, ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'ignore'] });
    if (await listening(port, child)) {
      let stopping: Promise<void> | undefined;
      return {
        port,
        url: `http://127.0.0.1:${port}`,
        async requests() {
          const text = await readFile(log, 'utf8').catch(() => '');
          const out: Array<{ method: string; target: string }> = [];
          for (const m of text.matchAll(/Request \(file descriptor \d+\): (\S+) (\S+) HTTP/g)) {
            out.push({ method: m[1]!, target: m[2]! });
          }
          return out;
        },
        stop: () => {
          stopping ??= (async () => {
            await kill(child);
            await rm(dir, { recursive: true, force: true });
          })();
          return stopping;
        },
      };
    }
    await kill(child);
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error('tinyproxy did not start');
}

async function listening(port: number, child: ChildProcess): Promise<boolean> {
  const until = Date.now() + 10_000;
  while (Date.now() < until && child.exitCode === null) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
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
