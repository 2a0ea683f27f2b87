import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AzureAssignedIdentity } from '../crd/types.js';
import { nodeTarget } from './identity-target.js';
import { planAssignments, type AssignmentSnapshot } from './plan-assignments.js';
import { planIdentityDeltas, parseTargetKey, type OwnedIdentity } from './plan-identity-deltas.js';
import {
  binding,
  identity,
  pod,
  recordFor,
  uamiId,
  vmProviderId,
  vmssProviderId,
} from './planner-fixtures.test-support.js';

const nodes = new Map([
  ['vmss-a-0', vmssProviderId('vmss-a', 0)],
  ['vmss-a-1', vmssProviderId('vmss-a', 1)],
  ['vmss-b-0', vmssProviderId('vmss-b', 0)],
  ['vm-1', vmProviderId('vm-1')],
  ['fresh', ''],
  ['aws', 'aws:///us-east-1a/i-0123'],
]);
const targetA = (
  nodeTarget('vmss-a-0', nodes.get('vmss-a-0')) as { ok: true; target: { key: string } }
).target.key;

function owned(...names: string[]): Map<string, Map<string, OwnedIdentity>> {
  return new Map([
    [
      targetA,
      new Map(
        names.map((n) => [
          uamiId(n).toLowerCase(),
          { resourceId: uamiId(n), clientId: `client-${n}` },
        ]),
      ),
    ],
  ]);
}

/** Plans a world where `before` pods had Assigned records and `after` pods are what is left. */
function transition(
  world: Omit<AssignmentSnapshot, 'pods' | 'assignedIdentities'>,
  before: ReturnType<typeof pod>[],
  after: ReturnType<typeof pod>[],
): { records: AzureAssignedIdentity[]; plan: ReturnType<typeof planAssignments> } {
  const records = planAssignments({ ...world, pods: before, assignedIdentities: [] }).creates.map(
    (d) => recordFor(d, 'Assigned'),
  );
  return { records, plan: planAssignments({ ...world, pods: after, assignedIdentities: records }) };
}

describe('nodeTarget', () => {
  it('groups scale-set instances under their scale set and keeps VMs apart', () => {
    const a0 = nodeTarget('vmss-a-0', nodes.get('vmss-a-0'));
    const a1 = nodeTarget('vmss-a-1', nodes.get('vmss-a-1'));
    const vm = nodeTarget('vm-1', nodes.get('vm-1'));
    expect(a0.ok && a1.ok && a0.target.key === a1.target.key).toBe(true);
    expect(vm).toMatchObject({
      ok: true,
      target: { kind: 'vm', name: 'vm-1', resourceGroup: 'nodes' },
    });
    expect(parseTargetKey(targetA)).toMatchObject({ kind: 'vmss', name: 'vmss-a', key: targetA });
  });

  it('names the problem for missing, uninitialised and foreign nodes', () => {
    expect(nodeTarget('x', undefined)).toMatchObject({ ok: false, problem: 'node-not-found' });
    expect(nodeTarget('fresh', '')).toMatchObject({
      ok: false,
      problem: 'node-without-provider-id',
    });
    expect(nodeTarget('aws', nodes.get('aws'))).toMatchObject({
      ok: false,
      problem: 'unknown-node-type',
    });
  });
});

describe('planIdentityDeltas', () => {
  const world = {
    identities: [identity('id1'), identity('id2'), identity('sp', { type: 1, resourceID: '' })],
    bindings: [binding('b1', 'id1', 's1'), binding('b2', 'id2', 's2'), binding('b3', 'sp', 's3')],
  };

  it('puts every new pod identity of a scale set in one delta, and SP identities in direct', () => {
    const plan = planAssignments({
      ...world,
      pods: [pod('p', 'vmss-a-0', 's1'), pod('q', 'vmss-a-1', 's2'), pod('r', 'vmss-a-1', 's3')],
      assignedIdentities: [],
    });
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: nodes,
      owned: new Map(),
      immutable: [],
    });
    expect(deltas.targets).toHaveLength(1);
    expect(deltas.targets[0]!.ensure.map((r) => r.resourceId).sort()).toEqual([
      uamiId('id1'),
      uamiId('id2'),
    ]);
    expect(deltas.targets[0]!.assign.map((d) => d.podName).sort()).toEqual(['p', 'q']);
    expect(deltas.direct.assign.map((d) => d.podName)).toEqual(['r']);
  });

  it('removes an identity MIC added when its last pod on the scale set goes', () => {
    const { plan } = transition(world, [pod('p', 'vmss-a-0', 's1')], []);
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: nodes,
      owned: owned('id1'),
      immutable: [],
    });
    expect(deltas.targets[0]!.remove.map((r) => r.resourceId)).toEqual([uamiId('id1')]);
    expect(deltas.targets[0]!.release.map((r) => r.spec.pod)).toEqual(['p']);
  });

  it('never removes an identity that MIC did not add (assigned by hand)', () => {
    const { plan } = transition(world, [pod('p', 'vmss-a-0', 's1')], []);
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: nodes,
      owned: new Map(),
      immutable: [],
    });
    expect(deltas.targets[0]!.remove).toEqual([]);
    expect(deltas.targets[0]!.kept).toMatchObject([{ reason: 'not-added-by-mic' }]);
    expect(deltas.targets[0]!.release).toHaveLength(1);
  });

  it('keeps an identity used by another pod of the same scale set, compared by namespace and name', () => {
    // Same pod name in two namespaces: the original compared names only and removed it.
    const { plan } = transition(
      world,
      [pod('web', 'vmss-a-0', 's1', 'team-a'), pod('web', 'vmss-a-1', 's1', 'team-b')],
      [pod('web', 'vmss-a-1', 's1', 'team-b')],
    );
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: nodes,
      owned: owned('id1'),
      immutable: [],
    });
    expect(deltas.targets[0]!.remove).toEqual([]);
    expect(deltas.targets[0]!.kept).toMatchObject([{ reason: 'in-use', usedBy: ['team-b/web'] }]);
  });

  it('removes from one scale set an identity still used on another', () => {
    const { plan } = transition(
      world,
      [pod('p', 'vmss-a-0', 's1'), pod('q', 'vmss-b-0', 's1')],
      [pod('q', 'vmss-b-0', 's1')],
    );
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: nodes,
      owned: owned('id1'),
      immutable: [],
    });
    expect(deltas.targets.map((t) => t.target.name)).toEqual(['vmss-a']);
    expect(deltas.targets[0]!.remove).toHaveLength(1);
  });

  it('never removes immutable identities, whatever the case of their client ID', () => {
    const { plan } = transition(world, [pod('p', 'vmss-a-0', 's1')], []);
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: nodes,
      owned: owned('id1'),
      immutable: ['CLIENT-ID1'],
    });
    expect(deltas.targets[0]!.remove).toEqual([]);
    expect(deltas.targets[0]!.kept).toMatchObject([{ reason: 'immutable' }]);
  });

  it('removes owned identities no record needs even when no record changed (lost removal)', () => {
    const plan = planAssignments({ ...world, pods: [], assignedIdentities: [] });
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: nodes,
      owned: owned('id1'),
      immutable: [],
    });
    expect(deltas.targets).toHaveLength(1);
    expect(deltas.targets[0]!.target.key).toBe(targetA);
    expect(deltas.targets[0]!.remove.map((r) => r.key)).toEqual([uamiId('id1').toLowerCase()]);
  });

  it('lets records on unusable nodes wait, and releases records of vanished nodes without ARM', () => {
    const records = planAssignments({
      ...world,
      pods: [pod('gone', 'deleted-node', 's1')],
      assignedIdentities: [],
    }).creates.map((d) => recordFor(d));
    const plan = planAssignments({
      ...world,
      pods: [pod('p', 'fresh', 's1'), pod('q', 'aws', 's2')],
      assignedIdentities: records,
    });
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: nodes,
      owned: new Map(),
      immutable: [],
    });
    expect(deltas.targets).toEqual([]);
    expect(
      deltas.unplaced.map((u) => [u.nodeName, u.problem, u.waiting.length, u.release.length]),
    ).toEqual([
      ['fresh', 'node-without-provider-id', 1, 0],
      ['aws', 'unknown-node-type', 1, 0],
      ['deleted-node', 'node-not-found', 0, 1],
    ]);
  });

  it('only returns steady targets when asked (drift check)', () => {
    const first = planAssignments({
      ...world,
      pods: [pod('p', 'vmss-a-0', 's1')],
      assignedIdentities: [],
    });
    const plan = planAssignments({
      ...world,
      pods: [pod('p', 'vmss-a-0', 's1')],
      assignedIdentities: first.creates.map((d) => recordFor(d, 'Assigned')),
    });
    const input = { plan, nodeProviderIds: nodes, owned: owned('id1'), immutable: [] };
    expect(planIdentityDeltas(input).targets).toEqual([]);
    expect(planIdentityDeltas({ ...input, includeSteady: true }).targets[0]!.ensure).toHaveLength(
      1,
    );
  });

  it('never removes an identity a remaining pod on the target needs, nor one MIC did not add', () => {
    const nodeNames = ['vmss-a-0', 'vmss-a-1', 'vmss-b-0', 'vm-1'];
    const podArb = fc.record({
      name: fc.constantFrom('a', 'b', 'c'),
      namespace: fc.constantFrom('x', 'y'),
      node: fc.constantFrom(...nodeNames),
      selector: fc.constantFrom('s1', 's2', 's3'),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(podArb, { selector: (p) => `${p.namespace}/${p.name}` }),
        fc.uniqueArray(podArb, { selector: (p) => `${p.namespace}/${p.name}` }),
        fc.subarray(['id1', 'id2']),
        fc.subarray(['client-id1', 'CLIENT-ID2']),
        (before, after, ownedNames, immutable) => {
          const { plan } = transition(
            world,
            before.map((p) => pod(p.name, p.node, p.selector, p.namespace)),
            after.map((p) => pod(p.name, p.node, p.selector, p.namespace)),
          );
          const ownedMap = owned(...ownedNames);
          const deltas = planIdentityDeltas({
            plan,
            nodeProviderIds: nodes,
            owned: ownedMap,
            immutable,
          });
          for (const delta of deltas.targets) {
            const needed = new Set(delta.ensure.map((r) => r.key));
            for (const removed of delta.remove) {
              expect(needed.has(removed.key)).toBe(false);
              expect(ownedMap.get(delta.target.key)?.has(removed.key)).toBe(true);
              expect(immutable.map((c) => c.toLowerCase())).not.toContain(
                removed.clientId.toLowerCase(),
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
