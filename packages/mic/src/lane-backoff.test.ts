// The recovery bound of a MIC lane after ARM errors, on a manual clock through the real work queue:
// how long after ARM recovers the lane's next attempt comes, that ARM's Retry-After is honoured, and
// that a lane failing for a long time is not a hot loop.
import { createManualClock, createWorkQueue } from '@pod-identity/core';
import { describe, expect, it } from 'vitest';
import { LANE_BACKOFF_MAX_MS, laneBackoff } from './lane-backoff.js';

/** Time moves in steps of this; a retry is seen at most one step late. */
const STEP_MS = 50;

/** A lane whose ARM call fails `failures` times in a row, then answers. */
function lane(options: { failures: number; retryAfterMs?: number; random?: () => number }) {
  const clock = createManualClock();
  const attempts: number[] = [];
  let succeededAt: number | undefined;
  const queue = createWorkQueue({
    clock,
    backoff: laneBackoff(options.random ?? (() => 0)),
    reconcile: () => {
      attempts.push(clock.now());
      if (attempts.length <= options.failures) {
        const error = Object.assign(new Error('ARM answered 503'), {
          ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
        });
        return Promise.reject(error);
      }
      succeededAt = clock.now();
      return Promise.resolve();
    },
  });
  return { clock, queue, attempts, succeededAt: () => succeededAt };
}

async function runFor(l: ReturnType<typeof lane>, untilMs: number): Promise<void> {
  l.queue.add('scale-set');
  while (l.clock.now() < untilMs && l.succeededAt() === undefined) await l.clock.advance(STEP_MS);
}

describe('laneBackoff', () => {
  it('after eight failures in a row, the next attempt (ARM recovered) comes within 15 s', async () => {
    const l = lane({ failures: 8 });
    await runFor(l, 600_000);
    const lastFailure = l.attempts[7]!;
    expect(l.attempts).toHaveLength(9);
    // The old backoff (0.5 s doubling to 5 min) waited 64 s here, and 2 min after the next failure.
    expect(l.succeededAt()! - lastFailure).toBeLessThanOrEqual(LANE_BACKOFF_MAX_MS + STEP_MS);
    await l.queue.stop();
  });

  it('honours a Retry-After longer than the cap', async () => {
    const l = lane({ failures: 1, retryAfterMs: 60_000 });
    await runFor(l, 600_000);
    expect(l.attempts).toHaveLength(2);
    expect(l.attempts[1]! - l.attempts[0]!).toBeGreaterThanOrEqual(60_000);
    expect(l.attempts[1]! - l.attempts[0]!).toBeLessThanOrEqual(60_000 + STEP_MS);
    await l.queue.stop();
  });

  it('is not a hot loop: at most one attempt per 12 s at the cap, jitter or not', async () => {
    for (const random of [() => 0, () => 0.999]) {
      const l = lane({ failures: Number.POSITIVE_INFINITY, random });
      await runFor(l, 600_000);
      const gaps = l.attempts.slice(6).map((at, i) => at - l.attempts[i + 5]!);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(0.8 * LANE_BACKOFF_MAX_MS);
      // About 45 attempts in ten minutes (about 50 with the most jitter), not hundreds.
      expect(l.attempts.length).toBeLessThan(60);
      await l.queue.stop();
    }
  });
});
