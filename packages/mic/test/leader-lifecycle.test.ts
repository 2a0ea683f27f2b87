// Leader-elected work alone: a Lease on the Kubernetes emulator through client-node.
import { runLeaderElected, type MicOutcome } from '@pod-identity/mic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './mic-harness.js';

describe('runLeaderElected', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ nodeCount: 1 });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('without election, works at once until stopped', async () => {
    const stop = new AbortController();
    const leading: boolean[] = [];
    const outcome = runLeaderElected({
      kubeConfig: h.sandbox.kubeConfig,
      leaderElection: false,
      signal: stop.signal,
      onLeading: (value) => leading.push(value),
      lead: (leadership) =>
        new Promise<void>((resolve) => {
          leadership.addEventListener(
            'abort',
            () => {
              resolve();
            },
            { once: true },
          );
          stop.abort();
        }),
    });
    expect(await outcome).toBe('stopped');
    expect(leading).toEqual([true, false]);
  });

  it('works only while holding the Lease, and releases it when stopped', async () => {
    const stop = new AbortController();
    let leaderWork = 0;
    let outcome: MicOutcome | undefined;
    const run = runLeaderElected({
      kubeConfig: h.sandbox.kubeConfig,
      leaderElection: { instance: 'mic-a', name: 'parts-test', namespace: 'default' },
      signal: stop.signal,
      lead: async (leadership) => {
        leaderWork += 1;
        await new Promise<void>((resolve) => {
          leadership.addEventListener(
            'abort',
            () => {
              resolve();
            },
            { once: true },
          );
        });
      },
    }).then((o) => (outcome = o));
    const lease = () =>
      h.sandbox.kubernetes.store.get({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        namespace: 'default',
        name: 'parts-test',
      }) as { spec?: { holderIdentity?: string } } | undefined;
    // The Lease is written before the elector hears back and starts the work.
    await waitFor(
      () => lease()?.spec?.holderIdentity === 'mic-a' && leaderWork === 1,
      'the lease held and the work started',
    );
    stop.abort();
    await run;
    expect(outcome).toBe('stopped');
    expect(lease()?.spec?.holderIdentity ?? '').toBe('');
  });
});
