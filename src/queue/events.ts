// The events the task queue emits: the UI, the checkpoint and the metrics listen; the queue imports none of them.

export interface TaskRef {
  key: string;
  /** 1 for the first try. */
  attempt: number;
}

export interface QueueEvents<R = unknown> {
  'task:start': [TaskRef];
  'task:done': [TaskRef & { result: R; ms: number }];
  /** A transient failure; the task waits `delayMs` in the retry queue (no slot held). */
  'task:retry': [TaskRef & { error: unknown; reason: string; delayMs: number }];
  /** Final failure: permanent, or out of retries. */
  'task:failed': [TaskRef & { error: unknown; reason: string; permanent: boolean; ms: number }];
  /** Past deadline + grace: slot freed, resource poisoned, task re-queued; its late result is discarded. */
  'task:abandoned': [TaskRef];
  /** Stopped by shutdown before it finished: stays pending for the next run. */
  'task:interrupted': [TaskRef];
  /** A key already seen in this run's source. */
  'task:duplicate': [{ key: string }];
  /**
   * A 429 hold began: no item or file starts until `untilMs` (epoch ms). One event per hold, however many pages and
   * files met a 429 during it (they extend it quietly).
   */
  backoff: [{ untilMs: number; reason: string }];
  /** The adaptive in-flight limit moved ('trouble': 429/5xx/timeout, 'latency', 'recovered'). */
  concurrency: [{ limit: number; reason: 'trouble' | 'latency' | 'recovered' }];
  /** One shared re-login started (`done: false`) or finished. */
  relogin: [{ done: boolean }];
  /** The source is exhausted and nothing is in flight or waiting. */
  idle: [];
}

/** Every event name of QueueEvents, once: forwarders (run.ts) and tests iterate this. */
export const QUEUE_EVENT_NAMES = [
  'task:start',
  'task:done',
  'task:retry',
  'task:failed',
  'task:abandoned',
  'task:interrupted',
  'task:duplicate',
  'backoff',
  'concurrency',
  'relogin',
  'idle',
] as const satisfies ReadonlyArray<keyof QueueEvents>;

// Fails to compile when an event is added to QueueEvents and not to QUEUE_EVENT_NAMES.
const everyEventNamed: Exclude<keyof QueueEvents, (typeof QUEUE_EVENT_NAMES)[number]> extends never
  ? true
  : never = true;
void everyEventNamed;
