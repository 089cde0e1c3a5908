// A private redis-server for one test file: a free port on 127.0.0.1, a temp dir, no persistence; stopped after.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';

export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:PORT/0` */
  url: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

const CANDIDATES = [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server'];

export function findRedisServer(): string | null {
  for (const candidate of CANDIDATES) if (candidate && existsSync(candidate)) return candidate;
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server and resolves once it accepts connections (bounded: 10 s). */
export async function startRedisServer(): Promise<RedisServer> {
  const bin = findRedisServer();
  if (!bin) throw new Error('redis-server not found: install it (apt-get install -y redis-server)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagepool-redis-'));
  // A port taken between freePort() and the bind is retried with another one.
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const child = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (await ready(child)) {
      let stopping: Promise<void> | undefined;
      return {
        port,
        url: `redis://127.0.0.1:${port}/0`,
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
  throw new Error('redis-server did not start');
}

function ready(child: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    let output = '';
    const timer = setTimeout(() => finish(false), 10_000);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve(ok);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) finish(true);
      // Keep only the tail: the marker is all we look for.
      output = output.slice(-200);
    };
    const onExit = () => finish(false);
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
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

/** The demo queue's active jobs, each with the machine (`host:pid`) that took it: BullMQ's `pb` field. */
export async function activeJobs(client: Redis): Promise<Array<{ id: string; machine: string | null }>> {
  const ids = await client.lrange('pagepool:demo:active', 0, -1);
  const machines = await Promise.all(ids.map((id) => client.hget(`pagepool:demo:${id}`, 'pb')));
  return ids.map((id, i) => ({ id, machine: machines[i] ?? null }));
}
