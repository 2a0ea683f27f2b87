import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createAssignmentPlanner,
  planAssignments,
  toAssignedIdentity,
} from './plan-assignments.js';
import type { AzureAssignedIdentity, AzureIdentityBinding } from '../crd/types.js';
import { planIdentityDeltas } from './plan-identity-deltas.js';
import {
  binding,
  identity,
  pod,
  recordFor,
  vmssProviderId,
} from './planner-fixtures.test-support.js';

describe('planAssignments', () => {
  it('creates one record per (pod, identity) named <pod>-<podNs>-<identity> in default', () => {
    const plan = planAssignments({
      pods: [pod('demo', 'node-0', 'demo', 'apps')],
      identities: [identity('demo-aad1')],
      bindings: [binding('demo-binding', 'demo-aad1', 'demo')],
      assignedIdentities: [],
    });
    expect(plan.creates.map((d) => d.key)).toEqual(['default/demo-apps-demo-aad1']);
    const wire = toAssignedIdentity(plan.creates[0]!);
    expect(wire.metadata).toMatchObject({
      name: 'demo-apps-demo-aad1',
      namespace: 'default',
      labels: { nodename: 'node-0' },
      finalizers: ['azureassignedidentity.finalizers.aadpodidentity.k8s.io'],
    });
    expect(wire.spec).toMatchObject({ pod: 'demo', podNamespace: 'apps', nodename: 'node-0' });
    expect(wire.status).toEqual({ status: 'Created', availableReplicas: 1 });
    expect(wire.spec.azureIdentityRef.metadata.name).toBe('demo-aad1');
  });

  it('skips unscheduled pods, unlabelled pods and finished pods', () => {
    const plan = planAssignments({
      pods: [
        pod('pending', '', 'demo'),
        pod('nolabel', 'n', ''),
        pod('done', 'n', 'demo', 'default', 'Succeeded'),
        pod('failed', 'n', 'demo', 'default', 'Failed'),
      ],
      identities: [identity('id')],
      bindings: [binding('b', 'id', 'demo')],
      assignedIdentities: [],
    });
    expect(plan.desired).toEqual([]);
  });

  it('reports a type-0 identity with an invalid resourceID instead of silently dropping it', () => {
    const plan = planAssignments({
      pods: [pod('p', 'n', 'demo')],
      identities: [
        identity('bad', { resourceID: '/subscriptions/s/providers/x' }),
        identity('good'),
      ],
      bindings: [binding('b1', 'bad', 'demo'), binding('b2', 'good', 'demo')],
      assignedIdentities: [],
    });
    expect(plan.desired.map((d) => d.identity.metadata.name)).toEqual(['good']);
    expect(plan.skipped.map((s) => [s.reason, s.object])).toEqual([
      ['invalid-identity', 'default/bad'],
      ['identity-not-found', 'default/b1'],
    ]);
  });

  it('reports a binding to a missing identity once, and binds the identity of the binding namespace only', () => {
    const plan = planAssignments({
      pods: [pod('p1', 'n', 'demo'), pod('p2', 'n', 'demo')],
      identities: [identity('id', { namespace: 'other' })],
      bindings: [binding('b', 'id', 'demo', { namespace: 'default' })],
      assignedIdentities: [],
    });
    expect(plan.desired).toEqual([]);
    expect(plan.skipped).toHaveLength(1);
    expect(plan.skipped[0]!.message).toBe(
      'default/id identity not found when using default/b binding',
    );
  });

  it('in namespaced mode binds only within the pod namespace and puts records there', () => {
    const snapshot = {
      pods: [pod('p', 'n', 'demo', 'team-a'), pod('q', 'n', 'demo', 'team-b')],
      identities: [identity('id', { namespace: 'team-a' })],
      bindings: [binding('b', 'id', 'demo', { namespace: 'team-a' })],
      assignedIdentities: [],
    };
    expect(planAssignments(snapshot).desired.map((d) => d.key)).toEqual([
      'default/p-team-a-id',
      'default/q-team-b-id',
    ]);
    expect(planAssignments(snapshot, { forceNamespaced: true }).desired.map((d) => d.key)).toEqual([
      'team-a/p-team-a-id',
    ]);
  });

  it('honours the per-identity namespaced annotation without the flag', () => {
    const plan = planAssignments({
      pods: [pod('p', 'n', 'demo', 'team-a'), pod('q', 'n', 'demo', 'team-b')],
      identities: [identity('id', { namespace: 'team-a', namespaced: true })],
      bindings: [binding('b', 'id', 'demo', { namespace: 'team-a' })],
      assignedIdentities: [],
    });
    expect(plan.desired.map((d) => d.key)).toEqual(['team-a/p-team-a-id']);
  });

  it('neither records nor assigns an identity annotated federated, and drops its records from before', () => {
    const plain = identity('id');
    const federated: typeof plain = {
      ...plain,
      metadata: { ...plain.metadata, annotations: { 'aadpodidentity.k8s.io/federated': 'true' } },
    };
    const base = { pods: [pod('p', 'n', 'demo')], bindings: [binding('b', 'id', 'demo')] };
    const before = planAssignments({ ...base, identities: [plain], assignedIdentities: [] });
    expect(before.creates).toHaveLength(1);
    const plan = planAssignments({
      ...base,
      identities: [federated],
      assignedIdentities: [recordFor(before.creates[0]!, 'Assigned')],
    });
    expect(plan.desired).toEqual([]);
    expect(plan.creates).toEqual([]);
    // Not a problem to report: the binding is served by federation.
    expect(plan.skipped).toEqual([]);
    expect(plan.deletes.map((r) => r.metadata.name)).toEqual(['p-default-id']);
    // Any other value is not federated.
    const other = planAssignments({
      ...base,
      identities: [
        {
          ...plain,
          metadata: {
            ...plain.metadata,
            annotations: { 'aadpodidentity.k8s.io/federated': 'True' },
          },
        },
      ],
      assignedIdentities: [],
    });
    expect(other.creates).toHaveLength(1);
  });

  it('keeps the first of two pairs with the same record name and reports the second', () => {
    const plan = planAssignments({
      pods: [pod('p', 'n', 'demo')],
      identities: [identity('id', { namespace: 'a' }), identity('id', { namespace: 'b' })],
      bindings: [
        binding('b2', 'id', 'demo', { namespace: 'b' }),
        binding('b1', 'id', 'demo', { namespace: 'a' }),
      ],
      assignedIdentities: [],
    });
    expect(plan.desired).toHaveLength(1);
    expect(plan.desired[0]!.binding.metadata.namespace).toBe('a');
    expect(plan.skipped.map((s) => s.reason)).toEqual(['duplicate-record-name']);
  });

  it('leaves matching Assigned records alone, retries Created ones, deletes orphans', () => {
    const base = {
      identities: [identity('id')],
      bindings: [binding('b', 'id', 'demo')],
    };
    const first = planAssignments({
      ...base,
      pods: [pod('a', 'n', 'demo'), pod('b', 'n', 'demo')],
      assignedIdentities: [],
    });
    const [a, b] = first.creates;
    const orphan = recordFor({
      ...a!,
      name: 'gone-default-id',
      key: 'default/gone-default-id',
      podName: 'gone',
    });
    const plan = planAssignments({
      ...base,
      pods: [pod('a', 'n', 'demo'), pod('b', 'n', 'demo')],
      assignedIdentities: [recordFor(a!, 'Assigned'), recordFor(b!, 'Created'), orphan],
    });
    expect(plan.creates).toEqual([]);
    expect(plan.updates).toEqual([]);
    expect(plan.pending.map((d) => d.podName)).toEqual(['b']);
    expect(plan.deletes.map((r) => r.metadata.name)).toEqual(['gone-default-id']);
  });

  it('updates a record when the pod moves node or the identity is edited or recreated', () => {
    const id = identity('id');
    const first = planAssignments({
      pods: [pod('a', 'n1', 'demo')],
      identities: [id],
      bindings: [binding('b', 'id', 'demo')],
      assignedIdentities: [],
    });
    const record = recordFor(first.creates[0]!);
    const moved = planAssignments({
      pods: [pod('a', 'n2', 'demo')],
      identities: [id],
      bindings: [binding('b', 'id', 'demo')],
      assignedIdentities: [record],
    });
    expect(moved.updates).toHaveLength(1);
    const rewritten = toAssignedIdentity(moved.updates[0]!.desired, moved.updates[0]!.current);
    expect(rewritten.metadata.labels).toEqual({ nodename: 'n2' });
    expect(rewritten.metadata.resourceVersion).toBe('7');
    expect(rewritten.status?.status).toBe('Created');

    const recreated = planAssignments({
      pods: [pod('a', 'n1', 'demo')],
      identities: [identity('id', { uid: 'new-uid' })],
      bindings: [binding('b', 'id', 'demo')],
      assignedIdentities: [record],
    });
    expect(recreated.updates).toHaveLength(1);
  });

  it('writes the pod UID on the record and rewrites a record made for an earlier pod of the same name', () => {
    const id = identity('id');
    const bindings = [binding('b', 'id', 'demo')];
    const first = planAssignments({
      pods: [{ ...pod('a', 'n1', 'demo'), uid: 'pod-uid-1' }],
      identities: [id],
      bindings,
      assignedIdentities: [],
    });
    const record = recordFor(first.creates[0]!);
    expect(record.metadata.annotations).toEqual({ 'aadpodidentity.k8s.io/pod-uid': 'pod-uid-1' });

    // Same name, same label, same node, new UID: the record is rewritten for the new pod.
    const recreated = planAssignments({
      pods: [{ ...pod('a', 'n1', 'demo'), uid: 'pod-uid-2' }],
      identities: [id],
      bindings,
      assignedIdentities: [record],
    });
    expect(recreated.updates).toHaveLength(1);
    const rewritten = toAssignedIdentity(
      recreated.updates[0]!.desired,
      recreated.updates[0]!.current,
    );
    expect(rewritten.metadata.annotations).toEqual({
      'aadpodidentity.k8s.io/pod-uid': 'pod-uid-2',
    });
    expect(rewritten.status?.status).toBe('Created');

    // The same pod again: nothing to do.
    const same = planAssignments({
      pods: [{ ...pod('a', 'n1', 'demo'), uid: 'pod-uid-1' }],
      identities: [id],
      bindings,
      assignedIdentities: [record],
    });
    expect(same.updates).toEqual([]);
    expect(same.creates).toEqual([]);
  });

  it('leaves a record of the original MIC (no pod UID) alone and keeps other annotations on rewrite', () => {
    const id = identity('id');
    const bindings = [binding('b', 'id', 'demo')];
    const desired = planAssignments({
      pods: [pod('a', 'n1', 'demo')],
      identities: [id],
      bindings,
      assignedIdentities: [],
    }).creates[0]!;
    const legacy = recordFor(desired);
    expect(legacy.metadata.annotations).toBeUndefined();
    const plan = planAssignments({
      pods: [{ ...pod('a', 'n1', 'demo'), uid: 'pod-uid-1' }],
      identities: [id],
      bindings,
      assignedIdentities: [legacy],
    });
    expect(plan.updates).toEqual([]);
    expect(plan.creates).toEqual([]);

    const annotated = {
      ...legacy,
      metadata: {
        ...legacy.metadata,
        annotations: { keep: 'me', 'aadpodidentity.k8s.io/pod-uid': 'old' },
      },
    };
    const moved = planAssignments({
      pods: [{ ...pod('a', 'n2', 'demo'), uid: 'pod-uid-1' }],
      identities: [id],
      bindings,
      assignedIdentities: [annotated],
    });
    const rewritten = toAssignedIdentity(moved.updates[0]!.desired, moved.updates[0]!.current);
    expect(rewritten.metadata.annotations).toEqual({
      keep: 'me',
      'aadpodidentity.k8s.io/pod-uid': 'pod-uid-1',
    });
  });

  it('is a fixed point: planning again over its own result changes nothing', () => {
    const arbitraryWorld = fc.record({
      pods: fc.uniqueArray(
        fc.record({
          name: fc.constantFrom('a', 'b', 'c', 'd'),
          namespace: fc.constantFrom('x', 'y'),
          nodeName: fc.constantFrom('', 'n1', 'n2'),
          selector: fc.constantFrom('', 's1', 's2'),
        }),
        { selector: (p) => `${p.namespace}/${p.name}` },
      ),
      bindings: fc.uniqueArray(
        fc.record({
          name: fc.constantFrom('b1', 'b2', 'b3'),
          namespace: fc.constantFrom('x', 'y'),
          identity: fc.constantFrom('i1', 'i2'),
          selector: fc.constantFrom('s1', 's2'),
        }),
        { selector: (b) => `${b.namespace}/${b.name}` },
      ),
      identities: fc.uniqueArray(
        fc.record({
          name: fc.constantFrom('i1', 'i2'),
          namespace: fc.constantFrom('x', 'y'),
          type: fc.constantFrom(0 as const, 1 as const),
        }),
        { selector: (i) => `${i.namespace}/${i.name}` },
      ),
      forceNamespaced: fc.boolean(),
    });
    fc.assert(
      fc.property(arbitraryWorld, (world) => {
        const snapshot = {
          pods: world.pods,
          bindings: world.bindings.map((b) =>
            binding(b.name, b.identity, b.selector, { namespace: b.namespace }),
          ),
          identities: world.identities.map((i) =>
            identity(i.name, { namespace: i.namespace, type: i.type }),
          ),
        };
        const first = planAssignments({ ...snapshot, assignedIdentities: [] }, world);
        // Every desired pair is unique by record key and bound on a scheduled pod.
        expect(new Set(first.desired.map((d) => d.key)).size).toBe(first.desired.length);
        for (const d of first.desired) expect(d.nodeName).not.toBe('');
        const records = first.creates.map((d) => recordFor(d));
        const second = planAssignments({ ...snapshot, assignedIdentities: records }, world);
        expect(second.creates).toEqual([]);
        expect(second.updates).toEqual([]);
        expect(second.deletes).toEqual([]);
        expect(second.pending).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same answers with memory (createAssignmentPlanner) as without, pass after pass', () => {
    // Names with hyphens collide ('a-x' in 'y' and 'a' in 'x-y' both make record `a-x-y-id`), and
    // a second identity named `id` in 'y' clashes with the first: duplicates across passes.
    const podArb = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'a-x'),
      namespace: fc.constantFrom('x', 'y', 'x-y'),
      nodeName: fc.constantFrom('', 'n1', 'n2'),
      selector: fc.constantFrom('s1', 's2'),
    });
    const world = fc.record({
      pods: fc.uniqueArray(podArb, { selector: (p) => `${p.namespace}/${p.name}` }),
      bindingSelector: fc.constantFrom('s1', 's2'),
      identityRv: fc.constantFrom('1', '2'),
      recordsFromPrevious: fc.boolean(),
      secondIdentity: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(world, { minLength: 1, maxLength: 6 }), (passes) => {
        const planner = createAssignmentPlanner();
        let records: ReturnType<typeof recordFor>[] = [];
        // Objects are kept across passes when unchanged, as an informer cache does.
        const idCache = new Map<string, ReturnType<typeof identity>>();
        const podCache = new Map<string, ReturnType<typeof pod>>();
        const bindingCache = new Map<string, ReturnType<typeof binding>>();
        const second = identity('id', { namespace: 'y' });
        const secondBinding = binding('b2', 'id', 's1', { namespace: 'y' });
        for (const pass of passes) {
          const id =
            idCache.get(pass.identityRv) ?? identity('id', { namespace: 'x', rv: pass.identityRv });
          idCache.set(pass.identityRv, id);
          const pods = pass.pods.map((p) => {
            const key = JSON.stringify(p);
            const cached = podCache.get(key) ?? pod(p.name, p.nodeName, p.selector, p.namespace);
            podCache.set(key, cached);
            return cached;
          });
          const first =
            bindingCache.get(pass.bindingSelector) ??
            binding('b', 'id', pass.bindingSelector, { namespace: 'x' });
          bindingCache.set(pass.bindingSelector, first);
          const snapshot = {
            pods,
            identities: pass.secondIdentity ? [id, second] : [id],
            bindings: pass.secondIdentity ? [first, secondBinding] : [first],
            assignedIdentities: records,
          };
          // The memo planner also gets the records by key, as an informer offers them.
          const byKey = new Map(
            records.map((r) => [`${r.metadata.namespace ?? ''}/${r.metadata.name}`, r]),
          );
          const memo = planner.plan({ ...snapshot, findAssignedIdentity: (key) => byKey.get(key) });
          const fresh = planAssignments(snapshot);
          const keys = (p: typeof fresh) => ({
            desired: p.desired.map((d) => [d.key, d.current?.metadata.name]),
            creates: p.creates.map((d) => d.key),
            updates: p.updates.map((u) => u.desired.key),
            deletes: p.deletes.map((r) => r.metadata.name),
            pending: p.pending.map((d) => d.key),
            skipped: p.skipped.map((k) => [k.reason, k.object, k.message]),
          });
          expect(keys(memo)).toEqual(keys(fresh));
          if (pass.recordsFromPrevious) records = memo.desired.map((d) => recordFor(d, 'Assigned'));
        }
      }),
      { numRuns: 400 },
    );
  });
});

// Objects an existing cluster may hold that this project never writes. Each is described in our own
// words, with the release or document of the Go original it comes from.
describe('planAssignments with objects left by the Go original', () => {
  // AAD Pod Identity 1.5.x and earlier wrote records with lower-case `azureidentityref`,
  // `azurebindingref` and `podnamespace` and a capitalised top-level `Status`; once the API server
  // prunes those names under a structural CRD, the record keeps only its pod and node.
  function prunedRecordOfMic15(name: string, podName: string): AzureAssignedIdentity {
    return {
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureAssignedIdentity',
      metadata: { name, namespace: 'default', resourceVersion: '3' },
      spec: { pod: podName, nodename: 'node-0' },
    } as unknown as AzureAssignedIdentity;
  }

  it('leaves out a record of Go MIC 1.5.x (no spec.azureIdentityRef), reports it by name, and plans everything else', () => {
    const legacy = prunedRecordOfMic15('old-default-id', 'old');
    const snapshot = {
      pods: [pod('new', 'node-0', 'demo')],
      identities: [identity('id')],
      bindings: [binding('b', 'id', 'demo')],
    };
    const plan = planAssignments({ ...snapshot, assignedIdentities: [legacy] });
    expect(plan.creates.map((d) => d.key)).toEqual(['default/new-default-id']);
    expect(plan.deletes).toEqual([]);
    expect(plan.overwrites).toEqual([]);
    expect(plan.skipped).toEqual([
      expect.objectContaining({
        reason: 'invalid-record',
        kind: 'AzureAssignedIdentity',
        object: 'default/old-default-id',
      }),
    ]);
    expect(plan.skipped[0]!.message).toMatch(/spec\.podNamespace|spec\.azureIdentityRef/);
    // The identity-delta planner gets nothing it cannot read.
    expect(() =>
      planIdentityDeltas({
        plan,
        nodeProviderIds: new Map([['node-0', vmssProviderId('pool', 0)]]),
        owned: new Map(),
        immutable: [],
      }),
    ).not.toThrow();
  });

  it('overwrites an unreadable record whose name a pod still needs (PUT over it, not POST beside it)', () => {
    const legacy = {
      ...prunedRecordOfMic15('old-default-id', 'old'),
      spec: { pod: 'old', podNamespace: 'default', nodename: 'node-0' },
    } as unknown as AzureAssignedIdentity;
    const plan = planAssignments({
      pods: [pod('old', 'node-0', 'demo')],
      identities: [identity('id')],
      bindings: [binding('b', 'id', 'demo')],
      assignedIdentities: [legacy],
    });
    expect(plan.creates.map((d) => d.key)).toEqual(['default/old-default-id']);
    expect(plan.overwrites.map((o) => [o.desired.key, o.metadata.resourceVersion])).toEqual([
      ['default/old-default-id', '3'],
    ]);
    const overwrite = plan.overwrites[0]!;
    const wire = toAssignedIdentity(overwrite.desired, overwrite);
    expect(wire.metadata.resourceVersion).toBe('3');
    expect(wire.spec.azureIdentityRef.metadata.name).toBe('id');
  });

  it('refuses the type-2 identity of the Go documentation (clientPassword {Name, Namespace}, pruned to {}): no record', () => {
    const certificate = identity('sp-cert', { type: 2 });
    certificate.spec.clientPassword = {};
    const plan = planAssignments({
      pods: [pod('p', 'node-0', 'demo')],
      identities: [certificate],
      bindings: [binding('b', 'sp-cert', 'demo')],
      assignedIdentities: [],
    });
    expect(plan.desired).toEqual([]);
    expect(plan.skipped.map((s) => [s.reason, s.object])).toEqual([
      ['invalid-identity', 'default/sp-cert'],
      ['identity-not-found', 'default/b'],
    ]);
    expect(plan.skipped[0]!.message).toContain('spec.clientPassword.name: is required');
    expect(plan.skipped[1]!.message).toContain('identity is invalid');
  });

  it('refuses a pre-1.6 binding (AzureIdentity and Selector capitalised) and says which names to use', () => {
    const old = {
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentityBinding',
      metadata: { name: 'old-binding', namespace: 'default' },
      spec: { AzureIdentity: 'id', Selector: 'demo' },
    } as unknown as AzureIdentityBinding;
    const plan = planAssignments({
      pods: [pod('p', 'node-0', 'demo')],
      identities: [identity('id')],
      bindings: [old, binding('b', 'id', 'demo')],
      assignedIdentities: [],
    });
    expect(plan.creates.map((d) => d.key)).toEqual(['default/p-default-id']);
    expect(plan.skipped).toEqual([
      expect.objectContaining({ reason: 'invalid-binding', object: 'default/old-binding' }),
    ]);
    expect(plan.skipped[0]!.message).toContain('write azureIdentity and selector');
  });

  it("leaves out what the caller's parser refused (parseProblem), with its reason", () => {
    const refused = identity('refused');
    const plan = planAssignments({
      pods: [pod('p', 'node-0', 'demo')],
      identities: [refused, identity('ok')],
      bindings: [binding('b1', 'refused', 'demo'), binding('b2', 'ok', 'demo')],
      assignedIdentities: [],
      parseProblem: (object) => (object === refused ? 'spec.clientID: not a GUID' : undefined),
    });
    expect(plan.desired.map((d) => d.identity.metadata.name)).toEqual(['ok']);
    expect(plan.skipped[0]).toMatchObject({
      reason: 'invalid-identity',
      object: 'default/refused',
      message: 'ignoring azure identity default/refused: spec.clientID: not a GUID',
    });
  });
});
