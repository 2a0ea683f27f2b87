/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
// Lease leader election through the real client-node CoordinationV1Api against the testkit's
// Kubernetes emulator. Time is a manual clock: every candidate's retry sleeps end only when the test
// moves time, so the lease rules are shown in exact virtual milliseconds, never by wall-clock timing.
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { createManualClock, type ManualClock } from '@pod-identity/core';
import { createLeaderElector } from '@pod-identity/core/kubernetes';
import { startKubernetesEmulator, type KubernetesEmulator } from '@pod-identity/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const LEASE_MS = 1_000;
// client-go's default: a quarter of the lease duration.
const RETRY_MS = LEASE_MS / 4;

let kube: KubernetesEmulator;
let clock: ManualClock;
const stops: AbortController[] = [];
beforeEach(async () => {
  kube = await startKubernetesEmulator();
  clock = createManualClock(Date.UTC(2026, 0, 1));
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop.abort();
  await kube.close();
});

function campaign(identity: string) {
  const elector = createLeaderElector({
    kubeConfig: kube.kubeConfig,
    namespace: 'default',
    name: 'mic',
    identity,
    leaseDurationMs: LEASE_MS,
    clock,
  });
  const stop = new AbortController();
  stops.push(stop);
  let leadership: AbortSignal | undefined;
  let startedAt: number | undefined;
  let started: () => void = () => undefined;
  const leading = new Promise<void>((resolve) => (started = resolve));
  const done = elector.run(
    {
      onStartedLeading: (signal) => {
        leadership = signal;
        startedAt = clock.now();
        started();
      },
    },
    stop.signal,
  );
  return { elector, stop, leading, done, startedAt: () => startedAt, leadership: () => leadership };
}

/** Moves time one retry period and waits until `candidates` are idle again. */
async function tick(candidates: number): Promise<void> {
  await clock.advance(RETRY_MS);
  await clock.whenSleeping(candidates);
}

async function holder(): Promise<string | undefined> {
  const lease = await kube.kubeConfig
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'mic', namespace: 'default' });
  return lease.spec?.holderIdentity;
}

describe('createLeaderElector', () => {
  it('takes a free lease, and a second candidate waits while the holder renews', async () => {
    const a = campaign('a');
    await a.leading;
    expect(a.elector.isLeader()).toBe(true);
    expect(await holder()).toBe('a');
    const b = campaign('b');
    await clock.whenSleeping(2);
    // Three lease durations: the holder renews every retry period, so the lease never expires.
    for (let i = 0; i < 12; i += 1) await tick(2);
    expect(b.startedAt()).toBeUndefined();
    expect(b.elector.isLeader()).toBe(false);
    expect(a.elector.isLeader()).toBe(true);
    expect(await holder()).toBe('a');
  });

  it('waits a full lease duration, by its own clock, before taking over from a holder that stopped renewing', async () => {
    const api = kube.kubeConfig.makeApiClient(CoordinationV1Api);
    const crashedAt = new V1MicroTime(clock.now());
    // A holder that crashed just now: it renewed once and never again.
    await api.createNamespacedLease({
      namespace: 'default',
      body: {
        metadata: { name: 'mic', namespace: 'default' },
        spec: {
          holderIdentity: 'ghost',
          leaseDurationSeconds: 1,
          acquireTime: crashedAt,
          renewTime: crashedAt,
          leaseTransitions: 0,
        },
      },
    });
    const firstSeen = clock.now();
    const me = campaign('me');
    await clock.whenSleeping(1);
    for (let i = 0; i < LEASE_MS / RETRY_MS - 1; i += 1) {
      await tick(1);
      expect(me.startedAt()).toBeUndefined();
    }
    await clock.advance(RETRY_MS);
    await me.leading;
    // Expiry is judged from when this candidate first saw the record: exactly one lease duration.
    expect(me.startedAt()).toBe(firstSeen + LEASE_MS);
    const lease = await api.readNamespacedLease({ name: 'mic', namespace: 'default' });
    expect(lease.spec?.holderIdentity).toBe('me');
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  it('releases the lease on stop so that a follower takes over at its next attempt', async () => {
    const a = campaign('a');
    await a.leading;
    const b = campaign('b');
    await clock.whenSleeping(2);
    const stoppedAt = clock.now();
    a.stop.abort();
    expect(await a.done).toBe('stopped');
    expect(a.leadership()?.aborted).toBe(true);
    await clock.advance(RETRY_MS);
    await b.leading;
    // One retry period, not a lease duration: the released lease is free at once.
    expect(b.startedAt()).toBe(stoppedAt + RETRY_MS);
    expect(await holder()).toBe('b');
  });
});
