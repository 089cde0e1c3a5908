// The one re-login of a process: joins, epochs, and failures.
import { describe, expect, it } from 'vitest';
import { SingleFlightLogin } from '../../src/queue/single-flight-login.js';

function gate() {
  let open!: () => void;
  let fail!: (err: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('SingleFlightLogin', () => {
  it('runs one login for any number of callers that saw the same session', async () => {
    const g = gate();
    let calls = 0;
    const login = new SingleFlightLogin(async () => {
      calls += 1;
      await g.promise;
    });
    const since = login.epoch;
    const all = Promise.all(Array.from({ length: 10 }, () => login.relogin(since)));
    expect(login.inFlight).not.toBeNull();
    g.open();
    await all;
    expect(calls).toBe(1);
    expect(login.started).toBe(1);
    expect(login.epoch).toBe(1);
    expect(login.inFlight).toBeNull();
  });

  it('does not log in for a caller whose request left before a login that has since completed', async () => {
    let calls = 0;
    const login = new SingleFlightLogin(async () => {
      calls += 1;
    });
    const before = login.epoch;
    await login.relogin(before);
    await login.relogin(before);
    expect(calls).toBe(1);
    // A request sent after that login and logged out again does need one.
    await login.relogin(login.epoch);
    expect(calls).toBe(2);
  });

  it('reports start and end, passes a failure to every caller, and lets the next caller try again', async () => {
    const seen: string[] = [];
    let calls = 0;
    const login = new SingleFlightLogin(async () => {
      calls += 1;
      if (calls === 1) throw new Error('portal hiccup');
    });
    login.on('start', () => seen.push('start'));
    login.on('end', ({ error }) => seen.push(error ? `end: ${(error as Error).message}` : 'end'));
    const results = await Promise.allSettled([login.relogin(0), login.relogin(0)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(login.epoch).toBe(0);
    await login.relogin(0);
    expect(login.epoch).toBe(1);
    expect(seen).toEqual(['start', 'end: portal hiccup', 'start', 'end']);
  });
});
