import { exponentialBackoff, type Backoff } from '@pod-identity/core';

/**
 * The longest a failing lane (one scale set or VM) waits before its next attempt, unless ARM's
 * `Retry-After` asks for longer. It bounds recovery: once ARM answers normally again, a lane's pods
 * are assigned within this wait plus one attempt (an attempt caught by slow answers ends at the ARM
 * request deadline, 10 s), about 30 s in all (docs/mic.md). A lane that keeps failing costs ARM at
 * most one attempt (a GET, and a PATCH when something changes) every 15 s.
 */
export const LANE_BACKOFF_MAX_MS = 15_000;

/** The first retry of a failing lane, doubling on each failure up to {@link LANE_BACKOFF_MAX_MS}. */
export const LANE_BACKOFF_INITIAL_MS = 500;

/**
 * The backoff of MIC's lanes: 0.5 s doubling to 15 s, with jitter so that lanes failing together
 * spread out. (It was 0.5 s doubling to 5 min: eight 5xx answers in a row left a scale set waiting
 * two minutes after ARM had recovered.)
 * @param random - random source of the jitter. Default `Math.random`.
 * @returns the backoff
 */
export function laneBackoff(random?: () => number): Backoff {
  return exponentialBackoff({
    initialDelayMs: LANE_BACKOFF_INITIAL_MS,
    maxDelayMs: LANE_BACKOFF_MAX_MS,
    ...(random === undefined ? {} : { random }),
  });
}
