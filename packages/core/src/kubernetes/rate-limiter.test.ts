import { describe, expect, it } from 'vitest';
import { createManualClock } from '../work-queue/manual-clock.js';
import { createRateLimiter } from './rate-limiter.js';

async function track(
  limiter: ReturnType<typeof createRateLimiter>,
  n: number,
  signal?: AbortSignal,
): Promise<{ granted: number[]; settled: Promise<unknown> }> {
  const granted: number[] = [];
  const all = Array.from({ length: n }, (_, i) =>
    limiter.acquire(signal).then(() => {
      granted.push(i);
    }),
  );
  await Promise.resolve();
  return { granted, settled: Promise.allSettled(all) };
}

describe('createRateLimiter', () => {
  it('lets a burst of qps requests through at once, then one every 1000/qps ms, in arrival order', async () => {
    const clock = createManualClock();
    const limiter = createRateLimiter({ qps: 5, clock });
    const { granted } = await track(limiter, 8);
    await clock.advance(0);
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    await clock.advance(199);
    expect(granted).toHaveLength(5);
    await clock.advance(1);
    expect(granted).toEqual([0, 1, 2, 3, 4, 5]);
    await clock.advance(400);
    expect(granted).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refills to the burst after a quiet period, never beyond', async () => {
    const clock = createManualClock();
    const limiter = createRateLimiter({ qps: 2, clock });
    await limiter.acquire();
    await limiter.acquire();
    await clock.advance(60_000);
    const { granted } = await track(limiter, 3);
    await clock.advance(0);
    expect(granted).toEqual([0, 1]);
    await clock.advance(500);
    expect(granted).toEqual([0, 1, 2]);
  });

  it('gives the slot back when a waiter aborts', async () => {
    const clock = createManualClock();
    const limiter = createRateLimiter({ qps: 1, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    controller.abort(new Error('stopping'));
    await expect(aborted).rejects.toThrow('stopping');
    const { granted } = await track(limiter, 1);
    await clock.advance(1000);
    expect(granted).toEqual([0]);
  });

  it('has no limit with qps Infinity, and refuses a rate that is not positive', async () => {
    const limiter = createRateLimiter({ qps: Number.POSITIVE_INFINITY });
    await Promise.all(Array.from({ length: 1000 }, () => limiter.acquire()));
    expect(() => createRateLimiter({ qps: 0 })).toThrow(/qps: must be a positive number/);
    expect(() => createRateLimiter({ qps: Number.NaN })).toThrow(/qps/);
    expect(() => createRateLimiter({ qps: 5, burst: 0 })).toThrow(/burst/);
  });
});
