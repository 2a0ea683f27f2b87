import { createManualClock, type PlannerPod } from '@pod-identity/core';
import { describe, expect, it } from 'vitest';
import { createPassScheduler, podMatters } from './pass-scheduler.js';

const pod = (name: string, nodeName: string, extra: Partial<PlannerPod> = {}): PlannerPod => ({
  name,
  namespace: 'default',
  nodeName,
  selector: 'web',
  ...extra,
});

function setup(maxScopedPods?: number) {
  const clock = createManualClock(1_000);
  const asked: number[] = [];
  const stop = new AbortController();
  const scheduler = createPassScheduler({
    clock,
    coalesceWindowMs: 5,
    maxCoalesceMs: 100,
    recordEchoDelayMs: 1_000,
    ...(maxScopedPods === undefined ? {} : { maxScopedPods }),
    signal: stop.signal,
    enqueue: (delayMs) => asked.push(delayMs),
  });
  return { clock, asked, stop, scheduler };
}

describe('createPassScheduler', () => {
  it('makes a burst of changes one pass, which waits until the burst is quiet', async () => {
    const { clock, asked, scheduler } = setup();
    scheduler.requestFull();
    scheduler.requestFull();
    // The second change does not ask again: a pass is already due sooner.
    expect(asked).toEqual([5]);
    await clock.advance(3);
    scheduler.requestFull();
    await clock.advance(3);
    // Due, but only 3 ms of quiet: the pass puts itself off to the end of the window.
    expect(await scheduler.begin()).toBeUndefined();
    expect(asked).toEqual([5, 2]);
    await clock.advance(2);
    const request = await scheduler.begin();
    expect(request).toEqual({ startedMs: 1_008, drift: false, scopedPods: undefined });
  });

  it('never waits for a burst longer than maxCoalesceMs after its first change', async () => {
    const { clock, scheduler } = setup();
    scheduler.requestFull();
    for (let i = 0; i < 30; i += 1) {
      await clock.advance(4);
      scheduler.requestFull();
    }
    // 120 ms of changes 4 ms apart: never quiet, yet the pass runs.
    expect(await scheduler.begin()).toMatchObject({ drift: false });
  });

  it('plans pod changes alone as a scoped pass, with the nodes each pod was and is on', async () => {
    const { clock, scheduler } = setup();
    await scheduler.begin(); // the first pass is full
    scheduler.podChanged(pod('a', 'node-2'), pod('a', 'node-1'));
    scheduler.podChanged(pod('b', 'node-1'), undefined);
    await clock.advance(10);
    const request = await scheduler.begin();
    expect(request?.scopedPods?.map(([key, nodes]) => [key, [...nodes].sort()])).toEqual([
      ['default/a', ['node-1', 'node-2']],
      ['default/b', ['node-1']],
    ]);
    // Taken: the next pass starts from nothing changed.
    expect((await scheduler.begin())?.scopedPods).toEqual([]);
  });

  it('makes the pass full when anything but pods changed, or too many pods did', async () => {
    const { clock, scheduler } = setup(1);
    await scheduler.begin();
    scheduler.podChanged(pod('a', 'node-1'), undefined);
    scheduler.requestFull();
    await clock.advance(10);
    expect((await scheduler.begin())?.scopedPods).toBeUndefined();
    scheduler.podChanged(pod('a', 'node-1'), undefined);
    scheduler.podChanged(pod('b', 'node-1'), undefined);
    await clock.advance(10);
    expect((await scheduler.begin())?.scopedPods).toBeUndefined();
  });

  it('gives a drift request to one full pass only', async () => {
    const { clock, scheduler } = setup();
    scheduler.requestDrift();
    await clock.advance(10);
    expect(await scheduler.begin()).toMatchObject({ drift: true, scopedPods: undefined });
    expect(await scheduler.begin()).toMatchObject({ drift: false });
  });

  it('answers record changes (its own writes coming back) after the echo delay, not at once', () => {
    const { asked, scheduler } = setup();
    scheduler.recordChanged();
    expect(asked).toEqual([1_000]);
    // A change that needs a prompt pass still gets one.
    scheduler.requestFull();
    expect(asked).toEqual([1_000, 5]);
  });

  it('asks for nothing once its signal aborted (leadership lost)', () => {
    const { asked, stop, scheduler } = setup();
    stop.abort();
    scheduler.requestFull();
    scheduler.recordChanged();
    expect(asked).toEqual([]);
  });
});

describe('podMatters', () => {
  it('is true for changes the planners read and false for the rest', () => {
    const before = pod('a', 'node-1', { uid: 'u1', phase: 'Pending' });
    expect(podMatters({ ...before }, before)).toBe(false);
    expect(podMatters({ ...before, nodeName: 'node-2' }, before)).toBe(true);
    expect(podMatters({ ...before, uid: 'u2' }, before)).toBe(true);
    expect(podMatters({ ...before, selector: 'db' }, before)).toBe(true);
    expect(podMatters({ ...before, phase: 'Running' }, before)).toBe(true);
    expect(podMatters(before, undefined)).toBe(true);
  });
});
