// Drives a typed run-event emitter by hand, the way the engine and the queue would.
import { EventEmitter } from 'node:events';
import type { RunEvents } from '../../src/run-events.js';

export function newEvents(): EventEmitter<RunEvents> {
  return new EventEmitter<RunEvents>();
}

/** A hand-moved clock, for code that takes `now` without timers. */
export class ManualClock {
  t = Date.UTC(2030, 0, 1);
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** One item from start to a saved file and 'task:done'; `advance` moves the clock between the events. */
export function runDone(
  events: EventEmitter<RunEvents>,
  advance: (ms: number) => void,
  item: { key: string; slot?: number; ms?: number; bytes?: number; attempt?: number },
): void {
  const { key, slot = 0, ms = 1000, bytes = 1000, attempt = 1 } = item;
  events.emit('task:start', { key, attempt });
  events.emit('task:stage', { key, attempt, slot, stage: 'detail' });
  advance(ms);
  events.emit('file:saved', { key, path: `downloads/demo/${key}.pdf`, bytes });
  events.emit('task:done', { key, attempt, result: undefined, ms });
}
