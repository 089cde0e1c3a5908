// Issue 24, proxies: the real `pagepool` in a child process, the demo portal in this process, and Debian's
// tinyproxy on 127.0.0.1 logging every request it passes on. The portal's own request count is compared with the
// proxy's log of requests for it: every page and every file went through the proxy, none around it.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { checkProxy } from '../../src/proxy/proxy-check.js';
import { proxySettings } from '../../src/proxy/proxy-settings.js';
import { badPdfs, outDir } from '../helpers/child-pull.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { freePort, hasTinyproxy, startTinyproxy, type Tinyproxy } from '../helpers/tinyproxy.js';

const SLOW = { timeout: 240_000 };
const USER = 'puller';
const PASSWORD = `proxyPw${process.pid}canary`;

let open: Tinyproxy;
let guarded: Tinyproxy;
const portals: Portal[] = [];

beforeAll(async () => {
  [open, guarded] = await Promise.all([startTinyproxy(), startTinyproxy({ user: USER, password: PASSWORD })]);
});

afterAll(async () => {
  await Promise.all([open?.stop(), guarded?.stop(), ...portals.map((p) => p.close())]);
  await removeTempDirs();
});

async function portal(vehicles: number): Promise<Portal> {
  const p = await startPortal({ vehicles });
  portals.push(p);
  return p;
}

/** The requests `proxy` passed on to `p` (absolute-form `GET http://127.0.0.1:PORT/...`, or a CONNECT to it). */
async function throughProxy(proxy: Tinyproxy, p: Portal): Promise<string[]> {
  const host = new URL(p.url).host;
  return (await proxy.requests())
    .filter((r) => r.target.startsWith(`${p.url}/`) || r.target === host)
    .map((r) => `${r.method} ${r.target}`);
}

/** Every file under `dir`, recursively, with its bytes. */
async function allFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const file = path.join(entry.parentPath, entry.name);
      files.set(path.relative(dir, file), await readFile(file));
    }
  }
  return files;
}

const pull = (p: Portal, cwd: string, env: Record<string, string>, args: string[] = []) =>
  runCli(['run', '--site', 'demo', '--base-url', p.url, '--quiet', '--concurrency', '4', ...args], {
    cwd,
    env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass', ...env },
  });

describe.skipIf(!hasTinyproxy())('--proxy through a real tinyproxy', () => {
  it('every page and every file goes through the proxy, none around it', SLOW, async () => {
    const p = await portal(20);
    const cwd = await tempDir();
    const result = await pull(p, cwd, { PAGEPOOL_PROXY: open.url });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await badPdfs(cwd, p)).toEqual([]);
    const passed = await throughProxy(open, p);
    // Every request the portal answered is one the proxy passed on. The portal is on 127.0.0.1, loopback, which
    // Chromium sends around any proxy unless its bypass list says `<-loopback>`.
    expect(passed.length).toBe(p.stats().requests);
    // http:// is forwarded (GET http://host/path), not tunnelled: proxies often allow CONNECT to 443 only.
    expect(passed.filter((r) => r.startsWith('CONNECT'))).toEqual([]);
    // Both kinds: the browser's pages and undici's file downloads.
    expect(passed).toContain(`GET ${p.url}/login`);
    expect(passed.filter((r) => /\/vehicle\/S\d+$/.test(r))).toHaveLength(20);
    expect(passed.filter((r) => /\/sticker\.pdf$/.test(r))).toHaveLength(20);
  });

  it(
    'a proxy with a password: pages and files pass with it, and it is in no output and no file',
    SLOW,
    async () => {
      const p = await portal(10);
      const cwd = await tempDir();
      const result = await pull(p, cwd, {
        PAGEPOOL_PROXY: `http://${USER}:${PASSWORD}@127.0.0.1:${guarded.port}`,
      });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(await badPdfs(cwd, p)).toEqual([]);
      const passed = await throughProxy(guarded, p);
      expect(passed.filter((r) => /\/vehicle\/S\d+$/.test(r))).toHaveLength(10);
      expect(passed.filter((r) => /\/sticker\.pdf$/.test(r))).toHaveLength(10);
      // The proxy logs a request before it checks the password: Chromium's first one goes without (and gets 407),
      // so the log may hold one more than the portal answered, never fewer.
      expect(passed.length).toBeGreaterThanOrEqual(p.stats().requests);
      expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
      for (const [name, bytes] of await allFiles(outDir(cwd)))
        expect(bytes.includes(PASSWORD), name).toBe(false);
    },
  );

  it('NO_PROXY naming the portal sends pages and files around the proxy', SLOW, async () => {
    const p = await portal(6);
    const cwd = await tempDir();
    const before = (await open.requests()).length;
    const result = await pull(p, cwd, { PAGEPOOL_PROXY: open.url, NO_PROXY: 'example.org, 127.0.0.1' });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await badPdfs(cwd, p)).toEqual([]);
    expect(await throughProxy(open, p)).toEqual([]);
    // Only the start-up check (for a host that does not exist) reached the proxy.
    expect((await open.requests()).slice(before).map((r) => r.target)).toEqual([
      'http://pagepool-proxy-check.invalid/',
    ]);
  });

  it(
    'a refused proxy password: exit 2, one line naming the proxy, not the portal; the portal saw nothing',
    SLOW,
    async () => {
      const p = await portal(3);
      const cwd = await tempDir();
      const wrong = 'notTheRightOne';
      const result = await pull(p, cwd, {
        PAGEPOOL_PROXY: `http://${USER}:${wrong}@127.0.0.1:${guarded.port}`,
      });
      expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
        code: 2,
        stdout: '',
        stderr: `pagepool: The proxy http://${USER}@127.0.0.1:${guarded.port} refused the password of \`${USER}\` (401): check the password in PAGEPOOL_PROXY\n`,
      });
      expect(p.stats().requests).toBe(0);
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it('no credentials for a proxy that wants them: exit 2, one line saying so', SLOW, async () => {
    const p = await portal(3);
    const cwd = await tempDir();
    const result = await pull(p, cwd, {}, ['--proxy', guarded.url]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 2,
      stderr: `pagepool: The proxy ${guarded.url} asks for a user and password (407): set PAGEPOOL_PROXY=http://USER:PASSWORD@host:port in the environment\n`,
    });
    expect(p.stats().requests).toBe(0);
  });

  it('an unreachable proxy: exit 2, one line naming the proxy, not the portal', SLOW, async () => {
    const p = await portal(3);
    const cwd = await tempDir();
    const port = await freePort();
    const result = await pull(p, cwd, { PAGEPOOL_PROXY: `http://${USER}:${PASSWORD}@127.0.0.1:${port}` });
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: `pagepool: Cannot reach the proxy http://${USER}@127.0.0.1:${port} (ECONNREFUSED): check \`--proxy\` (PAGEPOOL_PROXY) and that the proxy is up\n`,
    });
    expect(p.stats().requests).toBe(0);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('checkProxy: the good password passes, and the check request reaches no portal', async () => {
    await expect(
      checkProxy(proxySettings(`http://${USER}:${PASSWORD}@127.0.0.1:${guarded.port}`)),
    ).resolves.toBeUndefined();
    await expect(checkProxy(proxySettings(open.url))).resolves.toBeUndefined();
  });
});
