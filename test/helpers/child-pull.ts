// `pagepool run` in a child process against a demo portal the test owns, so one portal's /_stats sees every run,
// plus what the shutdown and crash tests read back: files on disk, done keys in the checkpoint, leftovers.
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { nodeCheckpointFs } from '../../src/checkpoint/checkpoint-fs.js';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint-loader.js';
import { journalPathFor } from '../../src/checkpoint/checkpoint-paths.js';
import { DONE } from '../../src/checkpoint/checkpoint-state.js';
import { makeVehicles } from '../../src/demo/inventory.js';
import type { Portal } from '../../src/demo/portal.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { type CliResult, runCli } from './cli.js';

export interface ChildPullOptions {
  portal: Portal;
  /** Working folder of the child; files land in `<cwd>/downloads`. */
  cwd: string;
  args?: string[];
  onSpawn?: (child: ChildProcess) => void;
  /** @default 120_000 */
  timeoutMs?: number;
  /** More environment for the child. */
  env?: Record<string, string>;
}

/** `pagepool run --site demo --base-url <portal>` with the portal's credentials in the environment. */
export function childPull(options: ChildPullOptions): Promise<CliResult> {
  const { portal } = options;
  return runCli(['run', '--site', 'demo', '--base-url', portal.url, ...(options.args ?? [])], {
    cwd: options.cwd,
    env: {
      PAGEPOOL_USERNAME: portal.options.username,
      PAGEPOOL_PASSWORD: portal.options.password,
      ...options.env,
    },
    ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
    timeoutMs: options.timeoutMs ?? 120_000,
  });
}

export const outDir = (cwd: string): string => path.join(cwd, 'downloads');
export const checkpointPath = (cwd: string): string => path.join(outDir(cwd), '.pagepool', 'checkpoint.json');

/** Finished sticker PDFs in the output folder (`.part` files are not finished). */
export async function pdfCount(cwd: string): Promise<number> {
  const names = await readdir(path.join(outDir(cwd), 'demo')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.pdf')).length;
}

/**
 * Resolves once `count` PDFs exist (true), or false when the child exited or `timeoutMs` passed first.
 * Polls every 25 ms: a bounded loop.
 */
export async function waitForPdfs(
  cwd: string,
  count: number,
  child: ChildProcess,
  timeoutMs = 60_000,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && child.exitCode === null && child.signalCode === null) {
    if ((await pdfCount(cwd)) >= count) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

/** Keys the checkpoint records as done, read without changing any file (a torn last line is not counted). */
export async function doneKeys(cwd: string): Promise<Set<string>> {
  const file = checkpointPath(cwd);
  const loaded = await loadCheckpoint(nodeCheckpointFs, file, journalPathFor(file));
  const keys = new Set<string>();
  for (const key of loaded.state.items.keys()) if (loaded.state.statusOf(key) === DONE) keys.add(key);
  return keys;
}

/** Stock numbers of the portal's vehicles whose PDF is missing or not byte-exact. */
export async function badPdfs(cwd: string, portal: Portal): Promise<string[]> {
  const bad: string[] = [];
  for (const vehicle of makeVehicles(portal.options.vehicles, portal.options.seed)) {
    const file = path.join(outDir(cwd), 'demo', `${vehicle.stock}-window-sticker.pdf`);
    const bytes = await readFile(file).catch(() => null);
    if (!bytes?.equals(stickerPdf(vehicle))) bad.push(vehicle.stock);
  }
  return bad;
}

/** Half-written files left under `dir`: download `.part`s, their `.part.json` and checkpoint `.tmp` snapshots. */
export async function leftoverFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  return names.filter((n) => /\.part(\.json)?$|\.tmp$/.test(n)).sort();
}
