import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AzureAssignedIdentity } from '../crd/types.js';
import { nodeTarget } from './identity-target.js';
import { createAssignmentPlanner, planAssignments, type PlannerPod } from './plan-assignments.js';
import { planChangedPods } from './plan-changed-pods.js';
import {
  planIdentityDeltas,
  type IdentityDeltaPlan,
  type OwnedIdentity,
  type TargetDelta,
} from './plan-identity-deltas.js';
import {
  binding,
  identity,
  pod,
  recordFor,
  vmProviderId,
  vmssProviderId,
} from './planner-fixtures.test-support.js';

const nodeProviderIds = new Map([
  ['n1', vmssProviderId('pool-a', 0)],
  ['n2', vmssProviderId('pool-a', 1)],
  ['n3', vmssProviderId('pool-b', 0)],
  ['n4', vmProviderId('vm-c')],
]);
const targetOf = (nodeName: string): string => {
  const result = nodeTarget(nodeName, nodeProviderIds.get(nodeName));
  if (!result.ok) throw new Error(result.message);
  return result.target.key;
};
const identities = ['i1', 'i2', 'i3'].map((name) => identity(name));
const bindings = [binding('b1', 'i1', 's1'), binding('b2', 'i2', 's2'), binding('b3', 'i3', 's3')];

function normalise(delta: TargetDelta | undefined): unknown {
  if (delta === undefined) return undefined;
  return {
    ensure: delta.ensure.map((r) => r.key).sort(),
    remove: delta.remove.map((r) => r.key).sort(),
    kept: delta.kept
      .map((k) => `${k.identity.key}:${k.reason}:${[...k.usedBy].sort().join(',')}`)
      .sort(),
    assign: delta.assign.map((d) => `${d.key}@${d.nodeName}`).sort(),
    release: delta.release.map((r) => r.metadata.name).sort(),
  };
}
const byTarget = (deltas: IdentityDeltaPlan): Map<string, TargetDelta> =>
  new Map(deltas.targets.map((d) => [d.target.key, d]));

/** The cluster after every earlier pass was carried out: records Assigned, identities owned. */
function steadyState(pods: PlannerPod[]): {
  records: AzureAssignedIdentity[];
  owned: Map<string, Map<string, OwnedIdentity>>;
} {
  const plan = planAssignments({ pods, identities, bindings, assignedIdentities: [] });
  const deltas = planIdentityDeltas({ plan, nodeProviderIds, owned: new Map(), immutable: [] });
  const owned = new Map<string, Map<string, OwnedIdentity>>();
  for (const delta of deltas.targets) {
    owned.set(
      delta.target.key,
      new Map(delta.ensure.map((r) => [r.key, { resourceId: r.resourceId, clientId: r.clientId }])),
    );
  }
  return { records: plan.desired.map((d) => recordFor(d)), owned };
}

const podArb = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
  namespace: fc.constantFrom('x', 'y'),
  nodeName: fc.constantFrom('', 'n1', 'n2', 'n3', 'n4'),
  selector: fc.constantFrom('', 's1', 's2', 's3'),
  phase: fc.constantFrom('Running', 'Running', 'Succeeded'),
});
const changeArb = fc.record({
  kind: fc.constantFrom('add', 'delete', 'move', 'relabel', 'finish'),
  target: fc.nat(),
  pod: podArb,
});

describe('planChangedPods', () => {
  it('gives every touched target exactly the delta a full pass gives it, and a full pass has no work elsewhere', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(podArb, { selector: (p) => `${p.namespace}/${p.name}`, maxLength: 8 }),
        changeArb,
        (initial, change) => {
          const { records, owned } = steadyState(initial);
          // One pod changes.
          const pods: PlannerPod[] = [...initial];
          const index = pods.length === 0 ? -1 : change.target % pods.length;
          const before = index < 0 ? undefined : pods[index];
          let after: PlannerPod | undefined;
          if (change.kind === 'add' || before === undefined) {
            if (
              pods.some((p) => p.namespace === change.pod.namespace && p.name === change.pod.name)
            )
              return;
            after = change.pod;
            pods.push(after);
          } else if (change.kind === 'delete') {
            pods.splice(index, 1);
          } else {
            after =
              change.kind === 'move'
                ? { ...before, nodeName: change.pod.nodeName }
                : change.kind === 'relabel'
                  ? { ...before, selector: change.pod.selector }
                  : { ...before, phase: 'Succeeded' };
            pods[index] = after;
          }
          const changed = after ?? before;
          if (changed === undefined) return;

          const full = planAssignments({ pods, identities, bindings, assignedIdentities: records });
          const fullDeltas = byTarget(
            planIdentityDeltas({ plan: full, nodeProviderIds, owned, immutable: [] }),
          );

          const touched = new Set<string>();
          for (const p of [before, after])
            if (p !== undefined && p.nodeName !== '') touched.add(p.nodeName);
          for (const r of records) {
            if (r.spec.pod === changed.name && r.spec.podNamespace === changed.namespace)
              touched.add(r.spec.nodename);
          }
          const recordsByKey = new Map(
            records.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]),
          );
          const scoped = planChangedPods(createAssignmentPlanner(), {
            changedNodes: touched,
            nodeProviderIds,
            podsOnNode: (n) => pods.filter((p) => p.nodeName === n),
            recordsOnNode: (n) => records.filter((r) => r.spec.nodename === n),
            findAssignedIdentity: (key) => recordsByKey.get(key),
            identities,
            bindings,
            owned,
            immutable: [],
          });
          // Every node here has a target and every identity is user-assigned: always scoped.
          expect(scoped).toBeDefined();
          const scopedDeltas = byTarget(scoped!.deltas);
          const scopeTargets = new Set([...touched].map(targetOf));
          expect(new Set(scoped!.targetKeys)).toEqual(scopeTargets);
          for (const key of scopeTargets) {
            expect(normalise(scopedDeltas.get(key))).toEqual(normalise(fullDeltas.get(key)));
          }
          for (const key of scopedDeltas.keys()) expect(scopeTargets.has(key)).toBe(true);
          // The change touched nothing else: the full pass has no work outside the scope.
          for (const key of fullDeltas.keys()) expect(scopeTargets.has(key)).toBe(true);
          // Same record writes within the scope.
          const inScope = (nodeName: string): boolean =>
            nodeName !== '' && scopeTargets.has(targetOf(nodeName));
          expect(scoped!.plan.creates.map((d) => d.key).sort()).toEqual(
            full.creates
              .filter((d) => inScope(d.nodeName))
              .map((d) => d.key)
              .sort(),
          );
          expect(scoped!.plan.deletes.map((r) => r.metadata.name).sort()).toEqual(
            full.deletes.map((r) => r.metadata.name).sort(),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('asks for a full pass when a touched node has no usable target', () => {
    const scoped = planChangedPods(createAssignmentPlanner(), {
      changedNodes: ['n9'],
      nodeProviderIds,
      podsOnNode: () => [pod('a', 'n9', 's1')],
      recordsOnNode: () => [],
      findAssignedIdentity: () => undefined,
      identities,
      bindings,
      owned: new Map(),
      immutable: [],
    });
    expect(scoped).toBeUndefined();
  });

  it('asks for a full pass for a service-principal identity (no target to scope to)', () => {
    const scoped = planChangedPods(createAssignmentPlanner(), {
      changedNodes: ['n1'],
      nodeProviderIds,
      podsOnNode: (n) => (n === 'n1' ? [pod('a', 'n1', 'sp')] : []),
      recordsOnNode: () => [],
      findAssignedIdentity: () => undefined,
      identities: [identity('sp-id', { type: 1 })],
      bindings: [binding('sp-b', 'sp-id', 'sp')],
      owned: new Map(),
      immutable: [],
    });
    expect(scoped).toBeUndefined();
  });

  it('asks for a full pass when a wanted record already exists on a node out of scope', () => {
    const moved = pod('a', 'n3', 's1');
    const { records } = steadyState([pod('a', 'n1', 's1')]);
    const scoped = planChangedPods(createAssignmentPlanner(), {
      // Only the new node: the caller missed the record's node.
      changedNodes: ['n3'],
      nodeProviderIds,
      podsOnNode: (n) => (n === 'n3' ? [moved] : []),
      recordsOnNode: (n) => records.filter((r) => r.spec.nodename === n),
      findAssignedIdentity: (key) =>
        records.find((r) => `${r.metadata.namespace}/${r.metadata.name}` === key),
      identities,
      bindings,
      owned: new Map(),
      immutable: [],
    });
    expect(scoped).toBeUndefined();
  });
});
