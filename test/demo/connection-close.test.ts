// DEMO_CONNECTION_CLOSE: every response says `Connection: close` and the socket ends after it, bodies whole.
import { Agent } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { getUntilServerCloses, rawRequest, signIn } from './portal-client.js';

const started: Portal[] = [];
const agents: Agent[] = [];
async function portal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const p = await startPortal(options);
  started.push(p);
  return p;
}
/** A client that keeps sockets open and reuses them, as browsers and undici do. */
function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(started.splice(0).map((p) => p.close()));
});

describe('connectionClose', () => {
  it('ends the socket after every kind of response', async () => {
    const p = await portal({ connectionClose: true, vehicles: 3 });
    const cookie = await signIn(p);
    const cases: [string, Record<string, string>, number][] = [
      ['/login', {}, 200],
      ['/inventory', {}, 302],
      ['/inventory', { cookie }, 200],
      ['/vehicle/S00001', { cookie }, 200],
      ['/vehicle/S09999', { cookie }, 404],
      ['/static/site.css', {}, 200],
      ['/vehicle/S00001/sticker.pdf', { cookie, range: 'bytes=0-9' }, 206],
      ['/_stats', {}, 200],
    ];
    for (const [path, headers, status] of cases) {
      // The client asks for keep-alive; only the server's FIN ends the read.
      const { head } = await getUntilServerCloses(p, path, headers);
      expect([path, head.split('\r\n')[0]]).toEqual([path, expect.stringMatching(`^HTTP/1.1 ${status} `)]);
      expect(head, path).toMatch(/\r\nConnection: close(\r\n|$)/);
    }
  });

  it('never lets a keep-alive client reuse a socket', async () => {
    const p = await portal({ connectionClose: true, vehicles: 1 });
    const agent = keepAliveAgent();
    for (let i = 0; i < 3; i++) {
      const res = await rawRequest(p, '/login', { agent });
      expect(res.headers.connection).toBe('close');
      expect(res.reusedSocket).toBe(false);
    }
  });

  it('sends a body far over 64 KiB whole before it closes, to a client that reads late', async () => {
    const p = await portal({ connectionClose: true, vehicles: 2, stickerPadBytes: 300_000 });
    const cookie = await signIn(p);
    const pdf = stickerPdf(makeVehicles(2, 1)[1]!, 300_000);
    for (const readDelayMs of [0, 200]) {
      // Read late, the server has flushed all the socket takes and its FIN waits behind the rest.
      const { head, body } = await getUntilServerCloses(
        p,
        '/vehicle/S00002/sticker.pdf',
        { cookie },
        readDelayMs,
      );
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head).toMatch(/\r\nConnection: close(\r\n|$)/);
      expect(head).toContain(`\r\nContent-Length: ${pdf.length}`);
      expect(body.equals(pdf)).toBe(true);
    }
    expect(p.stats().filesServed).toEqual({ S00002: 2 });
  });

  it('keeps connections alive by default', async () => {
    const p = await portal({ vehicles: 1 });
    const agent = keepAliveAgent();
    const first = await rawRequest(p, '/login', { agent });
    const second = await rawRequest(p, '/login', { agent });
    expect(first.headers.connection).toBe('keep-alive');
    expect(second.reusedSocket).toBe(true);
  });
});
