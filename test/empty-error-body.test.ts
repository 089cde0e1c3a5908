// A portal that answers a detail page with an error status and an empty body: Chromium does not hand the
// response to page.goto, it fails the navigation (net::ERR_HTTP_RESPONSE_CODE_FAILURE) and shows its own error
// page. pagepool must still see the status: a 429 holds for its Retry-After and costs no retry, a 404 fails for
// good at once, and the page that showed the error page is not handed to the next item mid-navigation.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startPortal } from '../src/demo/portal.js';
import { runCli } from './helpers/cli.js';
import { type PortalProxy, startPortalProxy } from './helpers/portal-proxy.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

const N = 12;
const portal = await startPortal({ vehicles: N });
let proxy: PortalProxy | undefined;
afterAll(async () => {
  await proxy?.close();
  await portal.close();
  await removeTempDirs();
});

describe('an error status with an empty body on a page', () => {
  it('429: held for Retry-After, no retry charged; 404: failed for good on its first attempt', async () => {
    let sent429 = false;
    proxy = await startPortalProxy(portal.url, {
      intercept: (req) => {
        if (req.path === '/vehicle/S00003' && !sent429) {
          sent429 = true;
          return { status: 429, headers: { 'retry-after': '2' } };
        }
        if (req.path === '/vehicle/S00007') return { status: 404, headers: {} };
        return undefined;
      },
    });
    const cwd = await tempDir();
    const env = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };
    // --retries 0: a 429 read as a plain failure would fail S00003.
    const result = await runCli(
      ['run', '--site', 'demo', '--base-url', proxy.url, '--concurrency', '2', '--retries', '0', '--quiet'],
      { cwd, env, timeoutMs: 120_000 },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/S00007/);
    expect(result.stderr).not.toMatch(/S00003/);
    const files = (await readdir(path.join(cwd, 'downloads', 'demo'))).filter((f) => f.endsWith('.pdf'));
    expect(files).toHaveLength(N - 1);
    expect(files).toContain('S00003-window-sticker.pdf');
    // The second request for S00003 waited out the Retry-After.
    const s3 = proxy.requests.filter((r) => r.path === '/vehicle/S00003');
    expect(s3).toHaveLength(2);
    expect(s3[1]!.at - s3[0]!.at).toBeGreaterThanOrEqual(1900);
    // One request for S00007: a 404 is not retried.
    expect(proxy.requests.filter((r) => r.path === '/vehicle/S00007')).toHaveLength(1);
    const status = await runCli(['status', '--json'], { cwd, env });
    expect(JSON.parse(status.stdout)).toMatchObject({ done: N - 1, failed: 1 });
    const report = await runCli(['status'], { cwd, env });
    expect(report.stdout).toMatch(/failed permanently/);
  }, 150_000);
});
