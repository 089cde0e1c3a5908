// Benchmark: 200 window-sticker PDFs of 2 MB from the demo portal at concurrency 8, FileStore versus
// fetch + arrayBuffer + writeFile, each in its own child process so peak RSS is its own. `npm run bench:download`.
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPortal } from '../src/demo/portal.js';
import { FileStore } from '../src/files/file-store.js';

const COUNT = 200;
const PAD = 2 * 1024 * 1024;
const CONCURRENCY = 8;
const COOKIE = 'pp_session';
type Mode = 'filestore' | 'fetch';

interface Task {
  mode: Mode;
  /** Sticker URLs, one per vehicle. */
  urls: string[];
  /** The logged-in session's cookie value. */
  session: string;
}

interface Result {
  mode: Mode;
  files: number;
  mb: number;
  seconds: number;
  mbPerSec: number;
  peakRssMb: number;
  growthMb: number;
}

/** Logs in the way a browser would: the login form, then the licence form; returns the session cookie. */
async function logIn(origin: string, username: string, password: string): Promise<string> {
  const login = await fetch(`${origin}/login`, {
    method: 'POST',
    body: new URLSearchParams({ username, password }),
    redirect: 'manual',
  });
  await login.arrayBuffer();
  const match = new RegExp(`${COOKIE}=([^;]+)`).exec(login.headers.get('set-cookie') ?? '');
  if (login.status !== 303 || match === null) throw new Error(`Login failed: HTTP ${login.status}`);
  const session = match[1]!;
  const licence = await fetch(`${origin}/licence`, {
    method: 'POST',
    headers: { cookie: `${COOKIE}=${session}` },
    body: new URLSearchParams({ accept: 'on' }),
    redirect: 'manual',
  });
  await licence.arrayBuffer();
  if (licence.status !== 303) throw new Error(`Licence acceptance failed: HTTP ${licence.status}`);
  return session;
}

/** Child: download every sticker with `mode`, send the numbers back. */
async function child({ mode, urls, session }: Task): Promise<Result> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), `bench-${mode}-`));
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const store =
    mode === 'filestore'
      ? new FileStore({
          outDir,
          connections: CONCURRENCY,
          cookies: async () => [{ name: COOKIE, value: session }],
          diskMarginBytes: 0,
        })
      : undefined;
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      const url = urls[i]!;
      if (store !== undefined) {
        const files = store.forJob({ key: `vehicle-${i}`, signal: new AbortController().signal });
        const saved = await files.fetch(url, { kind: 'pdf' });
        bytes += saved.bytes;
      } else {
        const response = await fetch(url, { headers: { cookie: `${COOKIE}=${session}` } });
        // The same minimum check FileStore makes, so both sides save PDFs, not login pages.
        if (response.status !== 200 || response.headers.get('content-type') !== 'application/pdf') {
          throw new Error(`Expected a PDF from ${url}, got HTTP ${response.status}`);
        }
        const body = Buffer.from(await response.arrayBuffer());
        await writeFile(path.join(outDir, `${i}.pdf`), body);
        bytes += body.length;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    clearInterval(sampler);
    await store?.close();
  }
  const seconds = (performance.now() - started) / 1000;
  peak = Math.max(peak, process.memoryUsage().rss);
  await rm(outDir, { recursive: true, force: true });
  const mb = bytes / 1e6;
  return {
    mode,
    files: urls.length,
    mb,
    seconds,
    mbPerSec: mb / seconds,
    // maxRSS is the kernel's true peak; the sampler can miss a spike between samples.
    peakRssMb: Math.max(peak, process.resourceUsage().maxRSS * 1024) / 1e6,
    growthMb: (peak - baseline) / 1e6,
  };
}

function runChild(task: Task): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: Result | undefined;
    proc.once('message', (m) => {
      result = m as Result;
    });
    proc.once('error', reject);
    proc.once('exit', (code) => {
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`${task.mode} child exited with ${code}`));
    });
    proc.send(task);
  });
}

async function main(): Promise<void> {
  const portal = await startPortal({ vehicles: COUNT, stickerPadBytes: PAD });
  try {
    const session = await logIn(portal.url, portal.options.username, portal.options.password);
    const urls = Array.from(
      { length: COUNT },
      (_, i) => `${portal.url}/vehicle/S${String(i + 1).padStart(5, '0')}/sticker.pdf`,
    );
    const rows: Result[] = [];
    for (const mode of ['filestore', 'fetch'] as const) rows.push(await runChild({ mode, urls, session }));
    const served = Object.values(portal.stats().filesServed).reduce((a, b) => a + b, 0);
    console.log(
      `${COUNT} sticker PDFs (>= ${PAD / 1024 / 1024} MiB each) from the demo portal on 127.0.0.1, ` +
        `logged in over HTTP, concurrency ${CONCURRENCY}; the portal served ${served} files`,
    );
    console.log('mode        MB/s    seconds  peak RSS MB  RSS growth MB');
    for (const r of rows) {
      console.log(
        `${r.mode.padEnd(10)} ${r.mbPerSec.toFixed(1).padStart(6)} ${r.seconds.toFixed(2).padStart(9)} ` +
          `${r.peakRssMb.toFixed(1).padStart(12)} ${r.growthMb.toFixed(1).padStart(14)}`,
      );
    }
  } finally {
    await portal.close();
  }
}

if (process.argv[2] === '--child') {
  process.once('message', (task) => {
    child(task as Task).then(
      (result) => process.send?.(result, () => process.exit(0)),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
} else {
  await main();
}
