// npm run test:10 / test:30: pull N items of the configured site at concurrency 2 into a fresh temporary
// folder, then check every file against the manifest and print a validation summary.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { main } from '../src/cli/cli.js';

const count = Number(process.argv[2]);
if (!Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: tsx scripts/test-items.ts N [pagepool flags]\n');
  process.exit(2);
}
const out = await mkdtemp(path.join(os.tmpdir(), `pagepool-test-${count}-`));
const started = performance.now();
const code = await main([
  'run',
  '--max',
  String(count),
  '--concurrency',
  '2',
  '--out',
  out,
  ...process.argv.slice(3),
]);
const seconds = (performance.now() - started) / 1000;
if (code === 2 || code === 130) process.exit(code);

interface ManifestLine {
  key: string;
  path: string;
  bytes: number;
  sha256: string;
}
const manifest = await readFile(path.join(out, 'manifest.jsonl'), 'utf8').catch(() => '');
const lines = manifest
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as ManifestLine);
const report = JSON.parse(await readFile(path.join(out, '.pagepool', 'report.json'), 'utf8')) as {
  totals: { done: number; failed: number; duplicates: number };
};
const seenKeys = new Set<string>();
let duplicates = report.totals.duplicates;
let bad = 0;
for (const line of lines) {
  if (seenKeys.has(line.key)) duplicates += 1;
  seenKeys.add(line.key);
  const file = path.join(out, line.path);
  const ok = await verify(file, line).catch(() => false);
  if (!ok) {
    bad += 1;
    process.stderr.write(`BAD FILE ${line.key}: ${line.path} does not match the manifest\n`);
  }
}
const ok = seenKeys.size - bad;
const failed = report.totals.failed + bad;
process.stdout.write(
  [
    '',
    `Validation of ${count} items (${out})`,
    `  ok          ${ok}`,
    `  failed      ${failed}`,
    `  duplicates  ${duplicates}`,
    `  seconds     ${seconds.toFixed(1)}`,
    `  items/s     ${(ok / seconds).toFixed(2)}`,
    '',
  ].join('\n'),
);
process.exit(failed > 0 || duplicates > 0 || ok < count ? 1 : 0);

async function verify(file: string, line: ManifestLine): Promise<boolean> {
  const info = await stat(file);
  if (info.size !== line.bytes) return false;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex') === line.sha256;
}
