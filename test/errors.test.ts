// exitCodeOf is the one map from the error that ended a command to its exit code; every thrown error has a code.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CheckpointCorruptError } from '../src/checkpoint/checkpoint-corrupt-error.js';
import {
  ConfigError,
  classify,
  DiskFullError,
  EXIT_CODES,
  exitCodeOf,
  FileNameError,
  LoginError,
  NoItemsError,
  PermanentError,
  SetupError,
  ShutdownError,
  TaskTimeoutError,
} from '../src/errors.js';
import { NameRegistry } from '../src/files/name-registry.js';
import { resolveInside } from '../src/files/safe-name.js';

describe('exitCodeOf', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const cases: Array<[string, unknown, number]> = [
    ['a bad setting', new ConfigError('x'), EXIT_CODES.usage],
    ['a refused login', new LoginError('x'), EXIT_CODES.usage],
    ['a setup failure', new SetupError('x'), EXIT_CODES.usage],
    ['a corrupt checkpoint', new CheckpointCorruptError('c.jsonl', 2, 'x'), EXIT_CODES.usage],
    ['the disk margin', new DiskFullError('x'), EXIT_CODES.diskSpace],
    ['a raw ENOSPC', enospc, EXIT_CODES.diskSpace],
    ['a shutdown', new ShutdownError(), EXIT_CODES.interrupted],
    ['a timeout', new TaskTimeoutError('x'), EXIT_CODES.failed],
    ['an empty listing', new NoItemsError('x'), EXIT_CODES.failed],
    ['a plain Error', new Error('x'), EXIT_CODES.failed],
    ['a thrown string', 'x', EXIT_CODES.failed],
  ];
  for (const [name, err, code] of cases) it(`${name} -> ${code}`, () => expect(exitCodeOf(err)).toBe(code));
  it('the codes are the README table', () =>
    expect(EXIT_CODES).toEqual({ ok: 0, failed: 1, usage: 2, diskSpace: 3, interrupted: 130 }));
});

describe('file name errors carry a code and are permanent (the same item gets the same name again)', () => {
  it('a name that resolves outside the folder', () => {
    let caught: unknown;
    try {
      resolveInside('/tmp/out', '../x');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FileNameError);
    expect(classify(caught)).toBe('permanent');
  });

  it('no free name left for a key', () => {
    const names = new NameRegistry(255);
    const hash = createHash('sha256').update('k').digest('hex');
    // The wanted name and every suffixed variant belong to other keys already.
    for (const name of ['f.pdf', ...[8, 16, 64].map((n) => `f~${hash.slice(0, n)}.pdf`)])
      names.reserve(name, 'other');
    let caught: unknown;
    try {
      names.claim('k', 'f.pdf');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FileNameError);
    expect(classify(caught)).toBe('permanent');
    expect(classify(new PermanentError('x'))).toBe('permanent');
  });
});
