import { createManualClock } from '@pod-identity/core';
import { describe, expect, it } from 'vitest';
import { startResyncTimers } from './resync-timers.js';

describe('startResyncTimers', () => {
  it('runs each action at its own interval until the signal aborts', async () => {
    const clock = createManualClock();
    const stop = new AbortController();
    const runs: string[] = [];
    startResyncTimers(
      clock,
      [
        { everyMs: 3_000, run: () => runs.push('sync') },
        { everyMs: 1_000, run: () => runs.push('drift') },
      ],
      stop.signal,
    );
    await clock.whenSleeping(2);
    for (let i = 0; i < 3; i += 1) await clock.advance(1_000);
    // At 3 s both are due; their order then is not part of the contract.
    expect([...runs].sort()).toEqual(['drift', 'drift', 'drift', 'sync']);
    stop.abort();
    await clock.advance(3_000);
    expect(runs).toHaveLength(4);
    expect(clock.pendingSleeps()).toBe(0);
  });
});
