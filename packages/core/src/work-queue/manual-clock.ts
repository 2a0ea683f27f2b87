import { abortReason } from '../abort/abort-reason.js';
import type { Clock } from './clock.js';

/** A {@link Clock} whose time moves only when told to, for tests and simulations. */
export interface ManualClock extends Clock {
  /**
   * Moves time forward by `ms`, wakes every sleep that is due (earliest first), and resolves once
   * the woken callers have had an event-loop turn to run on.
   */
  advance(ms: number): Promise<void>;
  /** How many sleeps are waiting. */
  pendingSleeps(): number;
  /**
   * Resolves once at least `count` sleeps are waiting: the awaited event that says the code under
   * test has done its work and is idle until time moves.
   */
  whenSleeping(count: number): Promise<void>;
}

interface Sleeper {
  readonly at: number;
  readonly resolve: () => void;
}

const nextTurn = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve);
  });

/**
 * Creates a clock that starts at `startMs` and moves only by {@link ManualClock.advance}, so a test
 * drives timers, leases and backoff itself instead of sleeping (and never asserts wall-clock time).
 *
 * @example
 * ```ts
 * const clock = createManualClock();
 * const elector = createLeaderElector({ ..., clock });
 * await clock.whenSleeping(1);
 * await clock.advance(15_000);
 * ```
 * @param startMs - the first value of `now()`. Default 0.
 * @returns the clock
 */
export function createManualClock(startMs = 0): ManualClock {
  let now = startMs;
  let sleepers: Sleeper[] = [];
  let watchers: { count: number; resolve: () => void }[] = [];
  const notify = (): void => {
    const ready = watchers.filter((w) => sleepers.length >= w.count);
    watchers = watchers.filter((w) => sleepers.length < w.count);
    for (const w of ready) w.resolve();
  };
  return {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted === true) {
          reject(abortReason(signal));
          return;
        }
        const onAbort = (): void => {
          sleepers = sleepers.filter((s) => s !== sleeper);
          reject(abortReason(signal ?? {}));
        };
        const sleeper: Sleeper = {
          at: now + Math.max(0, ms),
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        sleepers.push(sleeper);
        signal?.addEventListener('abort', onAbort, { once: true });
        notify();
      }),
    async advance(ms) {
      if (!(ms >= 0)) throw new RangeError('time only moves forward');
      now += ms;
      const due = sleepers.filter((s) => s.at <= now).sort((a, b) => a.at - b.at);
      sleepers = sleepers.filter((s) => s.at > now);
      for (const s of due) s.resolve();
      await nextTurn();
    },
    pendingSleeps: () => sleepers.length,
    whenSleeping: (count) =>
      new Promise<void>((resolve) => {
        watchers.push({ count, resolve });
        notify();
      }),
  };
}
