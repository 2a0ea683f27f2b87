/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
// Lease leader election through the real client-node CoordinationV1Api against the testkit's
// Kubernetes emulator. Time is a manual clock: every candidate's retry sleeps end only when the test
// moves time, so the lease rules are shown in exact virtual milliseconds, never by wall-clock timing.
import { CoordinationV1Api, KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { createManualClock, type ManualClock } from '@pod-identity/core';
import { createLeaderElector } from '@pod-identity/core/kubernetes';
import { startKubernetesEmulator, type KubernetesEmulator } from '@pod-identity/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTcpFaultProxy, type TcpFaultProxy } from './tcp-fault-proxy.js';

const LEASE_MS = 1_000;
// client-go's default: a quarter of the lease duration.
const RETRY_MS = LEASE_MS / 4;
// client-go's default: half the lease duration.
const RENEW_DEADLINE_MS = LEASE_MS / 2;

let kube: KubernetesEmulator;
let clock: ManualClock;
const stops: AbortController[] = [];
const proxies: TcpFaultProxy[] = [];
beforeEach(async () => {
  kube = await startKubernetesEmulator();
  clock = createManualClock(Date.UTC(2026, 0, 1));
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop.abort();
  for (const proxy of proxies.splice(0)) await proxy.close();
  await kube.close();
});

/** The emulator behind a fault proxy, and a connection to it through the proxy. */
async function behindProxy(): Promise<{ proxy: TcpFaultProxy; kubeConfig: KubeConfig }> {
  const proxy = await startTcpFaultProxy(kube.url);
  proxies.push(proxy);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kube.kubeconfigYaml.replaceAll(kube.url, proxy.url));
  return { proxy, kubeConfig };
}

function campaign(identity: string, kubeConfig: KubeConfig = kube.kubeConfig) {
  const errors: unknown[] = [];
  let lostAt: number | undefined;
  const elector = createLeaderElector({
    kubeConfig,
    namespace: 'default',
    name: 'mic',
    identity,
    leaseDurationMs: LEASE_MS,
    clock,
    onError: (error) => errors.push(error),
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
      onStoppedLeading: () => {
        lostAt = clock.now();
      },
    },
    stop.signal,
  );
  return {
    elector,
    stop,
    leading,
    done,
    errors,
    startedAt: () => startedAt,
    lostAt: () => lostAt,
    leadership: () => leadership,
  };
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
    // The leader sleeps twice (its next renewal and the watchdog on its renew deadline).
    await clock.whenSleeping(3);
    // Three lease durations: the holder renews every retry period, so the lease never expires.
    for (let i = 0; i < 12; i += 1) await tick(3);
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
    await clock.whenSleeping(3);
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

  it('keeps leading through failed renewals of a lease it created until the renew deadline has passed', async () => {
    const { proxy, kubeConfig } = await behindProxy();
    const a = campaign('a', kubeConfig);
    await a.leading;
    const acquiredAt = a.startedAt()!;
    await clock.whenSleeping(2);
    // The API server's address refuses before the first renewal: every attempt fails at once.
    proxy.cutOff('reset');
    const roundEnd = acquiredAt + RETRY_MS + RENEW_DEADLINE_MS;
    while (clock.now() + RETRY_MS < roundEnd) {
      await clock.advance(RETRY_MS);
      await clock.whenSleeping(2);
      expect(a.elector.isLeader()).toBe(true);
      expect(a.leadership()?.aborted).toBe(false);
    }
    expect(a.errors.length).toBeGreaterThan(0);
    await clock.advance(roundEnd - clock.now());
    expect(await a.done).toBe('lost');
    // As client-go: one retry period, then the renew deadline, from the last (here the first) renewal.
    expect(a.lostAt()).toBe(roundEnd);
    expect(a.leadership()?.aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('steps down at the renew deadline of its last renewal even while a renewal hangs unanswered', async () => {
    const { proxy, kubeConfig } = await behindProxy();
    const a = campaign('a', kubeConfig);
    await a.leading;
    await clock.whenSleeping(2);
    await clock.advance(RETRY_MS);
    await clock.whenSleeping(2);
    const renewedAt = clock.now();
    expect(a.errors).toEqual([]);
    // A partition: connections are accepted and never answered.
    proxy.cutOff('blackhole');
    await clock.advance(RETRY_MS);
    // Only the watchdog sleeps: the renewal is stuck in its request.
    await clock.whenSleeping(1);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(renewedAt + RETRY_MS + RENEW_DEADLINE_MS - clock.now());
    expect(await a.done).toBe('lost');
    expect(a.lostAt()).toBe(renewedAt + RETRY_MS + RENEW_DEADLINE_MS);
    // Stepped down before the lease it last wrote expires for a follower that saw the renewal.
    expect(a.lostAt()).toBeLessThan(renewedAt + LEASE_MS);
  });

  it('steps down at its next renewal when the lease names another holder', async () => {
    const api = kube.kubeConfig.makeApiClient(CoordinationV1Api);
    const a = campaign('a');
    await a.leading;
    await clock.whenSleeping(2);
    const lease = await api.readNamespacedLease({ name: 'mic', namespace: 'default' });
    await api.replaceNamespacedLease({
      name: 'mic',
      namespace: 'default',
      body: {
        metadata: {
          name: 'mic',
          namespace: 'default',
          resourceVersion: lease.metadata?.resourceVersion,
        },
        spec: {
          holderIdentity: 'usurper',
          leaseDurationSeconds: 1,
          renewTime: new V1MicroTime(clock.now()),
        },
      },
    });
    await clock.advance(RETRY_MS);
    expect(await a.done).toBe('lost');
    expect(a.lostAt()).toBe(a.startedAt()! + RETRY_MS);
    expect(await holder()).toBe('usurper');
  });
});
