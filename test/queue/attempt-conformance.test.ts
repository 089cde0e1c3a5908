// One table of fault cases, run against both backends of the attempt policy: the in-process AsyncTaskQueue with
// plain async work, and the BullMQ FleetWorker with the same work against a real redis-server on 127.0.0.1.
// Both must give the outcome the table states: final state, attempts started and charged, logins started.
import { EventEmitter } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FLEET_PREFIX,
  type FleetJobData,
  type FleetResult,
  jobOptions,
} from '../../src/fleet/fleet-options.js';
import { FleetWorker } from '../../src/fleet/fleet-worker.js';
import { SingleFlightLogin } from '../../src/queue/single-flight-login.js';
import { AsyncTaskQueue, type TaskContext } from '../../src/queue/task-queue.js';
import type { RunEvents } from '../../src/run-events.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import {
  CASES,
  type Case,
  FAST_BACKOFF,
  type Observed,
  relogin,
  type TaskExpectation,
} from './attempt-cases.js';

/** The login both backends are given, counting its calls. */
function loginFor(c: Case): SingleFlightLogin {
  let calls = 0;
  return new SingleFlightLogin(async () => {
    calls += 1;
    await (c.login ?? relogin)(calls);
  });
}

/** Per key: the attempt numbers started (in order) and watchdog abandonments, from the backend's events. */
function tally(
  on: (
    name: 'task:start' | 'task:abandoned',
    listener: (e: { key: string; attempt: number }) => void,
  ) => void,
) {
  const starts = new Map<string, number[]>();
  const abandoned = new Map<string, number>();
  on('task:start', ({ key, attempt }) => starts.set(key, [...(starts.get(key) ?? []), attempt]));
  on('task:abandoned', ({ key }) => abandoned.set(key, (abandoned.get(key) ?? 0) + 1));
  return { starts, abandoned };
}

function work(c: Case) {
  const n = new Map<string, number>();
  return async (key: string, ctx: TaskContext) => {
    const attempt = (n.get(key) ?? 0) + 1;
    n.set(key, attempt);
    await c.script(key, attempt, ctx);
  };
}

async function runInProcess(c: Case): Promise<Observed> {
  const login = loginFor(c);
  const finals = new Map<string, TaskExpectation>();
  const queue = new AsyncTaskQueue<string, void>({
    concurrency: 4,
    retries: c.retries,
    backoff: FAST_BACKOFF,
    taskTimeoutMs: c.taskTimeoutMs ?? 20_000,
    graceMs: c.graceMs ?? 300,
    shutdownGraceMs: 300,
    key: (k) => k,
    relogin: login,
    commit: async (o) => {
      const state = o.status === 'done' ? 'done' : o.permanent ? 'permanent' : 'failed';
      finals.set(o.key, {
        state,
        attempts: 0,
        charged: o.charged,
        ...(o.status === 'failed' && o.code ? { code: o.code } : {}),
      });
    },
  });
  const { starts, abandoned } = tally((name, l) => queue.on(name, l));
  const stop = new AbortController();
  if (c.stopAtStartOf) queue.on('task:start', ({ key }) => key === c.stopAtStartOf && stop.abort());
  const summary = await queue.run(c.keys, work(c), { signal: stop.signal });
  return observed(c, summary.reason, login, starts, abandoned, (key) => finals.get(key));
}

let server: RedisServer;
let redis: Redis;
let caseNumber = 0;

async function runOnFleet(c: Case): Promise<Observed> {
  const queueName = `conformance-${++caseNumber}`;
  const queue = new Queue<FleetJobData<string>, FleetResult>(queueName, {
    connection: redis,
    prefix: FLEET_PREFIX,
  });
  queue.on('error', () => {});
  try {
    for (const key of c.keys) await queue.add(key, { key, ref: key }, jobOptions(key, c.retries));
    const login = loginFor(c);
    const events = new EventEmitter<RunEvents>();
    const { starts, abandoned } = tally((name, l) => events.on(name, l));
    const stop = new AbortController();
    if (c.stopAtStartOf) events.on('task:start', ({ key }) => key === c.stopAtStartOf && stop.abort());
    const run = work(c);
    const fleet = new FleetWorker<string>(
      {
        redis,
        queueName,
        concurrency: 4,
        events,
        retries: c.retries,
        backoff: FAST_BACKOFF,
        taskTimeoutMs: c.taskTimeoutMs ?? 20_000,
        graceMs: c.graceMs ?? 300,
        shutdownGraceMs: 300,
        rate: 0,
        machine: 'conformance',
        pollMs: 50,
      },
      {
        work: async (key, ctx) => {
          await run(key, ctx);
          return [];
        },
        login,
        close: async () => {},
      },
    );
    let summary: Awaited<ReturnType<typeof fleet.run>>;
    try {
      summary = await fleet.run({ signal: stop.signal, listing: async () => false });
    } finally {
      await fleet.close();
    }
    const finals = new Map<string, TaskExpectation>();
    for (const key of c.keys) {
      const job = await queue.getJob(key);
      if (!job) throw new Error(`job ${key} is gone`);
      const state = await job.getState();
      if (state === 'completed')
        finals.set(key, { state: 'done', attempts: 0, charged: job.attemptsMade - 1 });
      else if (state === 'failed') {
        const failure = job.data.failure;
        finals.set(key, {
          state: failure?.permanent ? 'permanent' : 'failed',
          attempts: 0,
          charged: job.attemptsMade - 1,
          ...(failure?.code ? { code: failure.code } : {}),
        });
      } else {
        // Given back to the queue: nothing may have been charged.
        expect(job.attemptsMade, `${key} was charged while it was given back`).toBe(0);
      }
    }
    return observed(c, summary.reason, login, starts, abandoned, (key) => finals.get(key));
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

function observed(
  c: Case,
  run: Observed['run'],
  login: SingleFlightLogin,
  starts: Map<string, number[]>,
  abandoned: Map<string, number>,
  final: (key: string) => TaskExpectation | undefined,
): Observed {
  const tasks: Record<string, TaskExpectation> = {};
  for (const key of c.keys) {
    const found = final(key) ?? { state: 'pending', attempts: 0, charged: null };
    const times = abandoned.get(key) ?? 0;
    const numbers = starts.get(key) ?? [];
    // Attempts are numbered by start, free retries included: 1, 2, 3...
    expect(numbers, `${key}'s attempt numbers`).toEqual(numbers.map((_, i) => i + 1));
    tasks[key] = { ...found, attempts: numbers.length, ...(times > 0 ? { abandoned: times } : {}) };
  }
  return { run, logins: login.started, tasks };
}

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe.each([
  ['the in-process queue', runInProcess],
  ['the BullMQ worker', runOnFleet],
])('the attempt policy on %s', (_backend, runCase) => {
  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      expect(await runCase(c)).toEqual(c.expected);
    },
    60_000,
  );
});
