// What `run` and `work` open before the portal and the browser, so a problem with them is one line and exit 2 with
// nothing started: the metrics (always collected for report.json; served with --metrics-port) and the upload step.
import { EventEmitter } from 'node:events';
import { type Config, uploadSettingsFrom } from '../config.js';
import type { UploadStep } from '../engine/upload-step.js';
import { machineId } from '../fleet/fleet-options.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { type MetricsServer, openMetricsServer } from '../metrics/metrics-server.js';
import type { RunEvents } from '../run-events.js';

export interface PullServices {
  events: EventEmitter<RunEvents>;
  collector: MetricsCollector;
  upload: UploadStep | null;
  close(): Promise<void>;
}

export async function openPullServices(
  config: Readonly<Config>,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<PullServices> {
  const events = new EventEmitter<RunEvents>();
  // Each fleet process is named like its jobs' outcomes.
  const collector = new MetricsCollector(events, config.queue ? { worker: machineId() } : {});
  let server: MetricsServer | null = null;
  let upload: UploadStep | null = null;
  try {
    if (config.metricsPort !== null) {
      server = await openMetricsServer({
        registry: collector.registry,
        port: config.metricsPort,
        host: config.metricsHost,
      });
      say(`Metrics on ${server.url}`);
    }
    const settings = uploadSettingsFrom(config);
    if (settings) {
      // Loaded only for an upload: the AWS SDK is ~25 MB of a process that does not need it otherwise.
      const { openUploadStep } = await import('../engine/upload-step.js');
      upload = await openUploadStep({ ...settings, outDir: config.out, events, signal });
    }
  } catch (err) {
    await server?.close();
    collector.dispose();
    throw err;
  }
  return {
    events,
    collector,
    upload,
    async close() {
      upload?.close();
      await server?.close();
      collector.dispose();
    },
  };
}
