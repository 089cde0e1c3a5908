// The /metrics endpoint over real HTTP on 127.0.0.1: the text format, other paths and methods, one-line errors
// for a port in use or a bad host, and a close that frees the port even with a keep-alive scraper attached.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import { type MetricsServer, openMetricsServer } from '../../src/metrics/metrics-server.js';
import type { RunEvents } from '../../src/run-events.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';

const opened: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function open(
  port = 0,
  host?: string,
): Promise<{ server: MetricsServer; events: EventEmitter<RunEvents> }> {
  const events = new EventEmitter<RunEvents>();
  const collector = new MetricsCollector(events);
  const server = await openMetricsServer({ registry: collector.registry, port, ...(host ? { host } : {}) });
  opened.push(server);
  return { server, events };
}

/** The error `promise` rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    () => null,
    (err: unknown) => err as Error,
  );
  if (result === null) throw new Error('expected a rejection');
  return result;
}

describe('openMetricsServer', () => {
  it('serves the text format at /metrics on 127.0.0.1, with the values of the moment', async () => {
    const { server, events } = await open();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    events.emit('task:done', { key: 'a', attempt: 1, result: [], ms: 1 });
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePromText(await res.text());
    expect(sampleValue(families, 'pagepool_items_total', { outcome: 'done' })).toBe(1);
    events.emit('task:done', { key: 'b', attempt: 1, result: [], ms: 1 });
    const again = parsePromText(await (await fetch(`${server.url}?x=1`)).text());
    expect(sampleValue(again, 'pagepool_items_total', { outcome: 'done' })).toBe(2);
  });

  it('answers 404 for other paths, 405 for other methods, and HEAD without a body', async () => {
    const { server } = await open();
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
    const post = await fetch(server.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('a port in use: a ConfigError (exit 2) in one line naming the host and port', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await rejection(open(port));
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('CONFIG');
      expect(err.message).toBe(`Cannot serve metrics on 127.0.0.1:${port}: port ${port} is already in use`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    // Nothing was left listening by the failed attempt: the port opens now.
    const { server } = await open(port);
    expect(server.port).toBe(port);
  });

  it('a host that is not an address of this machine: a ConfigError in one line naming it', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface.
    const err = await rejection(open(0, '192.0.2.1'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'Cannot serve metrics on 192.0.2.1:0: host `192.0.2.1` is not an address of this machine',
    );
  });

  it('rejects a port out of range and an empty host before listening, naming each', async () => {
    const registry = new MetricsCollector(new EventEmitter<RunEvents>()).registry;
    const err = await rejection(openMetricsServer({ registry, port: 70_000, host: '' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'Expected `port` to be an integer from 0 to 65535, got `70000`; Expected `host` to be a host name or address, got ``',
    );
  });

  it('close() drops a keep-alive scraper and frees the port', async () => {
    const { server } = await open();
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    try {
      const res = await request(server.url, { dispatcher: agent });
      await res.body.text();
      expect(res.statusCode).toBe(200);
      await server.close();
      await server.close(); // idempotent
      const { server: again } = await open(server.port);
      expect(again.port).toBe(server.port);
    } finally {
      await agent.close();
    }
  });
});
