// Node CPU per file of the file layer alone (issue 26, point 3): FileStore.fetch of the demo portal's sticker PDFs
// (default size, no latency) at concurrency 8, in a child process whose own CPU time (process.cpuUsage, user +
// system, the libuv threadpool included) is measured over the fetches: the per-file cost of the free-space check,
// the `.part` metadata, the removals and the renames, without the browser's noise around it.
//   npx tsx scripts/file-cpu.ts [--files 600] [--rounds 3] [--prof DIR]
// --prof: each child also writes a .cpuprofile into DIR (node --cpu-prof; read it with printProfile of
// scripts/cpu-profile-summary.ts).
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPortal } from '../src/demo/portal.js';
import { FileStore } from '../src/files/file-store.js';

const CONCURRENCY = 8;
const COOKIE = 'pp_session';

interface Task {
  urls: string[];
  session: string;
}

function parse(argv: string[]): { files: number; rounds: number; prof: string | undefined } {
  let files = 600;
  let rounds = 3;
  let prof: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--files') files = Number(argv[++i]);
    else if (argv[i] === '--rounds') rounds = Number(argv[++i]);
    else if (argv[i] === '--prof') prof = argv[++i];
    else throw new Error(`Unknown argument \`${argv[i]}\``);
  }
  for (const [name, v] of Object.entries({ files, rounds }))
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`Expected \`--${name}\` to be an integer from 1, got \`${v}\``);
  return { files, rounds, prof };
}

/** Logs in the way a browser would (the login form, then the licence form); returns the session cookie. */
async function logIn(origin: string, username: string, password: string): Promise<string> {
  const login = await fetch(`${origin}/login`, {
    method: 'POST',
    body: new URLSearchParams({ username, password }),
    redirect: 'manual',
  });
  await login.arrayBuffer();
  const match = new RegExp(`${COOKIE}=([^;]+)`).exec(login.headers.get('set-cookie') ?? '');
  if (login.status !== 303 || match === null) throw new Error(`Login failed: HTTP ${login.status}`);
  const licence = await fetch(`${origin}/licence`, {
    method: 'POST',
    headers: { cookie: `${COOKIE}=${match[1]}` },
    body: new URLSearchParams({ accept: 'on' }),
    redirect: 'manual',
  });
  await licence.arrayBuffer();
  if (licence.status !== 303) throw new Error(`Licence acceptance failed: HTTP ${licence.status}`);
  return match[1]!;
}

/** Child: fetch every URL through one FileStore (the default --disk-margin); CPU microseconds per file. */
async function child({ urls, session }: Task): Promise<{ user: number; system: number }> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'file-cpu-'));
  const store = new FileStore({
    outDir,
    connections: CONCURRENCY,
    cookies: async () => [{ name: COOKIE, value: session }],
  });
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      const files = store.forJob({ key: `vehicle-${i}`, signal: new AbortController().signal });
      await files.fetch(urls[i]!, { kind: 'pdf' });
    }
  };
  const before = process.cpuUsage();
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await store.close();
  }
  const used = process.cpuUsage(before);
  await rm(outDir, { recursive: true, force: true });
  return { user: used.user / urls.length, system: used.system / urls.length };
}

function runChild(task: Task, profDir: string | undefined): Promise<{ user: number; system: number }> {
  return new Promise((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(profDir === undefined
        ? {}
        : { execArgv: [...process.execArgv, '--cpu-prof', '--cpu-prof-dir', profDir] }),
    });
    let result: { user: number; system: number } | undefined;
    proc.once('message', (m) => {
      result = m as { user: number; system: number };
    });
    proc.once('error', reject);
    proc.once('exit', (code) => {
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`child exited with ${code}`));
    });
    proc.send(task);
  });
}

async function main(): Promise<void> {
  const { files, rounds, prof } = parse(process.argv.slice(2));
  const portal = await startPortal({ vehicles: files });
  try {
    const session = await logIn(portal.url, portal.options.username, portal.options.password);
    const urls = Array.from(
      { length: files },
      (_, i) => `${portal.url}/vehicle/S${String(i + 1).padStart(5, '0')}/sticker.pdf`,
    );
    const perFile: Array<{ user: number; system: number }> = [];
    for (let r = 0; r < rounds; r++) perFile.push(await runChild({ urls, session }, prof));
    console.log(
      `${files} sticker PDFs per round, FileStore.fetch at concurrency ${CONCURRENCY}, load average ` +
        `${os.loadavg()[0]!.toFixed(2)}: node CPU per file, by round (us, user + system): ${perFile.map((v) => `${(v.user + v.system).toFixed(0)} (${v.user.toFixed(0)} + ${v.system.toFixed(0)})`).join(', ')}`,
    );
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
