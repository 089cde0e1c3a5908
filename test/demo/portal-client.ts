// Test helper: plain fetch calls against a demo portal, with the session cookie carried by hand.
import { type Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { Portal } from '../../src/demo/portal.js';

/** GET (or `init.method`) without following redirects, sending `cookie` when given. */
export function request(
  portal: Portal,
  path: string,
  cookie?: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (cookie) headers.cookie = cookie;
  if (init.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  return fetch(`${portal.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    redirect: 'manual',
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}

/** The `pp_session=...` pair a response sets, if any. */
export function sessionCookie(res: Response): string | undefined {
  const line = res.headers.getSetCookie().find((c) => c.startsWith('pp_session='));
  return line?.split(';')[0];
}

export async function login(portal: Portal, username = 'demo', password = 'demo-pass'): Promise<Response> {
  const body = new URLSearchParams({ username, password }).toString();
  return request(portal, '/login', undefined, { method: 'POST', body });
}

/** Logs in and accepts the licence; returns the cookie to send. */
export async function signIn(portal: Portal): Promise<string> {
  const res = await login(portal, portal.options.username, portal.options.password);
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new Error(`login failed with ${res.status}`);
  const accepted = await request(portal, '/licence', cookie, { method: 'POST', body: 'accept=on' });
  if (accepted.status !== 303) throw new Error(`licence failed with ${accepted.status}`);
  return cookie;
}

/** The stock numbers of the inventory rows in an HTML page, in order. */
export function rowStocks(html: string): string[] {
  return [...html.matchAll(/<tr data-stock="([^"]+)">/g)].map((m) => m[1]!);
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The request went out on a socket an earlier response had left open. */
  reusedSocket: boolean;
}

/**
 * One request with node:http (not fetch), through `agent` when given, reading the body only after
 * `readDelayMs`: the server has then flushed all it can while the client is not reading.
 */
export function rawRequest(
  portal: Portal,
  path: string,
  options: {
    agent?: Agent;
    headers?: Record<string, string>;
    method?: string;
    body?: string;
    readDelayMs?: number;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${portal.url}${path}`,
      { agent: options.agent ?? false, headers: options.headers ?? {}, method: options.method ?? 'GET' },
      (res) => {
        res.pause();
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', reject);
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            reusedSocket: req.reusedSocket,
          }),
        );
        setTimeout(() => res.resume(), options.readDelayMs ?? 0);
      },
    );
    req.once('error', reject);
    req.end(options.body);
  });
}

/**
 * Sends one keep-alive HTTP/1.1 GET on a plain TCP socket and reads until the server ends the socket (within
 * 5 s, or it rejects). Reading starts only after `readDelayMs`. Returns the status line and headers as text and
 * the bytes after them.
 */
export function getUntilServerCloses(
  portal: Portal,
  path: string,
  headers: Record<string, string> = {},
  readDelayMs = 0,
): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(portal.port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the socket of ${path} open for 5 s`));
    }, 5000);
    const lines = Object.entries({ host: `127.0.0.1:${portal.port}`, connection: 'keep-alive', ...headers });
    socket.pause();
    socket.write(`GET ${path} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => {
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, split).toString('latin1'), body: all.subarray(split + 4) });
    });
    setTimeout(() => socket.resume(), readDelayMs);
  });
}
