// One table of fault cases, run against both backends of the attempt runner: the in-process AsyncTaskQueue with
// plain async work, and the BullMQ FleetWorker with the same work against a real redis-server on 127.0.0.1 (and,
// for a killed machine, a FleetWorker in a child process that is SIGKILLed). Both must give what the table
// states: final states, attempts started, retries charged and free, logins, the most attempts at once, and the
// count of every event; and on every case neither may start an attempt during a hold or a re-login, nor keep
// the attempt that met an expired session in flight until the re-login ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageGate } from '../../src/engine/stage.js';
import { enqueueRefs } from '../../src/fleet/fleet-enqueue.js';
import { FLEET_PREFIX, type FleetJobData, type FleetResult } from '../../src/fleet/fleet-options.js';
import { FleetWorker } from '../../src/fleet/fleet-worker.js';
import { QUEUE_EVENT_NAMES } from '../../src/queue/events.js';
import { SingleFlightLogin } from '../../src/queue/single-flight-login.js';
import { AsyncTaskQueue, type TaskContext, type TaskOutcome } from '../../src/queue/task-queue.js';
import type { RunEvents } from '../../src/run-events.js';
import type { Site } from '../../src/sites/site.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import {
  CASES,
  type Case,
  type EventCounts,
  FAST_BACKOFF,
  type Observed,
  relogin,
  type TaskExpectation,
  type World,
} from './attempt-cases.js';

const TASK_TIMEOUT_MS = 20_000;
const SLOTS = 4;

interface Logged {
  name: string;
  at: number;
  key?: string;
  attempt?: number;
  untilMs?: number;
  done?: boolean;
}

/** What one case run saw, over all its runs (phases): the event log, per-phase attempt numbers, logins, peak. */
class Trace {
  readonly log: Logged[] = [];
  /** Attempt numbers started per key, one list per phase. */
  readonly numbers = new Map<string, number[][]>();
  phase = 0;
  /** A killed machine reports nothing more. */
  dead = false;
  running = 0;
  peak = 0;
  starts = 0;
  loginsDone = 0;
  readonly #waiters: Array<() => void> = [];
  /** Attempts per key over all phases: the script's `n`. */
  readonly #tries = new Map<string, number>();

  readonly world: World = {
    started: (n) => this.#until(() => this.starts >= n),
    loggedIn: (n) => this.#until(() => this.loginsDone >= n),
  };

  record(name: string, payload: Partial<Logged> = {}): void {
    if (this.dead) return;
    this.log.push({ name, at: Date.now(), ...payload });
    if (name === 'task:start') {
      const lists = this.numbers.get(payload.key!) ?? [];
      while (lists.length <= this.phase) lists.push([]);
      lists[this.phase]!.push(payload.attempt!);
      this.numbers.set(payload.key!, lists);
      this.starts += 1;
      this.#changed();
    }
  }

  /** The listener set of a backend's events. */
  listen(on: (name: string, listener: (payload: Record<string, unknown>) => void) => void): void {
    for (const name of QUEUE_EVENT_NAMES) {
      on(name, (payload) => {
        const { key, attempt, untilMs, done } = (payload ?? {}) as Partial<Logged>;
        this.record(name, { key, attempt, untilMs, done } as Partial<Logged>);
      });
    }
  }

  /** An attempt made on a machine out of sight (killed later): the next one at that key is the script's next `n`. */
  triedElsewhere(key: string): void {
    this.#tries.set(key, (this.#tries.get(key) ?? 0) + 1);
  }

  /** The case's work as a backend runs it: counts running attempts, takes a page when the case has pages. */
  work(c: Case, pages: PageGate | undefined) {
    return async (key: string, ctx: TaskContext): Promise<void> => {
      const n = (this.#tries.get(key) ?? 0) + 1;
      this.#tries.set(key, n);
      const leave = pages?.take();
      this.running += 1;
      this.peak = Math.max(this.peak, this.running);
      try {
        await c.script(key, n, ctx, this.world);
      } finally {
        this.running -= 1;
        leave?.();
      }
    };
  }

  /** The login both backends are given, counting its calls and completions. */
  login(c: Case): SingleFlightLogin {
    let calls = 0;
    return new SingleFlightLogin(async () => {
      calls += 1;
      await (c.login ?? relogin)(calls);
      this.loginsDone += 1;
      this.#changed();
    });
  }

  #until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      const test = () => {
        if (!check()) return;
        this.#waiters.splice(this.#waiters.indexOf(test), 1);
        resolve();
      };
      this.#waiters.push(test);
    });
  }

  #changed(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

type Final = Omit<TaskExpectation, 'attempts'> & { free: number };

async function runInProcess(c: Case): Promise<Observed> {
  const trace = new Trace();
  const login = trace.login(c);
  const finals = new Map<string, Final>();
  const pages = c.pages ? new PageGate(c.pages) : undefined;
  const work = trace.work(c, pages);
  const stopAt = c.stopAtStartOf ?? c.restartAtStartOf?.key;
  let keys = c.keys;
  let reason: Observed['run'] = 'done';
  for (const phase of c.restartAtStartOf ? [0, 1] : [0]) {
    trace.phase = phase;
    const queue = new AsyncTaskQueue<string, void>({
      concurrency: SLOTS,
      retries: c.retries,
      backoff: FAST_BACKOFF,
      taskTimeoutMs: c.taskTimeoutMs ?? TASK_TIMEOUT_MS,
      graceMs: c.graceMs ?? 300,
      shutdownGraceMs: 300,
      key: (k) => k,
      relogin: login,
      ...(pages ? { gate: pages } : {}),
      commit: async (o: TaskOutcome<string, void>) => {
        const state = o.status === 'done' ? 'done' : o.permanent ? 'permanent' : 'failed';
        const code = o.status === 'failed' && o.code ? { code: o.code } : {};
        finals.set(o.key, { state, charged: o.charged, free: o.free, ...code });
      },
    });
    trace.listen((name, listener) => queue.on(name as 'idle', listener as () => void));
    const stop = new AbortController();
    if (phase === 0 && stopAt) {
      queue.on('task:start', ({ key }) => {
        if (key !== stopAt) return;
        // A killed machine reports nothing more; in-process, it leaves what a shutdown leaves: nothing recorded.
        if (c.restartAtStartOf?.how === 'crash') trace.dead = true;
        stop.abort();
      });
    }
    const summary = await queue.run(keys, work, { signal: stop.signal });
    trace.dead = false;
    reason = summary.reason;
    keys = keys.filter((k) => summary.pending.includes(k));
  }
  return observed(c, reason, login, trace, (key) => finals.get(key));
}

let server: RedisServer;
let redis: Redis;
let caseNumber = 0;
const children = new Set<ChildProcess>();

/** A fleet machine in a child process, killed (SIGKILL) when `key`'s first attempt starts on it. */
async function killedMachine(queueName: string, key: string, trace: Trace): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, '../helpers/fleet-machine.ts'),
      String(server.port),
      queueName,
      String(TASK_TIMEOUT_MS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const [word, k, attempt] = buffered.slice(0, nl).split(' ');
      buffered = buffered.slice(nl + 1);
      if (word !== 'start') continue;
      trace.record('task:start', { key: k!, attempt: Number(attempt) });
      trace.triedElsewhere(k!);
      if (k === key) child.kill('SIGKILL');
    }
  });
  await exited;
  children.delete(child);
}

async function runOnFleet(c: Case): Promise<Observed> {
  const queueName = `conformance-${++caseNumber}`;
  const queue = new Queue<FleetJobData<string>, FleetResult>(queueName, {
    connection: redis,
    prefix: FLEET_PREFIX,
  });
  queue.on('error', () => {});
  try {
    // As `pagepool enqueue` does: the jobs carry no retries of their own, the worker's `retries` count.
    const site = { name: queueName, key: (k: string) => k } as unknown as Site<string>;
    await enqueueRefs({
      queue,
      redis,
      site,
      source: (async function* () {
        yield* c.keys;
      })(),
      signal: new AbortController().signal,
    });
    const trace = new Trace();
    const login = trace.login(c);
    const pages = c.pages ? new PageGate(c.pages) : undefined;
    const work = trace.work(c, pages);
    const stopAt = c.stopAtStartOf ?? c.restartAtStartOf?.key;
    let reason: Observed['run'] = 'done';
    const phases = c.restartAtStartOf ? [0, 1] : [0];
    for (const phase of phases) {
      trace.phase = phase;
      if (phase === 0 && c.restartAtStartOf?.how === 'crash') {
        await killedMachine(queueName, c.restartAtStartOf.key, trace);
        continue;
      }
      const events = new EventEmitter<RunEvents>();
      trace.listen((name, listener) => events.on(name as 'idle', listener as () => void));
      const stop = new AbortController();
      if (phase === 0 && stopAt) events.on('task:start', ({ key }) => key === stopAt && stop.abort());
      const fleet = new FleetWorker<string>(
        {
          redis,
          queueName,
          concurrency: SLOTS,
          events,
          retries: c.retries,
          backoff: FAST_BACKOFF,
          taskTimeoutMs: c.taskTimeoutMs ?? TASK_TIMEOUT_MS,
          graceMs: c.graceMs ?? 300,
          shutdownGraceMs: 300,
          rate: 0,
          machine: `conformance-${phase}`,
          pollMs: 50,
        },
        {
          work: async (key, ctx) => {
            await work(key, ctx);
            return [];
          },
          login,
          ...(pages ? { pages } : {}),
          close: async () => {},
        },
      );
      try {
        reason = (await fleet.run({ signal: stop.signal, listing: async () => false })).reason;
      } finally {
        await fleet.close();
      }
    }
    const finals = new Map<string, Final>();
    for (const key of c.keys) {
      const job = await queue.getJob(key);
      if (!job) throw new Error(`job ${key} is gone`);
      const state = await job.getState();
      const { charged = 0, free = 0 } = job.data.charges ?? {};
      if (state === 'completed') finals.set(key, { state: 'done', charged, free });
      else if (state === 'failed') {
        const failure = job.data.failure;
        finals.set(key, {
          state: failure?.permanent ? 'permanent' : 'failed',
          charged,
          free,
          ...(failure?.code ? { code: failure.code } : {}),
        });
      } else {
        // Given back to the queue: nothing stored, so nothing charged.
        expect(job.data.charges, `${key} was charged while it was given back`).toBeUndefined();
      }
    }
    return observed(c, reason, login, trace, (key) => finals.get(key));
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

function observed(
  c: Case,
  run: Observed['run'],
  login: SingleFlightLogin,
  trace: Trace,
  final: (key: string) => Final | undefined,
): Observed {
  const { log } = trace;
  const tasks: Record<string, TaskExpectation> = {};
  let free = 0;
  for (const key of c.keys) {
    const found = final(key);
    free += found?.free ?? 0;
    const phases = trace.numbers.get(key) ?? [];
    // Attempts are numbered by start within a run, free retries included: 1, 2, 3...; a give-back is not counted.
    for (const numbers of phases)
      expect(numbers, `${key}'s attempt numbers`).toEqual(numbers.map((_, i) => i + 1));
    const abandoned = log.filter((e) => e.name === 'task:abandoned' && e.key === key).length;
    const { free: _, ...rest } = found ?? { state: 'pending', charged: null, free: 0 };
    tasks[key] = { ...rest, attempts: phases.flat().length, ...(abandoned > 0 ? { abandoned } : {}) };
  }
  // Nothing starts during a hold...
  for (const hold of log.filter((e) => e.name === 'backoff')) {
    const after = log.slice(log.indexOf(hold));
    const inside = after.filter((s) => s.name === 'task:start' && s.at < hold.untilMs!);
    expect(inside, `starts during the hold until ${hold.untilMs}`).toEqual([]);
  }
  // ...nor during a re-login; and the attempt that met the expiry is out of its slot before the login ends.
  log.forEach((e, i) => {
    if (e.name !== 'relogin' || e.done) return;
    const end = log.findIndex((f, j) => j > i && f.name === 'relogin' && f.done);
    const during = log.slice(i, end < 0 ? undefined : end);
    expect(
      during.filter((f) => f.name === 'task:start'),
      'starts during a re-login',
    ).toEqual([]);
    expect(
      during.some((f) => f.name === 'task:retry'),
      'the expired attempt freed its slot',
    ).toBe(true);
  });
  const events: EventCounts = {};
  const names = {
    start: 'task:start',
    retry: 'task:retry',
    done: 'task:done',
    failed: 'task:failed',
    abandoned: 'task:abandoned',
    interrupted: 'task:interrupted',
    backoff: 'backoff',
  } as const;
  for (const [short, name] of Object.entries(names)) {
    const n = log.filter((e) => e.name === name).length;
    if (n > 0) events[short as keyof EventCounts] = n;
  }
  const logins = log.filter((e) => e.name === 'relogin' && !e.done).length;
  if (logins > 0) events.relogin = logins;
  return { run, logins: login.started, free, peak: trace.peak, events, tasks };
}

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  redis?.disconnect();
  await server?.stop();
});

describe.each([
  ['the in-process queue', runInProcess],
  ['the BullMQ worker', runOnFleet],
])('the attempt runner on %s', (_backend, runCase) => {
  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      expect(await runCase(c)).toEqual(c.expected);
    },
    60_000,
  );
});
