import { describe, expect, it } from 'vitest';
import { TerminalError } from '../errors/terminal-error.js';
import { exponentialBackoff } from './backoff.js';
import { createManualClock } from './manual-clock.js';
import { createWorkQueue, type ReconcileFailure } from './work-queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('createWorkQueue', () => {
  it('coalesces a burst of adds of one key into one reconcile, plus one for adds during it', async () => {
    const calls: string[] = [];
    const gate = deferred();
    const queue = createWorkQueue({
      reconcile: async (key) => {
        calls.push(key);
        if (calls.length === 1) await gate.promise;
      },
    });
    for (let i = 0; i < 100; i += 1) queue.add('plan');
    await Promise.resolve();
    for (let i = 0; i < 100; i += 1) queue.add('plan'); // while in flight
    gate.resolve();
    await queue.idle();
    expect(calls).toEqual(['plan', 'plan']);
    await queue.stop();
  });

  it('runs different keys in parallel lanes: a stuck key never blocks another', async () => {
    const stuck = deferred();
    const done: string[] = [];
    const queue = createWorkQueue({
      reconcile: async (key) => {
        if (key === 'throttled') await stuck.promise;
        done.push(key);
      },
    });
    queue.add('throttled');
    queue.add('a');
    queue.add('b');
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual(['a', 'b']);
    stuck.resolve();
    await queue.idle();
    expect(done).toEqual(['a', 'b', 'throttled']);
    await queue.stop();
  });

  it('retries failures with growing per-key backoff, or after the error retryAfterMs', async () => {
    const clock = createManualClock();
    const failures: ReconcileFailure[] = [];
    let attempts = 0;
    const queue = createWorkQueue({
      clock,
      backoff: exponentialBackoff({ initialDelayMs: 100, jitter: 0 }),
      onFailure: (f) => failures.push(f),
      reconcile: () => {
        attempts += 1;
        if (attempts === 1) return Promise.reject(new Error('boom'));
        if (attempts === 2) return Promise.reject(new Error('boom'));
        if (attempts === 3)
          return Promise.reject(Object.assign(new Error('429'), { retryAfterMs: 60_000 }));
        return Promise.resolve();
      },
    });
    queue.add('k');
    await queue.idle();
    expect(failures.map((f) => f.retryInMs)).toEqual([100]);
    await clock.advance(99);
    await queue.idle();
    expect(attempts).toBe(1);
    await clock.advance(1);
    await queue.idle();
    expect(failures.map((f) => f.retryInMs)).toEqual([100, 200]);
    await clock.advance(200);
    await queue.idle();
    expect(failures.map((f) => f.retryInMs)).toEqual([100, 200, 60_000]);
    expect(queue.failures('k')).toBe(3);
    await clock.advance(60_000);
    await queue.idle();
    expect(attempts).toBe(4);
    expect(queue.failures('k')).toBe(0);
    await queue.stop();
  });

  it('drops a key that failed terminally', async () => {
    const clock = createManualClock();
    const failures: ReconcileFailure[] = [];
    let attempts = 0;
    const queue = createWorkQueue({
      clock,
      onFailure: (f) => failures.push(f),
      reconcile: () => {
        attempts += 1;
        return Promise.reject(new TerminalError('cannot ever work'));
      },
    });
    queue.add('k');
    await queue.idle();
    expect(failures).toMatchObject([{ key: 'k', terminal: true }]);
    expect(clock.pendingSleeps()).toBe(0);
    expect(attempts).toBe(1);
    await queue.stop();
  });

  it('requeues after requeueAfterMs, keeping the earliest of several delays', async () => {
    const clock = createManualClock();
    let runs = 0;
    const queue = createWorkQueue({
      clock,
      reconcile: () => {
        runs += 1;
        return Promise.resolve(runs === 1 ? { requeueAfterMs: 1000 } : undefined);
      },
    });
    queue.add('k');
    await queue.idle();
    queue.addAfter('k', 5000);
    await clock.advance(1000);
    await queue.idle();
    expect(runs).toBe(2);
    await queue.stop();
  });
});

describe('exponentialBackoff', () => {
  it('doubles from the initial delay up to the cap, with jitter only ever shortening', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(backoff)).toEqual([100, 200, 400, 800, 1000, 1000]);
    const jittered = exponentialBackoff({ initialDelayMs: 100, jitter: 0.5, random: () => 0.999 });
    expect(jittered(1)).toBeGreaterThanOrEqual(50);
    expect(jittered(1)).toBeLessThanOrEqual(100);
    expect(() => exponentialBackoff({ factor: 0.5 })).toThrow(RangeError);
  });
});
