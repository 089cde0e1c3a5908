// The /metrics endpoint: a registry's Prometheus text format over HTTP, opened before anything else starts so a
// port in use or a bad host is a one-line ConfigError, not a failure after the browser is up.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { LIBRARY_DEFAULTS } from '../defaults.js';
import { ConfigError, describe } from '../errors.js';

export interface MetricsServerOptions {
  registry: Registry;
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /** Interface to listen on; anything but loopback exposes the metrics to the network. @default '127.0.0.1' */
  host?: string;
}

export interface MetricsServer {
  /** `http://host:port/metrics`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops listening and drops open (keep-alive) connections; idempotent. */
  close(): Promise<void>;
}

/** Listens, or throws a ConfigError naming the port or host (in use, not an address of this machine, not allowed). */
export async function openMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, port, host = LIBRARY_DEFAULTS.metricsHost } = validate(options);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${describe(err)}\n`);
      },
    );
  });
  await listen(server, port, host);
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shown}:${bound}/metrics`,
    host,
    port: bound,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would hold close() open until it times out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(listenError(err, port, host));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function listenError(err: NodeJS.ErrnoException, port: number, host: string): ConfigError {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ConfigError(`Cannot serve metrics on ${where}: port ${port} is already in use`, {
        cause: err,
      });
    case 'EACCES':
      return new ConfigError(
        `Cannot serve metrics on ${where}: not allowed to listen on port ${port} (use a port above 1023)`,
        { cause: err },
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAFNOSUPPORT':
      return new ConfigError(
        `Cannot serve metrics on ${where}: host \`${host}\` is not an address of this machine`,
        { cause: err },
      );
    default:
      return new ConfigError(`Cannot serve metrics on ${where}: ${describe(err)}`, { cause: err });
  }
}

function validate(options: MetricsServerOptions): MetricsServerOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object, got \`${String(options)}\``);
  }
  const problems: string[] = [];
  if (typeof (options.registry as { metrics?: unknown } | undefined)?.metrics !== 'function') {
    problems.push(`Expected \`registry\` to be a prom-client Registry, got \`${String(options.registry)}\``);
  }
  const { port, host } = options;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    problems.push(`Expected \`port\` to be an integer from 0 to 65535, got \`${String(port)}\``);
  }
  if (host !== undefined && !(typeof host === 'string' && host.length > 0 && !/\s/.test(host))) {
    problems.push(`Expected \`host\` to be a host name or address, got \`${String(host)}\``);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return options;
}
