// Benchmark: 200 distinct 2 MB PDFs at concurrency 8, FileStore versus fetch + arrayBuffer + writeFile,
// each in its own child process so peak RSS is measured separately. `npm run bench:download`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileStore } from '../src/files/file-store.js';

const COUNT = 200;
const SIZE = 2 * 1024 * 1024;
const CONCURRENCY = 8;
type Mode = 'filestore' | 'fetch';

interface Source {
  /** The URL of document `i` (0-based). */
  url(i: number): string;
  close(): Promise<void>;
}

/** The document server: swap this one function for the demo portal later. */
async function startSource(): Promise<Source> {
  // One deterministic 2 MB filler; each document differs by its header line.
  const filler = Buffer.alloc(SIZE);
  let x = 12345;
  for (let i = 0; i < SIZE; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    filler[i] = 32 + ((x >>> 16) % 90);
  }
  const server = http.createServer((req, res) => {
    const match = /^\/doc\/(\d+)\.pdf$/.exec(req.url ?? '');
    if (match === null) {
      res.writeHead(404).end();
      return;
    }
    const header = Buffer.from(`%PDF-1.7\n% document ${match[1]}\n`);
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': SIZE });
    res.write(header);
    res.end(filler.subarray(header.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (i) => `http://127.0.0.1:${port}/doc/${i}.pdf`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Child: download every document with `mode`, print one JSON line with the numbers. */
async function child(mode: Mode, urlTemplate: string): Promise<void> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), `bench-${mode}-`));
  const urls = Array.from({ length: COUNT }, (_, i) => urlTemplate.replace('{i}', String(i)));
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const store =
    mode === 'filestore'
      ? new FileStore({ outDir, connections: CONCURRENCY, cookies: async () => [], diskMarginBytes: 0 })
      : undefined;
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      const url = urls[i]!;
      if (store !== undefined) {
        const files = store.forJob({ key: `doc-${i}`, signal: new AbortController().signal });
        const saved = await files.fetch(url, { kind: 'pdf' });
        bytes += saved.bytes;
      } else {
        const response = await fetch(url);
        const body = Buffer.from(await response.arrayBuffer());
        await writeFile(path.join(outDir, `${i}.pdf`), body);
        bytes += body.length;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  await store?.close();
  await rm(outDir, { recursive: true, force: true });
  const mb = bytes / 1e6;
  console.log(
    JSON.stringify({
      mode,
      files: COUNT,
      mb,
      seconds,
      mbPerSec: mb / seconds,
      peakRssMb: peak / 1e6,
      growthMb: (peak - baseline) / 1e6,
    }),
  );
}

function runChild(mode: Mode, urlTemplate: string): Promise<Record<string, number | string>> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const proc = spawn('npx', ['tsx', self, mode, urlTemplate], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`${mode} child exited with ${code}: ${out}`));
      else resolve(JSON.parse(line) as Record<string, number | string>);
    });
  });
}

async function main(): Promise<void> {
  const [mode, urlTemplate] = process.argv.slice(2);
  if ((mode === 'filestore' || mode === 'fetch') && urlTemplate !== undefined) {
    await child(mode, urlTemplate);
    return;
  }
  const source = await startSource();
  try {
    const template = source.url(0).replace(/0\.pdf$/, '{i}.pdf');
    const rows = [];
    for (const m of ['filestore', 'fetch'] as const) rows.push(await runChild(m, template));
    console.log(`${COUNT} PDFs x ${SIZE / 1024 / 1024} MB, concurrency ${CONCURRENCY}, 127.0.0.1`);
    console.log('mode        MB/s    seconds  peak RSS MB  RSS growth MB');
    for (const r of rows) {
      const n = (key: string, digits: number) => Number(r[key]).toFixed(digits);
      console.log(
        `${String(r.mode).padEnd(10)} ${n('mbPerSec', 1).padStart(6)} ${n('seconds', 2).padStart(9)} ${n('peakRssMb', 1).padStart(12)} ${n('growthMb', 1).padStart(14)}`,
      );
    }
  } finally {
    await source.close();
  }
}

await main();
