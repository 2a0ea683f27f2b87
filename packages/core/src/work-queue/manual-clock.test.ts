import { describe, expect, it } from 'vitest';
import { createManualClock } from './manual-clock.js';

describe('createManualClock', () => {
  it('wakes sleeps only when time reaches them, earliest first', async () => {
    const clock = createManualClock(1000);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push('300'));
    void clock.sleep(100).then(() => woke.push('100'));
    await clock.whenSleeping(2);
    await clock.advance(99);
    expect(woke).toEqual([]);
    expect(clock.now()).toBe(1099);
    await clock.advance(500);
    expect(woke).toEqual(['100', '300']);
    expect(clock.pendingSleeps()).toBe(0);
  });

  it('rejects an aborted sleep with the signal’s reason and forgets it', async () => {
    const clock = createManualClock();
    const stop = new AbortController();
    const sleeping = clock.sleep(1000, stop.signal);
    stop.abort(new Error('stopped'));
    await expect(sleeping).rejects.toThrow('stopped');
    expect(clock.pendingSleeps()).toBe(0);
    await expect(clock.sleep(1, AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('tells when the code under test is idle, waiting on time', async () => {
    const clock = createManualClock();
    let idle = false;
    const watched = clock.whenSleeping(1).then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    void clock.sleep(10);
    await watched;
    expect(idle).toBe(true);
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
  });
});
