// prom-client, loaded the first time a registry is asked for: only a run that serves /metrics needs it (report.json
// reads the collector's own snapshot), and its load was ~50 ms of every run's start-up.
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

let loaded: typeof PromClient | undefined;

export function promClient(): typeof PromClient {
  loaded ??= createRequire(import.meta.url)('prom-client') as typeof PromClient;
  return loaded;
}
