// PHP's built-in web server (`php -S`, Debian's php-cli) for one test file: a document root and an optional
// router script on a free port of 127.0.0.1, tethered to the test process; it answers every request with
// `Connection: close` and closes the connection.
import { existsSync } from 'node:fs';
import { freePort, spawnTethered, stopTethered, waitForPort } from './tethered.js';

export interface PhpServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Stops the server; safe to call twice. */
  stop(): Promise<void>;
}

const CANDIDATES = [process.env.PHP, '/usr/bin/php', '/usr/local/bin/php'];

export function findPhp(): string | null {
  for (const candidate of CANDIDATES) if (candidate && existsSync(candidate)) return candidate;
  return null;
}

/** Starts `php -S` serving `root` (through `router` when given); resolves once it accepts connections. */
export async function startPhp(root: string, router?: string): Promise<PhpServer> {
  const bin = findPhp();
  if (!bin) throw new Error('php not found: install it (apt-get install -y php-cli)');
  let stderr = '';
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const child = spawnTethered(bin, ['-S', `127.0.0.1:${port}`, '-t', root, ...(router ? [router] : [])]);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    if (await waitForPort(child, port)) {
      let stopping: Promise<void> | undefined;
      return {
        origin: `http://127.0.0.1:${port}`,
        stop: () => {
          stopping ??= stopTethered(child);
          return stopping;
        },
      };
    }
    await stopTethered(child);
  }
  throw new Error(`php -S did not start: ${stderr.trim()}`);
}
