// A server child that cannot outlive the test process: it runs under `sh`, which waits on its stdin and stops the
// server when stdin closes, whether the test calls stop() or dies without it (a crash, an assert, a SIGKILL).
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

// `$0` is the server, `$@` its arguments; stdin's end (read returns) stops it, and sh reports its exit.
const WATCH = '"$0" "$@" & server=$!; read -r _; kill "$server" 2>/dev/null; wait "$server"';

/** Spawns `bin args` tethered to this process; its stderr is piped (nginx and php log there). */
export function spawnTethered(bin: string, args: string[], options: { cwd?: string } = {}): ChildProcess {
  return spawn('sh', ['-c', WATCH, bin, ...args], { stdio: ['pipe', 'ignore', 'pipe'], ...options });
}

/** Stops a tethered server: closes its stdin, then SIGKILLs the shell after 5 s. */
export function stopTethered(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.stdin?.end();
  });
}

/** A port on 127.0.0.1 that was free a moment ago (a server started on it may still lose a race: retry). */
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

/** True once `port` on 127.0.0.1 accepts a connection; false if the child exits first or 10 s pass. */
export function waitForPort(child: ChildProcess, port: number): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(false);
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) resolve(false);
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}
