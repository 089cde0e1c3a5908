// Issue 24, fleet: `pagepool login` once, then `enqueue` and two `work` machines given the same `--session FILE`
// (real redis-server, real workers with real Chromium, the demo portal): no machine logs in; when the session
// expires under them, the machines that meet it log in again as before, and everything is pulled.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { runCli } from '../helpers/cli.js';
import { findRedisServer, type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const ENV = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };
let redis: RedisServer;
const portals: Portal[] = [];

beforeAll(async () => {
  if (findRedisServer()) redis = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await redis?.stop();
  await removeTempDirs();
});

async function pdfs(dir: string): Promise<string[]> {
  return (await readdir(path.join(dir, 'demo')).catch(() => [] as string[])).filter((n) =>
    n.endsWith('.pdf'),
  );
}

describe.skipIf(!findRedisServer())('enqueue / work --session FILE', () => {
  it('every machine starts from the one saved session: no login anywhere', { timeout: 240_000 }, async () => {
    const p = await startPortal({ vehicles: 24 });
    portals.push(p);
    const base = await tempDir();
    const session = path.join(base, 'shared', 'session.json');
    const queue = `redis://127.0.0.1:${redis.port}/3`;
    const common = ['--site', 'demo', '--base-url', p.url, '--queue', queue, '--session', session, '--quiet'];

    const login = await runCli(['login', '--site', 'demo', '--base-url', p.url, '--session', session], {
      cwd: base,
      env: ENV,
    });
    expect(login.code).toBe(0);
    expect(p.stats().logins).toBe(1);

    const enqueue = await runCli(['enqueue', ...common], { cwd: base, env: ENV });
    expect({ code: enqueue.code, stderr: enqueue.stderr }).toEqual({ code: 0, stderr: '' });
    const work = (i: number) =>
      runCli(['work', ...common, '--out', path.join(base, `m${i}`), '--concurrency', '2'], {
        cwd: base,
        env: ENV,
      });
    const results = await Promise.all([work(1), work(2)]);
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const pulled = [...(await pdfs(path.join(base, 'm1'))), ...(await pdfs(path.join(base, 'm2')))];
    expect(pulled.sort()).toHaveLength(24);
    expect(new Set(pulled).size).toBe(24);
    expect(p.stats().logins, 'a machine logged in').toBe(1);
  });

  it('a session expiring under two machines: each that meets it logs in again, nothing is lost, the shared file stays whole', {
    timeout: 240_000,
  }, async () => {
    // 40 items at 100 ms a page, 2 pages per machine: longer than the 2 s sessions on any machine.
    const p = await startPortal({ vehicles: 40, pageLatencyMs: 100, sessionLifetimeMs: 2_000 });
    portals.push(p);
    const base = await tempDir();
    const session = path.join(base, 'shared', 'session.json');
    const queue = `redis://127.0.0.1:${redis.port}/4`;
    const common = ['--site', 'demo', '--base-url', p.url, '--queue', queue, '--session', session, '--quiet'];
    expect(
      (
        await runCli(['login', '--site', 'demo', '--base-url', p.url, '--session', session], {
          cwd: base,
          env: ENV,
        })
      ).code,
    ).toBe(0);
    expect((await runCli(['enqueue', ...common], { cwd: base, env: ENV })).code).toBe(0);
    const work = (i: number) =>
      runCli(['work', ...common, '--out', path.join(base, `m${i}`), '--concurrency', '2'], {
        cwd: base,
        env: ENV,
      });
    const results = await Promise.all([work(1), work(2)]);
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const pulled = [...(await pdfs(path.join(base, 'm1'))), ...(await pdfs(path.join(base, 'm2')))];
    expect(new Set(pulled).size).toBe(40);
    expect(pulled).toHaveLength(40);
    const stats = p.stats();
    console.log(`fleet, 2 s sessions: ${stats.logins} logins, ${stats.expiredSessions} sessions expired`);
    expect(stats.logins).toBeGreaterThanOrEqual(3);
    // Written by whichever machine logged in last, atomically: always one whole session.
    const state = JSON.parse(await readFile(session, 'utf8')) as { cookies: unknown[] };
    expect(state.cookies).toHaveLength(1);
    expect((await stat(session)).mode & 0o777).toBe(0o600);
  });
});
