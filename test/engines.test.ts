// package.json's `engines.node` against what the runtime dependencies declare (the lock's `engines`), and the
// README's "Node X or newer" against `engines.node`: an install on an older Node would fail at an import.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const json = async (name: string) => JSON.parse(await readFile(path.join(ROOT, name), 'utf8'));

interface Locked {
  dev?: boolean;
  devOptional?: boolean;
  engines?: { node?: string };
}

it('engines.node allows only Node versions every runtime dependency runs on (otpauth -> @noble/hashes: 20.19)', async () => {
  const ours: string = (await json('package.json')).engines.node;
  const packages: Record<string, Locked> = (await json('package-lock.json')).packages;
  const unmet = Object.entries(packages)
    .filter(([name, p]) => name !== '' && !p.dev && !p.devOptional && p.engines?.node !== undefined)
    .filter(([, p]) => !semver.subset(ours, p.engines!.node!))
    .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')} needs ${p.engines!.node}`);
  expect(unmet, `package.json says node ${ours}`).toEqual([]);
});

it("the README's Node minimum is engines.node's", async () => {
  const lowest = semver.minVersion((await json('package.json')).engines.node)!;
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const said = [...readme.matchAll(/Node (\d+\.\d+)(?:\.\d+)?(?:\+| or newer)/g)].map((m) => m[1]);
  expect(said.length).toBeGreaterThan(0);
  expect(new Set(said)).toEqual(new Set([`${lowest.major}.${lowest.minor}`]));
});
