// The saved session on disk: mode 0600 whatever the umask, whole or not at all, and a bad file said, not thrown.
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultSessionPath,
  formatSessionStatus,
  readSessionFile,
  sessionFileInfo,
  writeSessionFile,
} from '../../src/sessions/session-file.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);

const STATE = {
  cookies: [
    {
      name: 'pp_session',
      value: 'secret-cookie-value',
      domain: '127.0.0.1',
      path: '/',
      expires: -1,
      httpOnly: true,
      secure: false,
      sameSite: 'Lax' as const,
    },
  ],
  origins: [{ origin: 'http://127.0.0.1:1', localStorage: [{ name: 'token', value: 'abc' }] }],
};

describe('writeSessionFile', () => {
  it('writes mode 0600 under a permissive umask, in a new folder, and reads back the same state', async () => {
    const file = defaultSessionPath(path.join(await tempDir(), 'out'));
    const old = process.umask(0o000);
    try {
      await writeSessionFile(file, STATE);
    } finally {
      process.umask(old);
    }
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const read = await readSessionFile(file);
    expect(read && 'state' in read && read.state).toEqual(STATE);
  });

  it('replaces a file that was readable by others with a 0600 one, and leaves no temporary file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'session.json');
    await writeFile(file, '{"cookies":[],"origins":[]}');
    await chmod(file, 0o644);
    await writeSessionFile(file, STATE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['session.json']);
  });

  it('a write that fails keeps the old session whole and leaves no temporary file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'session.json');
    await writeSessionFile(file, STATE);
    const before = await readFile(file);
    // A folder where the file should be: the rename fails after the temporary file was written.
    const blocked = path.join(dir, 'blocked');
    await mkdir(path.join(blocked, 'session.json'), { recursive: true });
    await expect(writeSessionFile(path.join(blocked, 'session.json'), STATE)).rejects.toThrow();
    expect(await readdir(blocked)).toEqual(['session.json']);
    expect((await readFile(file)).equals(before)).toBe(true);
  });
});

describe('readSessionFile', () => {
  it('is null when no session is saved', async () => {
    expect(await readSessionFile(path.join(await tempDir(), 'none.json'))).toBeNull();
  });

  it.each([
    ['not JSON', '{"cookies": [', 'it is not JSON'],
    ['not a storage state', '{"cookies": {}}', 'it is not a Playwright storage state'],
    ['cookies without names', '{"cookies": [1], "origins": []}', 'it is not a Playwright storage state'],
  ])('%s: says what is wrong instead of throwing', async (_name, text, problem) => {
    const file = path.join(await tempDir(), 'session.json');
    await writeFile(file, text);
    expect(await readSessionFile(file)).toEqual({ problem });
  });

  it('a folder in its place cannot be read', async () => {
    const dir = await tempDir();
    expect(await readSessionFile(dir)).toEqual({ problem: 'it cannot be read (EISDIR)' });
  });
});

describe('sessionFileInfo and formatSessionStatus', () => {
  it('say whether a session is saved and when, nothing of what it holds', async () => {
    const file = path.join(await tempDir(), 'session.json');
    expect(await sessionFileInfo(file)).toEqual({ saved: false });
    expect(formatSessionStatus(file, { saved: false })).toBe(
      `Session ${file}: none saved (runs log in; \`pagepool login\` saves one)`,
    );
    await writeSessionFile(file, STATE);
    const info = await sessionFileInfo(file);
    expect(info.saved).toBe(true);
    const line = formatSessionStatus(file, info);
    expect(line).toBe(`Session ${file}: saved ${info.savedAt!.toISOString()}`);
    expect(line).not.toContain('secret-cookie-value');
  });
});
