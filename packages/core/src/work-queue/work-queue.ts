import { TerminalError } from '../errors/terminal-error.js';
import { exponentialBackoff, type Backoff } from './backoff.js';
import { systemClock, type Clock } from './clock.js';

/** What a reconcile may ask of the queue after succeeding. */
export interface ReconcileResult {
  /** Reconcile this key again after this long (a level-based recheck), even without a change. */
  requeueAfterMs?: number;
}

/**
 * Reconciles one key. The reconcile contract (controller-runtime's): it gets a key, never an event,
 * and reads the current state itself; a thrown error requeues the key with per-key backoff (or after
 * the error's `retryAfterMs`, e.g. an ARM `Retry-After`); a thrown `TerminalError` drops the key
 * until it is added again.
 */
export type Reconciler = (
  key: string,
  abortSignal: AbortSignal,
  // `void` so that a plain `async (key) => { … }` is a reconciler.
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type
) => Promise<ReconcileResult | undefined | void>;

/** How a failed reconcile was handled, for logs and metrics. */
export interface ReconcileFailure {
  key: string;
  error: unknown;
  /** Consecutive failures of this key, including this one. */
  attempt: number;
  /** Whether the key was dropped (a terminal error). */
  terminal: boolean;
  /** When not terminal: the delay before the retry. */
  retryInMs?: number;
}

/** Options of {@link createWorkQueue}. */
export interface WorkQueueOptions {
  /** The reconcile function. */
  reconcile: Reconciler;
  /**
   * How many different keys may be reconciled at once. One key is never reconciled twice at the same
   * time: each key is its own lane. Default unbounded.
   */
  concurrency?: number;
  /** Delay before retry `attempt` of a failing key. Default exponential from 100 ms to 60 s. */
  backoff?: Backoff;
  /** Time source for delayed requeues. Default the system clock. */
  clock?: Clock;
  /** Told of every failed reconcile. */
  onFailure?: (failure: ReconcileFailure) => void;
}

/** A deduplicating, rate-limited queue of keys with one lane per key. */
export interface WorkQueue {
  /** Queues a key now. A key already queued is not queued twice; a key in flight runs once more after. */
  add(key: string): void;
  /** Queues a key after a delay; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number): void;
  /** Resolves when nothing is queued or in flight (delayed requeues are not waited for). */
  idle(): Promise<void>;
  /** Stops taking keys, aborts in-flight reconciles' signal, and waits for them. */
  stop(): Promise<void>;
  /** Keys queued or in flight. */
  size(): number;
  /** Consecutive failures of a key so far (0 after a success). */
  failures(key: string): number;
}

function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Creates a work queue: events only `add` keys; the queue runs the reconciler once per key however
 * many times it was added meanwhile (coalescing), never twice at once for one key, and retries
 * failures with per-key backoff.
 *
 * @param options - the reconciler, concurrency, backoff and clock
 * @returns the queue; it runs until `stop()`
 */
export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
  if (!(concurrency >= 1)) throw new RangeError('work queue concurrency must be at least 1');
  const backoff = options.backoff ?? exponentialBackoff();
  const clock = options.clock ?? systemClock;
  const stopController = new AbortController();
  const queued = new Set<string>();
  const processing = new Set<string>();
  const dirty = new Set<string>();
  const failureCounts = new Map<string, number>();
  const delayed = new Map<string, { dueAt: number; token: object }>();
  const inFlight = new Set<Promise<void>>();
  let idleWaiters: (() => void)[] = [];

  const notifyIdle = (): void => {
    if (queued.size > 0 || processing.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const add = (key: string): void => {
    if (stopController.signal.aborted) return;
    if (processing.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    queued.add(key);
    pump();
  };

  const addAfter = (key: string, delayMs: number): void => {
    if (stopController.signal.aborted) return;
    if (delayMs <= 0) {
      add(key);
      return;
    }
    const dueAt = clock.now() + delayMs;
    const existing = delayed.get(key);
    if (existing !== undefined && existing.dueAt <= dueAt) return;
    const token = {};
    delayed.set(key, { dueAt, token });
    clock.sleep(delayMs, stopController.signal).then(
      () => {
        if (delayed.get(key)?.token !== token) return;
        delayed.delete(key);
        add(key);
      },
      () => {
        // stopped
      },
    );
  };

  const process = async (key: string): Promise<void> => {
    try {
      const result = await options.reconcile(key, stopController.signal);
      failureCounts.delete(key);
      if (result?.requeueAfterMs !== undefined) addAfter(key, result.requeueAfterMs);
    } catch (error) {
      if (stopController.signal.aborted) return;
      const attempt = (failureCounts.get(key) ?? 0) + 1;
      if (TerminalError.is(error)) {
        failureCounts.delete(key);
        options.onFailure?.({ key, error, attempt, terminal: true });
      } else {
        failureCounts.set(key, attempt);
        const retryInMs = retryAfterOf(error) ?? backoff(attempt);
        options.onFailure?.({ key, error, attempt, terminal: false, retryInMs });
        addAfter(key, retryInMs);
      }
    } finally {
      processing.delete(key);
      if (dirty.delete(key)) add(key);
      pump();
      notifyIdle();
    }
  };

  const pump = (): void => {
    while (processing.size < concurrency && queued.size > 0) {
      const next = queued.values().next();
      if (next.done === true) break;
      const key = next.value;
      queued.delete(key);
      processing.add(key);
      const run = process(key);
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }
  };

  return {
    add,
    addAfter,
    idle: () =>
      queued.size === 0 && processing.size === 0
        ? Promise.resolve()
        : new Promise((resolve) => idleWaiters.push(resolve)),
    async stop() {
      stopController.abort();
      queued.clear();
      dirty.clear();
      delayed.clear();
      await Promise.allSettled([...inFlight]);
      notifyIdle();
    },
    size: () => queued.size + processing.size,
    failures: (key) => failureCounts.get(key) ?? 0,
  };
}
