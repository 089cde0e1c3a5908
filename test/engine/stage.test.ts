// The bounded stage on its own: a pure semaphore, so plain promises suffice.
import { describe, expect, it } from 'vitest';
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
    expect(() => new Stage('downloads', 0)).toThrow(
      expect.objectContaining({
        code: 'CONFIG',
        message: 'Expected `downloads` to be an integer from 1, got `0`',
      }),
    );
  });
});

describe('PageGate', () => {
  it('opens while fewer than `limit` are inside; tells its listeners when an item leaves', () => {
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
    off();
    gate.take()();
    expect(opened).toBe(1);
  });
});
