// Fleet mode (--queue redis://...): enqueue, work, run and status on a shared BullMQ queue.
import type { EventEmitter } from 'node:events';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { RunEvents } from '../run-events.js';
import type { Credentials, Site } from '../sites/site.js';

export interface FleetContext {
  config: Readonly<Config>;
  site: Site<unknown>;
  baseUrl: string;
  credentials: Credentials;
  /** Aborted on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  events: EventEmitter<RunEvents>;
}

/** `pagepool enqueue|work|run --queue URL`: resolves with the exit code. */
export async function fleetCommand(_ctx: FleetContext): Promise<number> {
  throw new ConfigError('`--queue` (fleet mode) is not available yet');
}

/** `pagepool status --queue URL`: resolves with the exit code. */
export async function fleetStatus(_config: Readonly<Config>): Promise<number> {
  throw new ConfigError('`--queue` (fleet mode) is not available yet');
}
