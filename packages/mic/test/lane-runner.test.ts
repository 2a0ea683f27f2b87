// The lane runner and the record writer alone: work planned from the emulated cluster, run against
// the ARM and Kubernetes emulators through arm-compute and client-node.
import { createIdentityAssigner } from '@pod-identity/core/arm';
import type { AzureAssignedIdentity } from '@pod-identity/core';
import {
  createAssignedIdentityClient,
  createConfigMapOwnershipLedger,
  type AssignedIdentityClient,
  type OwnershipLedger,
} from '@pod-identity/core/kubernetes';
import { goMicRecord, type GoObject } from '@pod-identity/test-support/go-original-objects';
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

  describe('rewriting a record the Go MIC left Assigned, its identity on the scale set', () => {
    // Every state this writer puts on the Go record, in order.
    const states: string[] = [];
    const goRecord = 'go-1-default-id-go';
    let spying: RecordWriter;
    let spyingRun: LaneRunner;
    let work: LaneWork | undefined;

    const spy = (inner: AssignedIdentityClient): AssignedIdentityClient => ({
      create: (record) => {
        if (record.metadata.name === goRecord) states.push(record.status?.status ?? '');
        return inner.create(record);
      },
      replace: (record) => {
        if (record.metadata.name === goRecord) states.push(record.status?.status ?? '');
        return inner.replace(record);
      },
      setState: (namespace, name, state) => {
        if (name === goRecord) states.push(state);
        return inner.setState(namespace, name, state);
      },
      delete: (namespace, name) => inner.delete(namespace, name),
    });

    /** The stored object without its uid, as the Go MIC embedded it. */
    const embedded = (kind: string, name: string): GoObject => {
      const stored = h.sandbox.kubernetes.store.get({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind,
        namespace: 'default',
        name,
      }) as unknown as GoObject;
      const copy = structuredClone(stored);
      delete (copy.metadata as { uid?: string }).uid;
      return copy;
    };

    beforeAll(async () => {
      const [node] = h.sandbox.nodes;
      if (node === undefined) throw new Error('the sandbox has nodes');
      const { resourceId } = h.identity('id-go');
      h.binding('bind-go', 'id-go', 'go');
      await h.setScaleSetIdentity(node.scaleSetName ?? '', {
        type: 'UserAssigned',
        userAssignedIdentities: { [resourceId]: {} },
      });
      h.pod('go-1', node.name, 'go');
      await waitFor(() => informers.identities.get('default/id-go') !== undefined, 'the identity');
      await waitFor(() => informers.bindings.get('default/bind-go') !== undefined, 'the binding');
      h.sandbox.kubernetes.store.put(
        goMicRecord(
          embedded('AzureIdentity', 'id-go'),
          embedded('AzureIdentityBinding', 'bind-go'),
          {
            name: 'go-1',
            namespace: 'default',
            nodeName: node.name,
          },
        ),
      );
      await waitFor(
        () =>
          informers.assigned.get(`default/${goRecord}`) !== undefined &&
          informers.pods.size() === 2,
        'the Go record and the pod in the cache',
      );
      spying = createRecordWriter({
        records: spy(createAssignedIdentityClient(h.sandbox.kubeConfig)),
        recorder,
      });
      spyingRun = createLaneRunner({
        assigner: createIdentityAssigner({
          credential,
          endpoint: h.sandbox.endpoints.arm,
          clientOptions: h.sandbox.azureClientOptions,
          pollIntervalMs: 5,
        }),
        ledger,
        writer: spying,
        recorder,
      });
      work = planned().find(
        (w) => w.kind === 'target' && w.delta.assign.some((d) => d.name === goRecord),
      );
    });

    it('goes straight to Assigned, never Created on the way (NMI would refuse the pod meanwhile)', async () => {
      if (work?.kind !== 'target') throw new Error('a target lane rewrites the Go record');
      expect(work.updates.has(`default/${goRecord}`)).toBe(true);
      await spyingRun(work, signal);
      expect(states).toEqual(['Assigned']);
      const record = h.record(goRecord) as
        | (AzureAssignedIdentity & { metadata: { annotations?: Record<string, string> } })
        | undefined;
      expect(record?.status?.status).toBe('Assigned');
      expect(record?.metadata.annotations?.['aadpodidentity.k8s.io/pod-uid']).toBeDefined();
    });

    it('a second run of the same, now stale, work changes nothing (409: the record moved on)', async () => {
      if (work?.kind !== 'target') throw new Error('a target lane rewrites the Go record');
      states.length = 0;
      await spyingRun(work, signal);
      expect(states).toEqual(['Assigned']);
      expect(h.record(goRecord)?.status?.status).toBe('Assigned');
    });

    it('a record this writer marked and then wrote back to Created is marked again', async () => {
      if (work?.kind !== 'target') throw new Error('a target lane rewrites the Go record');
      const d = work.delta.assign.find((a) => a.name === goRecord);
      if (d === undefined) throw new Error('the Go record is assigned');
      const stored = h.record(goRecord) as unknown as AzureAssignedIdentity;
      // A rewrite that does not carry the assignment (the record it replaces says Created).
      const rewrites = new Map([
        [d.key, { ...stored, status: { status: 'Created' as const, availableReplicas: 1 } }],
      ]);
      states.length = 0;
      await spying.ensure([d], rewrites);
      expect(h.record(goRecord)?.status?.status).toBe('Created');
      await spying.markAssigned([d]);
      expect(states).toEqual(['Created', 'Assigned']);
      expect(h.record(goRecord)?.status?.status).toBe('Assigned');
    });
  });

  describe('terminating records the API server refuses to update (422)', () => {
    const store = () => h.sandbox.kubernetes.store;
    const deletes: string[] = [];
    const logged: string[] = [];
    let counting: RecordWriter;

    const crdRef = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'azureassignedidentities.aadpodidentity.k8s.io',
    };

    /**
     * A record being deleted whose stored status no longer fits the schema, so that every update is
     * refused (422): written while the CRD kept any field, as under the Go original's schema-less CRDs.
     */
    const brokenRecord = (name: string, finalizers: string[]): AzureAssignedIdentity => {
      const [node] = h.sandbox.nodes;
      const shipped = store().get(crdRef);
      if (shipped === undefined) throw new Error('the CRD is installed');
      const schemaless = structuredClone(shipped) as {
        spec: { versions: { schema: { openAPIV3Schema: unknown } }[] };
      };
      for (const version of schemaless.spec.versions) {
        version.schema.openAPIV3Schema = {
          type: 'object',
          'x-kubernetes-preserve-unknown-fields': true,
        };
      }
      store().put(schemaless);
      store().put({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureAssignedIdentity',
        metadata: {
          name,
          namespace: 'default',
          finalizers,
          deletionTimestamp: '2026-01-01T00:00:00Z',
        },
        spec: { pod: name, podNamespace: 'default', nodename: node?.name ?? '' },
        status: { status: 'Assigned', availableReplicas: 'one' },
      });
      const { metadata } = store().get(crdRef) as { metadata: object };
      store().put({ ...structuredClone(shipped), metadata });
      return h.record(name) as unknown as AzureAssignedIdentity;
    };

    beforeAll(() => {
      const inner = createAssignedIdentityClient(h.sandbox.kubeConfig);
      const logger = {
        debug: () => undefined,
        info: () => undefined,
        warn: (_fields: object, message?: string) => logged.push(message ?? ''),
        error: (_fields: object, message?: string) => logged.push(message ?? ''),
        child: () => logger,
      };
      counting = createRecordWriter({
        records: {
          ...inner,
          delete: (namespace, name) => {
            deletes.push(name);
            return inner.delete(namespace, name);
          },
        },
        recorder,
        logger,
      });
    });

    it('finishes the release: the record, MIC the only finalizer, goes with its spec and status', async () => {
      const record = brokenRecord('broken-1', [
        'azureassignedidentity.finalizers.aadpodidentity.k8s.io',
      ]);
      await counting.release([record], { unassignFirst: false });
      expect(h.record('broken-1')).toBeUndefined();
    });

    it('with another finalizer on it, reports once and leaves it until it changes', async () => {
      const finalizers = [
        'azureassignedidentity.finalizers.aadpodidentity.k8s.io',
        'example.com/keep',
      ];
      const record = brokenRecord('broken-2', finalizers);
      deletes.length = 0;
      logged.length = 0;
      for (let pass = 0; pass < 3; pass += 1)
        await counting.release([record], { unassignFirst: false });
      expect(deletes).toEqual(['broken-2']);
      expect(logged).toEqual(['the API server refuses to release the record']);
      expect(events.filter((e) => e === 'Warning release error broken-2')).toHaveLength(1);
      expect(h.record('broken-2')?.metadata.finalizers).toEqual(finalizers);
      // Once someone changes it (here: writes it again), it is tried again.
      const changed = brokenRecord('broken-2', finalizers);
      await counting.release([changed], { unassignFirst: false });
      expect(deletes).toEqual(['broken-2', 'broken-2']);
    });
  });
});
