// Vitest global setup: tests that spawn `pagepool` run dist/main.js, what a user's install runs, so dist/ is rebuilt
// first whenever a source file is newer than the last build.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUILD_INFO = path.join(ROOT, 'dist', '.tsbuildinfo');

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(full) : statSync(full).mtimeMs);
  }
  return newest;
}

export function buildIfStale(): void {
  const builtMs = statSync(BUILD_INFO, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sourcesMs = Math.max(
    newestSourceMs(path.join(ROOT, 'src')),
    statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs,
    statSync(path.join(ROOT, 'tsconfig.json')).mtimeMs,
  );
  if (builtMs > sourcesMs) return;
  const build = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (build.status !== 0) {
    throw new Error(
      `npm run build failed (${build.status ?? build.signal}):\n${build.stdout}${build.stderr}`,
    );
  }
}

export default buildIfStale;
