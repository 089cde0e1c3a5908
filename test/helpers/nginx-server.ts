// A private Debian nginx for one test file: a temp prefix, a free port on 127.0.0.1, a config the test writes
// (its `server {}` body); stopped (SIGTERM, then SIGKILL) and its folder removed after.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, spawnTethered, stopTethered, waitForPort } from './tethered.js';

/** One line of the access log: what nginx sent, in its own words. */
export interface ServedRequest {
  /** The request's path and query, as sent (percent-encoded). */
  uri: string;
  status: number;
  /** The Connection header sent (`close` with `keepalive_timeout 0`), `-` for none. */
  connection: string;
  /** The Content-Encoding sent (`gzip`), `-` for none. */
  encoding: string;
  /** Body bytes sent (compressed, when it was). */
  bytes: number;
}

export interface NginxServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Every request served so far, from nginx's access log, oldest first. */
  served(): Promise<ServedRequest[]>;
  /** Stops nginx and removes its prefix folder; safe to call twice. */
  stop(): Promise<void>;
}

const CANDIDATES = [process.env.NGINX, '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'];

export function findNginx(): string | null {
  for (const candidate of CANDIDATES) if (candidate && existsSync(candidate)) return candidate;
  return null;
}

/**
 * Starts nginx in the foreground (one process, no master; tethered: it cannot outlive the test) with `server` as the body
 * of its only `server {}` block (`listen` is added), and resolves once the port accepts connections (10 s bound).
 */
export async function startNginx(server: string): Promise<NginxServer> {
  const bin = findNginx();
  if (!bin) throw new Error('nginx not found: install it (apt-get install -y nginx-light)');
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'pagepool-nginx-'));
  await mkdir(path.join(prefix, 'logs'));
  // A port taken between freePort() and the bind is retried with another one.
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const conf = path.join(prefix, 'nginx.conf');
    await writeFile(conf, config(prefix, port, server));
    const child = spawnTethered(bin, [
      '-p',
      prefix,
      '-c',
      conf,
      '-e',
      path.join(prefix, 'logs', 'error.log'),
    ]);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    if (await waitForPort(child, port)) {
      let stopping: Promise<void> | undefined;
      return {
        origin: `http://127.0.0.1:${port}`,
        served: async () => parseLog(await readFile(path.join(prefix, 'logs', 'access.log'), 'utf8')),
        stop: () => {
          stopping ??= (async () => {
            await stopTethered(child);
            await rm(prefix, { recursive: true, force: true });
          })();
          return stopping;
        },
      };
    }
    await stopTethered(child);
    if (!stderr.includes('Address already in use')) {
      await rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${stderr.trim()}`);
    }
  }
  await rm(prefix, { recursive: true, force: true });
  throw new Error('nginx did not start: no free port');
}

function config(prefix: string, port: number, server: string): string {
  const temp = (name: string) => path.join(prefix, name);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${temp('nginx.pid')};
error_log ${temp('logs/error.log')} warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 256; }
http {
  log_format served '$status $sent_http_connection $sent_http_content_encoding $body_bytes_sent $request_uri';
  access_log ${temp('logs/access.log')} served;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  types { text/html html; application/pdf pdf; image/png png; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    ${server}
  }
}
`;
}

function parseLog(text: string): ServedRequest[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [status, connection = '-', encoding = '-', bytes, ...uri] = line.split(' ');
      return { uri: uri.join(' '), status: Number(status), connection, encoding, bytes: Number(bytes) };
    });
}
