// The lane runner and the record writer alone: work planned from the emulated cluster, run against
// the ARM and Kubernetes emulators through arm-compute and client-node.
import { createIdentityAssigner } from '@pod-identity/core/arm';
import {
  createAssignedIdentityClient,
  createConfigMapOwnershipLedger,
  type OwnershipLedger,
} from '@pod-identity/core/kubernetes';
import {
  createLaneRunner,
  createMicInformers,
  createPlanDriver,
  createRecordWriter,
  createSkipReporter,
  type LaneRunner,
  type LaneWork,
  type MicInformers,
  type PlanDriver,
  type RecordWriter,
} from '@pod-identity/mic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIC_NAMESPACE, credential, startHarness, waitFor, type Harness } from './mic-harness.js';

describe('createLaneRunner with createRecordWriter', () => {
  let h: Harness;
  let informers: MicInformers;
  let ledger: OwnershipLedger;
  let writer: RecordWriter;
  let run: LaneRunner;
  let driver: PlanDriver;
  const lanes = new Map<string, LaneWork>();
  const events: string[] = [];
  const recorder = {
    event: (object: { name: string }, type: string, reason: string) =>
      events.push(`${type} ${reason} ${object.name}`),
  };
  const signal = new AbortController().signal;

  const planned = (): LaneWork[] => {
    driver.plan({ startedMs: 0, drift: false, scopedPods: undefined });
    return [...lanes.values()];
  };

  beforeAll(async () => {
    h = await startHarness();
    const { kubeConfig } = h.sandbox;
    informers = createMicInformers({ kubeConfig });
    ledger = createConfigMapOwnershipLedger({ kubeConfig, namespace: MIC_NAMESPACE });
    await ledger.load();
    writer = createRecordWriter({ records: createAssignedIdentityClient(kubeConfig), recorder });
    run = createLaneRunner({
      assigner: createIdentityAssigner({
        credential,
        endpoint: h.sandbox.endpoints.arm,
        clientOptions: h.sandbox.azureClientOptions,
        pollIntervalMs: 5,
      }),
      ledger,
      writer,
      recorder,
    });
    driver = createPlanDriver({
      informers,
      ledger,
      immutable: [],
      lanes: {
        submit: (key, work) => lanes.set(key, work),
        discard: (key) => lanes.delete(key),
        keys: () => lanes.keys(),
      },
      skips: createSkipReporter({ recorder }),
    });
    await informers.start();
  });
  afterAll(async () => {
    await informers.stop();
    await h.stop();
  });

  it('assigns: record Created, identity on the scale set (owned in the ledger), record Assigned', async () => {
    const [node] = h.sandbox.nodes;
    if (node === undefined) throw new Error('the sandbox has nodes');
    const { resourceId } = h.identity('id-a');
    h.binding('bind-a', 'id-a', 'web');
    h.pod('web-1', node.name, 'web');
    await waitFor(
      () => informers.pods.size() === 1 && informers.bindings.size() === 1,
      'the cache',
    );

    const [work] = planned();
    if (work?.kind !== 'target') throw new Error('one target lane');
    await run(work, signal);
    expect(h.idsOn(node.identityTargetId)).toEqual([resourceId.toLowerCase()]);
    expect(h.record('web-1-default-id-a')?.status?.status).toBe('Assigned');
    expect(ledger.snapshot().get(work.delta.target.key)?.size).toBe(1);
    expect(events).toContain('Normal binding applied bind-a');
    expect(work.delta.assign.every(writer.isAssignedHere)).toBe(true);
  });

  it('releases: identity off the scale set and out of the ledger, record deleted', async () => {
    const [node] = h.sandbox.nodes;
    if (node === undefined) throw new Error('the sandbox has nodes');
    await waitFor(() => informers.assigned.size() === 1, 'the record in the cache');
    h.sandbox.deletePod('web-1');
    await waitFor(() => informers.pods.size() === 0, 'the pod deletion');

    const [work] = planned();
    if (work?.kind !== 'target') throw new Error('one target lane');
    expect(work.delta.release).toHaveLength(1);
    await run(work, signal);
    expect(h.idsOn(node.identityTargetId)).toEqual([]);
    expect(h.record('web-1-default-id-a')).toBeUndefined();
    expect(ledger.snapshot().get(work.delta.target.key)?.size ?? 0).toBe(0);
  });

  it('writes nothing to ARM for records it already marked (the cache has not caught up)', async () => {
    const [, node] = h.sandbox.nodes;
    if (node === undefined) throw new Error('the sandbox has two nodes');
    h.pod('web-2', node.name, 'web');
    await waitFor(() => informers.pods.size() === 1, 'the new pod');
    const [first] = planned();
    if (first?.kind !== 'target') throw new Error('one target lane');
    await run(first, signal);
    const armRequests = h.sandbox.arm.countRequests();
    // The same plan again, before the record's echo: the lane skips ARM.
    await run(first, signal);
    expect(h.sandbox.arm.countRequests()).toBe(armRequests);
  });
});
