// MIC under throttling, leader changes and large identity sets, on the testkit sandbox.
import { ArmOperation } from '@pod-identity/testkit';
import { startMicHttpServers, type Mic } from '@pod-identity/mic';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MIC_NAMESPACE, startHarness, waitFor, type Harness } from './mic-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function ledgerHas(harness: Harness, resourceId: string): boolean {
  return harness.sandbox.kubernetes.store
    .list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: MIC_NAMESPACE })
    .some((cm) => JSON.stringify(cm).toLowerCase().includes(resourceId.toLowerCase()));
}

describe('MIC at scale and under faults', () => {
  it('assigns on two scale sets at once while the third is throttled for 60 s', async () => {
    h = await startHarness({ nodeCount: 3, scaleSetCount: 3 });
    const [n0, n1, n2] = h.sandbox.nodes as [
      (typeof h.sandbox.nodes)[0],
      (typeof h.sandbox.nodes)[0],
      (typeof h.sandbox.nodes)[0],
    ];
    expect(new Set([n0, n1, n2].map((n) => n.identityTargetId)).size).toBe(3);
    h.identity('id');
    h.binding('b', 'id', 'app');
    h.sandbox.arm.faults.throttleNext({
      target: n0.identityTargetId,
      retryAfterSeconds: 60,
      count: 1,
    });
    const mic = h.startMic();
    await mic.whenActive();
    h.pod('p0', n0.name, 'app');
    h.pod('p1', n1.name, 'app');
    h.pod('p2', n2.name, 'app');
    await waitFor(
      () =>
        h!.record('p1-default-id')?.status?.status === 'Assigned' &&
        h!.record('p2-default-id')?.status?.status === 'Assigned',
      'the unthrottled scale sets Assigned',
    );
    // The others did not wait for the throttled one's minute: its record is still only Created.
    expect(h.record('p0-default-id')?.status?.status).toBe('Created');
    expect(h.idsOn(n0.identityTargetId)).toEqual([]);
    // The throttled scale set is left alone until Retry-After passes: one refused request, no more.
    expect(h.sandbox.arm.countRequests({ target: n0.identityTargetId })).toBe(1);
    await waitFor(
      () => h!.events('binding apply error').some((e) => e.message.includes(`node ${n0.name}`)),
      'a warning naming the throttling',
    );
  });

  it('splits 160 identities on one scale set into PATCHes of at most 150', async () => {
    h = await startHarness({ nodeCount: 1 });
    const node = h.sandbox.nodes[0]!;
    for (let i = 0; i < 160; i += 1) {
      h.identity(`id-${i}`);
      h.binding(`b-${i}`, `id-${i}`, `app-${i}`);
      h.pod(`p-${i}`, node.name, `app-${i}`);
    }
    h.sandbox.arm.clearRequestLog();
    h.startMic();
    await waitFor(
      () => h!.records().filter((r) => r.status?.status === 'Assigned').length === 160,
      '160 records Assigned',
      20_000,
    );
    const patches = h.sandbox.arm
      .requestLog()
      .filter((r) => r.operation === ArmOperation.ScaleSetUpdate && r.status < 300);
    expect(patches.map((p) => p.identityCount)).toEqual([150, 10]);
    expect(h.idsOn(node.identityTargetId)).toHaveLength(160);
  });

  it('a new leader finishes an assignment and a removal its predecessor was stopped in the middle of', async () => {
    h = await startHarness({ nodeCount: 1 });
    const node = h.sandbox.nodes[0]!;
    const id = h.identity('id');
    h.binding('b', 'id', 'app');
    const election = (instance: string) => ({
      leaderElection: {
        instance,
        namespace: MIC_NAMESPACE,
        name: 'mic-test',
        leaseDurationMs: 1_000,
      },
    });
    const registry = new Registry();
    const a = h.startMic(election('mic-a'));
    await a.whenActive();
    const b = h.startMic(election('mic-b'));
    const servers = await Promise.all(
      [a, b].map((mic: Mic) =>
        startMicHttpServers({ mic, registry, probePort: 0, metricsPort: 0, host: '127.0.0.1' }),
      ),
    );
    try {
      const health = async (port: number): Promise<string> =>
        (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
      expect(await health(servers[0]!.probePort)).toBe('Active');
      expect(await health(servers[1]!.probePort)).toBe('Not Active');
      expect(b.isLeader()).toBe(false);

      // A starts assigning; the PATCH takes long; A is stopped once it recorded the intent.
      h.sandbox.arm.faults.setLatency(ArmOperation.ScaleSetUpdate, 400);
      h.pod('app', node.name, 'app');
      await waitFor(
        () => ledgerHas(h!, id.resourceId),
        'the ledger records the identity before the PATCH',
      );
      await a.stop();
      await b.whenActive();
      expect(await health(servers[1]!.probePort)).toBe('Active');
      await waitFor(
        () => h!.record('app-default-id')?.status?.status === 'Assigned',
        'B finishes the assignment',
      );
      expect(h.idsOn(node.identityTargetId)).toEqual([id.resourceId.toLowerCase()]);
      expect(h.records()).toHaveLength(1);

      // B starts removing; B is stopped mid-PATCH; C must finish the removal.
      const c = h.startMic(election('mic-c'));
      h.sandbox.arm.clearRequestLog();
      h.sandbox.deletePod('app');
      await waitFor(
        () =>
          h!.sandbox.arm.countRequests({
            operation: ArmOperation.ScaleSetGet,
            target: node.identityTargetId,
          }) > 0,
        'B reads the scale set before its removal PATCH',
        20_000,
      );
      await b.stop();
      await c.whenActive();
      h.sandbox.arm.faults.setLatency(ArmOperation.ScaleSetUpdate, 0);
      await waitFor(() => h!.idsOn(node.identityTargetId).length === 0, 'C finishes the removal');
      await waitFor(() => h!.record('app-default-id') === undefined, 'record deleted');
      await waitFor(() => !ledgerHas(h!, id.resourceId), 'the ledger forgets the removed identity');
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});
