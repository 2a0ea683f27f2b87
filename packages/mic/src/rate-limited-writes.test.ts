import { createManualClock } from '@pod-identity/core';
import type { RateLimiter } from '@pod-identity/core/kubernetes';
import { describe, expect, it } from 'vitest';
import { createMicWriteLimiters } from './rate-limited-writes.js';

/** Asks for `n` slots at once; `granted` fills as they are given. */
async function ask(limiter: RateLimiter, n: number): Promise<{ granted: number[] }> {
  const granted: number[] = [];
  for (let i = 0; i < n; i += 1) {
    void limiter.acquire().then(() => {
      granted.push(i);
    });
  }
  await Promise.resolve();
  return { granted };
}

describe('createMicWriteLimiters', () => {
  it('lets a burst of twice the rate through at once, as client-go (qps 5, burst 10), then paces', async () => {
    const clock = createManualClock();
    const { records } = createMicWriteLimiters(5, clock);
    const { granted } = await ask(records, 12);
    await clock.advance(0);
    expect(granted).toHaveLength(10);
    await clock.advance(199);
    expect(granted).toHaveLength(10);
    await clock.advance(1);
    expect(granted).toHaveLength(11);
    await clock.advance(200);
    expect(granted).toHaveLength(12);
  });

  it('gives record writes a bucket of their own: events and ledger writes never hold them back', async () => {
    const clock = createManualClock();
    const { records, core } = createMicWriteLimiters(5, clock);
    // The core bucket (events, ledger ConfigMaps) is drained and has writes queued.
    const events = await ask(core, 15);
    await clock.advance(0);
    expect(events.granted).toHaveLength(10);
    // A pod's two record writes still go at once.
    const pod = await ask(records, 2);
    await clock.advance(0);
    expect(pod.granted).toEqual([0, 1]);
    expect(events.granted).toHaveLength(10);
  });

  it('keeps at least one write in a burst at a rate below one per second', async () => {
    const clock = createManualClock();
    const { records } = createMicWriteLimiters(0.25, clock);
    const { granted } = await ask(records, 2);
    await clock.advance(0);
    expect(granted).toEqual([0]);
    await clock.advance(4_000);
    expect(granted).toEqual([0, 1]);
  });

  it('does not limit at an infinite rate', async () => {
    const { records, core } = createMicWriteLimiters(Number.POSITIVE_INFINITY);
    const a = await ask(records, 1_000);
    const b = await ask(core, 1_000);
    await Promise.resolve();
    expect(a.granted).toHaveLength(1_000);
    expect(b.granted).toHaveLength(1_000);
  });
});
