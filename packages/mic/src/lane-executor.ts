// Runs lanes: one work queue key per scale set, VM or record group, so lanes run in parallel, one
// target never runs twice at once, and a failed lane is retried with backoff while the others go on.
import {
  createWorkQueue,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
} from '@pod-identity/core';
import { laneBackoff } from './lane-backoff.js';
import type { LaneRunner, LaneWork } from './lane-runner.js';

/** Options of {@link createLaneExecutor}. */
export interface LaneExecutorOptions {
  /** Runs one lane's work. */
  run: LaneRunner;
  /** Time source for the retry backoff. Default the system clock. */
  clock?: Clock;
  /** Where failed lanes are logged. Default silent. */
  logger?: Logger;
}

/**
 * Lanes keyed by target: the latest work submitted for a key is what runs, so a lane never runs stale
 * work, and a retry runs the latest work too.
 */
export interface LaneExecutor {
  /** Sets a lane's work and queues it (a lane already running runs once more after). */
  submit(key: string, work: LaneWork): void;
  /** Drops a lane's pending work (its target became steady). A running lane finishes. */
  discard(key: string): void;
  /** The keys with pending work. */
  keys(): string[];
  /** Lanes queued or running. */
  size(): number;
  /** Resolves when no lane is queued or running (retries waiting for their backoff aside). */
  idle(): Promise<void>;
  /** Stops taking work, aborts running lanes' signal and waits for them. */
  stop(): Promise<void>;
}

/**
 * Creates a {@link LaneExecutor}: lanes retried from 500 ms doubling to 15 s (see lane-backoff.ts), or
 * after ARM's `Retry-After` when a failure carries one.
 * @param options - the runner, clock and logger
 * @returns the executor
 */
export function createLaneExecutor(options: LaneExecutorOptions): LaneExecutor {
  const log = options.logger ?? silentLogger;
  const work = new Map<string, LaneWork>();
  const queue = createWorkQueue({
    backoff: laneBackoff(),
    clock: options.clock ?? systemClock,
    onFailure: (failure) => {
      log.warn(
        {
          lane: failure.key,
          attempt: failure.attempt,
          retryInMs: failure.retryInMs,
          err: failure.error,
        },
        'lane failed',
      );
    },
    reconcile: async (key, abortSignal) => {
      const current = work.get(key);
      if (current === undefined) return;
      await options.run(current, abortSignal);
      // Work submitted while this ran stays for the next run.
      if (work.get(key) === current) work.delete(key);
    },
  });
  return {
    submit(key, next) {
      work.set(key, next);
      queue.add(key);
    },
    discard(key) {
      work.delete(key);
    },
    keys: () => [...work.keys()],
    size: () => queue.size(),
    idle: () => queue.idle(),
    stop: () => queue.stop(),
  };
}
