// Benchmark: demo cards (page latency 100 ms, 8 pages) rendered by run(), once to disk only and once with
// --upload to s3rver on 127.0.0.1; prints items/s and upload MB/s side by side. `npx tsx scripts/bench-upload.ts [N]`.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPortal } from '../src/demo/portal.js';
import { openUploadStep } from '../src/engine/upload-step.js';
import { run } from '../src/run.js';
import type { RunEvents } from '../src/run-events.js';
import { loadSite } from '../src/sites/load-site.js';
import { startS3Server } from '../test/helpers/s3-server.js';

const COUNT = Number(process.argv[2] ?? 800);
const PAGES = 8;
const LATENCY_MS = 100;

interface Result {
  mode: string;
  done: number;
  seconds: number;
  itemsPerSec: number;
  uploaded: number;
  uploadMb: number;
  uploadMbPerSec: number;
}

async function once(mode: 'disk' | 'upload'): Promise<Result> {
  const portal = await startPortal({ cards: COUNT, pageLatencyMs: LATENCY_MS });
  const s3 = mode === 'upload' ? await startS3Server({ buckets: ['bench'] }) : null;
  const out = await mkdtemp(path.join(os.tmpdir(), `bench-upload-${mode}-`));
  const events = new EventEmitter<RunEvents>();
  let uploaded = 0;
  let uploadBytes = 0;
  events.on('upload:done', () => uploaded++);
  events.on('upload:progress', ({ bytes }) => {
    uploadBytes += bytes;
  });
  try {
    const upload = s3
      ? await openUploadStep({
          sink: {
            url: 's3://bench/cards',
            endpoint: s3.endpoint,
            region: 'us-east-1',
            credentials: s3.credentials,
          },
          uploads: 8,
          outDir: out,
          events,
        })
      : null;
    const started = performance.now();
    const summary = await run({
      site: await loadSite('demo-cards'),
      baseUrl: portal.url,
      credentials: { username: portal.options.username, password: portal.options.password },
      out,
      checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
      concurrency: PAGES,
      upload,
      events,
    });
    const seconds = (performance.now() - started) / 1000;
    upload?.close();
    return {
      mode,
      done: summary.done,
      seconds: Math.round(seconds * 10) / 10,
      itemsPerSec: Math.round((summary.done / seconds) * 10) / 10,
      uploaded,
      uploadMb: Math.round((uploadBytes / 1e6) * 10) / 10,
      uploadMbPerSec: Math.round((uploadBytes / 1e6 / seconds) * 100) / 100,
    };
  } finally {
    await portal.close();
    await s3?.close();
    await rm(out, { recursive: true, force: true });
  }
}

const disk = await once('disk');
const upload = await once('upload');
console.log(`${COUNT} demo cards, page latency ${LATENCY_MS} ms, ${PAGES} pages`);
console.table([disk, upload]);
console.log(
  `upload stage cost: ${Math.round((1 - upload.itemsPerSec / disk.itemsPerSec) * 1000) / 10} % of throughput`,
);
