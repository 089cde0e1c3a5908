// A fleet machine in a process of its own, for a test to SIGKILL: a FleetWorker with plain work on a queue of a
// redis-server, whose every attempt hangs. It prints `start <key> <attempt>` as each attempt starts.
// Usage: node --import tsx test/helpers/fleet-machine.ts <redis port> <queue name> <task timeout ms>
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { FleetWorker } from '../../src/fleet/fleet-worker.js';
import { SingleFlightLogin } from '../../src/queue/single-flight-login.js';
import type { RunEvents } from '../../src/run-events.js';

const [port, queueName, timeout] = process.argv.slice(2);
const redis = new Redis({ host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null });
const events = new EventEmitter<RunEvents>();
events.on('task:start', ({ key, attempt }) => process.stdout.write(`start ${key} ${attempt}\n`));
const fleet = new FleetWorker<string>(
  {
    redis,
    queueName: queueName!,
    concurrency: 4,
    events,
    retries: 2,
    taskTimeoutMs: Number(timeout),
    rate: 0,
    machine: `killed:${process.pid}`,
  },
  {
    // Never settles: the machine is killed mid-attempt.
    work: () => new Promise(() => {}),
    login: new SingleFlightLogin(async () => {}),
    close: async () => {},
  },
);
await fleet.run({ signal: new AbortController().signal, listing: async () => false });
