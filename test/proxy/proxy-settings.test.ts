// --proxy and NO_PROXY as one meaning for Chromium and undici; a password is never shown.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import {
  noProxyProblem,
  playwrightProxy,
  proxySecrets,
  proxySettings,
  proxyUrlProblem,
  proxyUrlWithCredentials,
  redactProxyUrl,
  shownProxy,
} from '../../src/proxy/proxy-settings.js';

describe('proxySettings', () => {
  it('splits the URL into server and credentials (percent-decoded) and NO_PROXY into hosts', () => {
    const p = proxySettings(
      'http://me%40corp:p%3Ass@proxy.corp:3128',
      'localhost, .internal.corp *.x.org:8080',
    );
    expect(p).toEqual({
      server: 'http://proxy.corp:3128',
      username: 'me@corp',
      password: 'p:ss',
      noProxy: ['localhost', '.internal.corp', '*.x.org:8080'],
    });
    expect(proxyUrlWithCredentials(p)).toBe('http://me%40corp:p%3Ass@proxy.corp:3128');
    expect(shownProxy(p)).toBe('http://me%40corp@proxy.corp:3128');
    expect(proxySecrets(p)).toEqual(['p:ss', Buffer.from('me@corp:p:ss').toString('base64')]);
  });

  it('gives Chromium loopback through the proxy and each NO_PROXY host with its subdomains', () => {
    const p = proxySettings('http://u:pw@127.0.0.1:3128', 'localhost,.internal.corp,*.x.org:8080');
    expect(playwrightProxy(p)).toEqual({
      server: 'http://127.0.0.1:3128',
      bypass: '<-loopback>,localhost,*.localhost,internal.corp,*.internal.corp,x.org:8080,*.x.org:8080',
      username: 'u',
      password: 'pw',
    });
    expect(playwrightProxy(proxySettings('http://127.0.0.1:3128', '*'))).toEqual({
      server: 'http://127.0.0.1:3128',
      bypass: '<-loopback>,*',
    });
  });
});

describe('proxyUrlProblem and noProxyProblem', () => {
  it.each(['http://proxy:3128', 'https://proxy.corp', 'http://u:p@[::1]:3128/'])(
    '%s is a proxy URL',
    (url) => {
      expect(proxyUrlProblem(url)).toBeNull();
    },
  );

  it.each(['proxy:3128', 'socks5://proxy:1080', 'http://proxy:3128/path', 'http://'])('%s is not', (url) => {
    expect(proxyUrlProblem(url)).toMatch(/an http:\/\/ or https:\/\/ proxy URL/);
  });

  it('an address range in NO_PROXY is refused: Chromium would honour it and undici would not', () => {
    expect(noProxyProblem('localhost,10.0.0.0/8')).toBe(
      'Expected `NO_PROXY` to hold host names, not an address range like `10.0.0.0/8`',
    );
    expect(noProxyProblem('localhost')).toBeNull();
  });

  it('redactProxyUrl hides the password only', () => {
    expect(redactProxyUrl('http://user:secret@host:1')).toBe('http://user:***@host:1');
    expect(redactProxyUrl('http://user@host:1')).toBe('http://user@host:1');
  });
});

describe('the proxy settings in the config', () => {
  const load = (argv: string[], env: Record<string, string> = {}) => loadConfig({ argv, env, cwd: '/tmp' });

  it('reads PAGEPOOL_PROXY and NO_PROXY', () => {
    const parsed = load([], { PAGEPOOL_PROXY: 'http://u:pw@127.0.0.1:3128', NO_PROXY: 'localhost' });
    expect(parsed.kind).toBe('command');
    if (parsed.kind === 'command') {
      expect(parsed.config.proxy).toBe('http://u:pw@127.0.0.1:3128');
      expect(parsed.config.noProxy).toBe('localhost');
    }
  });

  it('a password in `--proxy` is a usage error that does not repeat it', () => {
    expect(() => load(['--proxy', 'http://u:hunter2@127.0.0.1:3128'])).toThrow(ConfigError);
    try {
      load(['--proxy', 'http://u:hunter2@127.0.0.1:3128']);
    } catch (err) {
      expect((err as Error).message).toMatch(
        /^`--proxy` must not carry a password: put the whole URL in PAGEPOOL_PROXY/,
      );
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('a bad PAGEPOOL_PROXY names the variable and hides its password', () => {
    try {
      load([], { PAGEPOOL_PROXY: 'ftp://u:hunter2@127.0.0.1:3128' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        'Expected `PAGEPOOL_PROXY` to be an http:// or https:// proxy URL like `http://host:3128` or `http://user:password@host:3128`, got `ftp://u:***@127.0.0.1:3128`',
      );
    }
  });

  it('NO_PROXY with a range is refused only when a proxy is set', () => {
    expect(() => load([], { NO_PROXY: '10.0.0.0/8' })).not.toThrow();
    expect(() => load(['--proxy', 'http://127.0.0.1:3128'], { NO_PROXY: '10.0.0.0/8' })).toThrow(
      /not an address range like `10.0.0.0\/8`/,
    );
  });
});
