import { createManualClock } from '@pod-identity/core';
import { describe, expect, it } from 'vitest';
import { createLaneExecutor } from './lane-executor.js';
import type { LaneWork } from './lane-runner.js';

// Distinct work objects, told apart by which one ran.
const works: LaneWork[] = [1, 2, 3].map(() => ({ kind: 'terminating', records: [] }));
const work = (n: number): LaneWork => works[n - 1]!;
const numberOf = (w: LaneWork): number => works.indexOf(w) + 1;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('createLaneExecutor', () => {
  it('runs a lane once at a time; of the work submitted meanwhile, the latest runs next', async () => {
    const gate = deferred();
    const ran: number[] = [];
    const lanes = createLaneExecutor({
      run: async (w) => {
        ran.push(numberOf(w));
        if (ran.length === 1) await gate.promise;
      },
    });
    lanes.submit('vmss-a', work(1));
    await nextTurn();
    lanes.submit('vmss-a', work(2));
    lanes.submit('vmss-a', work(3));
    gate.resolve();
    await lanes.idle();
    expect(ran).toEqual([1, 3]);
    expect(lanes.keys()).toEqual([]);
    await lanes.stop();
  });

  it('runs nothing for pending work that was discarded (its target became steady)', async () => {
    const gate = deferred();
    const ran: number[] = [];
    const lanes = createLaneExecutor({
      run: async (w) => {
        ran.push(numberOf(w));
        await gate.promise;
      },
    });
    lanes.submit('vmss-a', work(1));
    await nextTurn();
    lanes.submit('vmss-a', work(2));
    lanes.discard('vmss-a');
    gate.resolve();
    await lanes.idle();
    expect(ran).toEqual([1]);
    await lanes.stop();
  });

  it('keeps a failed lane’s work and retries it once the clock passes its backoff', async () => {
    const clock = createManualClock();
    let attempts = 0;
    const lanes = createLaneExecutor({
      clock,
      run: () => {
        attempts += 1;
        return attempts === 1 ? Promise.reject(new Error('throttled')) : Promise.resolve();
      },
    });
    lanes.submit('vmss-a', work(1));
    await lanes.idle();
    expect(attempts).toBe(1);
    expect(lanes.keys()).toEqual(['vmss-a']);
    // Nothing happens until the clock moves: the retry waits for its backoff.
    await clock.whenSleeping(1);
    expect(attempts).toBe(1);
    await clock.advance(1_000);
    await lanes.idle();
    expect(attempts).toBe(2);
    expect(lanes.keys()).toEqual([]);
    await lanes.stop();
  });
});
