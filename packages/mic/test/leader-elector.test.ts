/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
// Lease leader election through the real client-node CoordinationV1Api against the testkit's
// Kubernetes emulator.
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { createLeaderElector } from '@pod-identity/core/kubernetes';
import { startKubernetesEmulator, type KubernetesEmulator } from '@pod-identity/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let kube: KubernetesEmulator;
const stops: AbortController[] = [];
beforeEach(async () => {
  kube = await startKubernetesEmulator();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop.abort();
  await kube.close();
});

function elector(identity: string) {
  return createLeaderElector({
    kubeConfig: kube.kubeConfig,
    namespace: 'default',
    name: 'mic',
    identity,
    leaseDurationMs: 1_000,
  });
}

function campaign(identity: string) {
  const e = elector(identity);
  const stop = new AbortController();
  stops.push(stop);
  let leadership: AbortSignal | undefined;
  const started = new Promise<number>((resolve) => {
    void e.run(
      {
        onStartedLeading: (signal) => {
          leadership = signal;
          resolve(Date.now());
        },
      },
      stop.signal,
    );
  });
  return { elector: e, stop, started, leadership: () => leadership };
}

async function holder(): Promise<string | undefined> {
  const lease = await kube.kubeConfig
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'mic', namespace: 'default' });
  return lease.spec?.holderIdentity;
}

describe('createLeaderElector', () => {
  it('takes a free lease, and a second candidate waits', async () => {
    const a = campaign('a');
    await a.started;
    expect(a.elector.isLeader()).toBe(true);
    expect(await holder()).toBe('a');
    const b = campaign('b');
    const raced = await Promise.race([
      b.started.then(() => 'b led'),
      new Promise((r) => setTimeout(() => { r('b waited'); }, 1_500)),
    ]);
    expect(raced).toBe('b waited');
    expect(b.elector.isLeader()).toBe(false);
  });

  it('waits a full lease duration, by its own clock, before taking over from a holder that stopped renewing', async () => {
    const api = kube.kubeConfig.makeApiClient(CoordinationV1Api);
    const now = new V1MicroTime(Date.now());
    // A holder that crashed just now: it renewed once and never again.
    await api.createNamespacedLease({
      namespace: 'default',
      body: {
        metadata: { name: 'mic', namespace: 'default' },
        spec: {
          holderIdentity: 'ghost',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      },
    });
    const before = Date.now();
    const me = campaign('me');
    const acquiredAt = await me.started;
    // Expiry is judged from when this candidate first saw the record, never before a full duration.
    expect(acquiredAt - before).toBeGreaterThanOrEqual(1_000);
    const lease = await api.readNamespacedLease({ name: 'mic', namespace: 'default' });
    expect(lease.spec?.holderIdentity).toBe('me');
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  it('releases the lease on stop so that a follower takes over at once', async () => {
    const a = campaign('a');
    await a.started;
    const b = campaign('b');
    a.stop.abort();
    const startedAt = Date.now();
    await b.started;
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(a.leadership()?.aborted).toBe(true);
    expect(await holder()).toBe('b');
  });
});
