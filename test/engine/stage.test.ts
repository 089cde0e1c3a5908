// The bounded stage on its own: a pure semaphore, so plain promises suffice.
import { describe, expect, it, vi } from 'vitest';
import { PageGate, Stage } from '../../src/engine/stage.js';

describe('Stage', () => {
  it('lets `limit` in, queues the rest first come first in, and hands the room straight on', async () => {
    const stage = new Stage('downloads', 2);
    const signal = new AbortController().signal;
    const a = await stage.enter(signal);
    const b = await stage.enter(signal);
    const order: string[] = [];
    const c = stage.enter(signal).then((leave) => {
      order.push('c');
      return leave;
    });
    const d = stage.enter(signal).then((leave) => {
      order.push('d');
      return leave;
    });
    await Promise.resolve();
    expect([stage.inside, stage.waiting, order]).toEqual([2, 2, []]);
    a();
    a(); // leaving twice frees one room only
    const leaveC = await c;
    expect([stage.inside, stage.waiting, order]).toEqual([2, 1, ['c']]);
    b();
    (await d)();
    leaveC();
    expect([stage.inside, stage.waiting, order]).toEqual([0, 0, ['c', 'd']]);
  });

  it('a waiter whose signal aborts leaves the line with the reason and takes no room', async () => {
    const stage = new Stage('downloads', 1);
    const leave = await stage.enter(new AbortController().signal);
    const controller = new AbortController();
    const waiting = stage.enter(controller.signal);
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    expect(stage.waiting).toBe(0);
    leave();
    expect(stage.inside).toBe(0);
    await expect(stage.enter(controller.signal)).rejects.toThrow('deadline');
    expect(() => new Stage('downloads', 0)).toThrow(RangeError);
  });
});

describe('PageGate', () => {
  it('opens while fewer than `limit` are inside and no hold is on; tells its listeners when it opens', async () => {
    const gate = new PageGate(1);
    let opened = 0;
    const off = gate.onOpen(() => {
      opened += 1;
    });
    const leave = gate.take();
    expect(gate.open()).toBe(false);
    leave();
    leave(); // idempotent
    expect([gate.open(), opened]).toEqual([true, 1]);

    // A hold (a file's 429): closed until it passes, then the listeners hear of it once.
    const started = Date.now();
    expect(gate.holdUntil(started + 80)).toBe(true);
    expect(gate.holdUntil(started + 40)).toBe(false); // earlier: no change
    expect(gate.holdUntil(started - 1)).toBe(false);
    expect(gate.open()).toBe(false);
    await new Promise<void>((resolve) => {
      const offHold = gate.onOpen(() => {
        offHold();
        resolve();
      });
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
    expect([gate.open(), opened]).toEqual([true, 2]);
    off();
  });

  it('a hold timer that fires before Date.now() reaches the end waits out the rest, then tells its listeners', async () => {
    // Node's timers run on the event loop's clock, which can be ahead of Date.now(): here by 15 ms.
    const gate = new PageGate(1);
    const realNow = Date.now.bind(Date);
    const started = realNow();
    expect(gate.holdUntil(started + 40)).toBe(true);
    const behind = vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 15);
    try {
      const openWhenTold = await new Promise<boolean>((resolve) => {
        const off = gate.onOpen(() => {
          off();
          resolve(gate.open());
        });
      });
      expect(openWhenTold).toBe(true);
      expect(realNow() - started).toBeGreaterThanOrEqual(55);
    } finally {
      behind.mockRestore();
    }
  });
});
