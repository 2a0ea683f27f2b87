// The planner's boundary under arbitrary partially-formed input: records, identities, bindings and
// pods with fields missing or of the wrong type, and values that are not objects at all. A malformed
// object must cost only itself: it is reported in `skipped`, and the plan for everything else is what
// it would be without it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AzureAssignedIdentity, AzureIdentity, AzureIdentityBinding } from '../crd/types.js';
import { planAssignments, type AssignmentPlan, type PlannerPod } from './plan-assignments.js';
import { planIdentityDeltas } from './plan-identity-deltas.js';
import {
  binding,
  identity,
  pod,
  recordFor,
  vmssProviderId,
} from './planner-fixtures.test-support.js';
import {
  assignedIdentityProblem,
  bindingProblem,
  identityProblem,
  looseObjectKey,
  podProblem,
} from './planner-input-problem.js';

const NODES = ['node-0', 'node-1', 'node-2'];
const nodeProviderIds = new Map(NODES.map((n, i) => [n, vmssProviderId('pool', i)]));

/** A consistent world: identities, bindings, pods, and records for some of the pairs. */
const world = fc
  .record({
    identityCount: fc.integer({ min: 1, max: 4 }),
    pods: fc.array(
      fc.record({
        node: fc.constantFrom(...NODES),
        selector: fc.constantFrom('a', 'b', 'c'),
        namespace: fc.constantFrom('default', 'apps'),
      }),
      { maxLength: 6 },
    ),
    spTypes: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    recordStates: fc.array(
      fc.constantFrom<'Created' | 'Assigned' | '' | 'none'>('Created', 'Assigned', '', 'none'),
      { minLength: 24, maxLength: 24 },
    ),
    staleRecords: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ identityCount, pods, spTypes, recordStates, staleRecords }) => {
    const identities = Array.from({ length: identityCount }, (_, i) =>
      identity(`id-${String(i)}`, { type: spTypes[i] === true ? 1 : 0 }),
    );
    const bindings = identities.map((id, i) =>
      binding(`b-${String(i)}`, id.metadata.name, ['a', 'b', 'c'][i % 3]!),
    );
    const podList = pods.map((p, i) => pod(`p-${String(i)}`, p.node, p.selector, p.namespace));
    const base = planAssignments({ pods: podList, identities, bindings, assignedIdentities: [] });
    const records: AzureAssignedIdentity[] = [];
    base.desired.forEach((d, i) => {
      const state = recordStates[i % recordStates.length]!;
      if (state !== 'none') records.push(recordFor(d, state));
    });
    // Records whose pods are gone: they must be deleted.
    for (let i = 0; i < staleRecords && base.desired.length > 0; i += 1) {
      const stale = recordFor(base.desired[i % base.desired.length]!, 'Assigned');
      stale.metadata.name = `gone-${String(i)}`;
      stale.spec.pod = `gone-${String(i)}`;
      records.push(stale);
    }
    return { identities, bindings, pods: podList, records };
  });

type Junk = Record<string, unknown>;

/** Sets (or deletes, for `undefined`) a nested key of a JSON copy of an object. */
function mutate(object: unknown, path: readonly string[], value: unknown): Junk {
  const copy = structuredClone(object) as Junk;
  let at: Junk = copy;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== 'object' || next === null) return copy;
    at = next as Junk;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) Reflect.deleteProperty(at, last);
  else at[last] = value;
  return copy;
}

// Fields the planners read; each mutation removes one or replaces it with anything at all.
const RECORD_PATHS = [
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['spec'],
  ['spec', 'azureIdentityRef'],
  ['spec', 'azureIdentityRef', 'metadata'],
  ['spec', 'azureIdentityRef', 'metadata', 'name'],
  ['spec', 'azureIdentityRef', 'spec'],
  ['spec', 'azureIdentityRef', 'spec', 'type'],
  ['spec', 'azureIdentityRef', 'spec', 'resourceID'],
  ['spec', 'azureBindingRef'],
  ['spec', 'azureBindingRef', 'metadata'],
  ['spec', 'pod'],
  ['spec', 'podNamespace'],
  ['spec', 'nodename'],
  ['status'],
  ['status', 'status'],
];
const IDENTITY_PATHS = [
  ['metadata'],
  ['metadata', 'name'],
  ['spec'],
  ['spec', 'type'],
  ['spec', 'resourceID'],
  ['spec', 'clientID'],
  ['spec', 'clientPassword'],
];
const BINDING_PATHS = [
  ['metadata'],
  ['metadata', 'name'],
  ['spec'],
  ['spec', 'azureIdentity'],
  ['spec', 'selector'],
];
const POD_PATHS = [['name'], ['namespace'], ['nodeName'], ['selector'], ['phase']];

const mutation = (paths: string[][]) =>
  fc.array(
    fc.tuple(
      fc.constantFrom(...paths),
      fc.oneof(fc.constant(undefined), fc.anything({ maxDepth: 2 })),
    ),
    { minLength: 1, maxLength: 3 },
  );

function applyAll(object: unknown, changes: readonly [string[], unknown][]): Junk {
  let out = object as Junk;
  for (const [path, value] of changes) out = mutate(out, path, value);
  return out;
}

interface Outcome {
  desired: string[];
  creates: string[];
  updates: string[];
  deletes: string[];
  pending: string[];
}

function outcome(plan: AssignmentPlan): Outcome {
  const keys = (list: readonly { key: string }[]) => list.map((d) => d.key).sort();
  return {
    desired: keys(plan.desired),
    creates: keys(plan.creates),
    updates: plan.updates.map((u) => u.desired.key).sort(),
    deletes: plan.deletes.map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`).sort(),
    pending: keys(plan.pending),
  };
}

describe('the planner at its boundary', () => {
  it('never throws on arbitrary values where records, identities, bindings and pods belong', () => {
    fc.assert(
      fc.property(
        world,
        fc.array(fc.anything(), { maxLength: 4 }),
        fc.array(fc.anything(), { maxLength: 3 }),
        fc.array(fc.anything(), { maxLength: 3 }),
        fc.array(fc.anything(), { maxLength: 3 }),
        (w, records, identities, bindings, pods) => {
          const plan = planAssignments({
            pods: [...w.pods, ...(pods as PlannerPod[])],
            identities: [...w.identities, ...(identities as AzureIdentity[])],
            bindings: [...w.bindings, ...(bindings as AzureIdentityBinding[])],
            assignedIdentities: [...w.records, ...(records as AzureAssignedIdentity[])],
          });
          planIdentityDeltas({ plan, nodeProviderIds, owned: new Map(), immutable: [] });
        },
      ),
    );
  });

  it('plans the rest exactly as without the malformed objects, and reports each of them by name', () => {
    fc.assert(
      fc.property(
        world,
        fc.array(fc.tuple(fc.nat(), mutation(RECORD_PATHS)), { maxLength: 4 }),
        fc.array(mutation(IDENTITY_PATHS), { maxLength: 2 }),
        fc.array(mutation(BINDING_PATHS), { maxLength: 2 }),
        fc.array(mutation(POD_PATHS), { maxLength: 2 }),
        (w, recordChanges, identityChanges, bindingChanges, podChanges) => {
          // Partially-formed copies of real objects under names of their own, so that a junk
          // object that stays well formed only adds itself.
          const source =
            w.records[0] ??
            recordFor(
              planAssignments({
                pods: [pod('x', 'node-0', 'a')],
                identities: [identity('x')],
                bindings: [binding('x', 'x', 'a')],
                assignedIdentities: [],
              }).desired[0]!,
            );
          const junkRecords = recordChanges.map(([n, changes], i) =>
            applyAll(
              mutate(source, ['metadata', 'name'], `junk-${String(i)}-${String(n)}`),
              changes,
            ),
          );
          const junkIdentities = identityChanges.map((changes, i) =>
            applyAll(identity(`junk-id-${String(i)}`), changes),
          );
          const junkBindings = bindingChanges.map((changes, i) =>
            applyAll(binding(`junk-b-${String(i)}`, `junk-id-${String(i)}`, 'z'), changes),
          );
          const junkPods = podChanges.map((changes, i) =>
            applyAll(pod(`junk-p-${String(i)}`, 'node-1', 'a'), changes),
          );
          const split = (list: Junk[], problem: (x: unknown) => string | undefined) => ({
            good: list.filter((x) => problem(x) === undefined),
            bad: list.filter((x) => problem(x) !== undefined),
          });
          const records = split(junkRecords, assignedIdentityProblem);
          const identities = split(junkIdentities, identityProblem);
          const bindings = split(junkBindings, bindingProblem);
          const pods = split(junkPods, podProblem);

          const clean = planAssignments({
            pods: [...w.pods, ...(pods.good as unknown as PlannerPod[])],
            identities: [...w.identities, ...(identities.good as unknown as AzureIdentity[])],
            bindings: [...w.bindings, ...(bindings.good as unknown as AzureIdentityBinding[])],
            assignedIdentities: [
              ...w.records,
              ...(records.good as unknown as AzureAssignedIdentity[]),
            ],
          });
          const dirty = planAssignments({
            pods: [...w.pods, ...([...pods.good, ...pods.bad] as unknown as PlannerPod[])],
            identities: [
              ...w.identities,
              ...([...identities.good, ...identities.bad] as unknown as AzureIdentity[]),
            ],
            bindings: [
              ...w.bindings,
              ...([...bindings.good, ...bindings.bad] as unknown as AzureIdentityBinding[]),
            ],
            assignedIdentities: [
              ...w.records,
              ...([...records.good, ...records.bad] as unknown as AzureAssignedIdentity[]),
            ],
          });
          expect(outcome(dirty)).toEqual(outcome(clean));
          const reported = (reason: string) =>
            new Set(dirty.skipped.filter((s) => s.reason === reason).map((s) => s.object));
          expect(reported('invalid-record')).toEqual(new Set(records.bad.map(looseObjectKey)));
          for (const bad of identities.bad)
            expect(reported('invalid-identity')).toContain(looseObjectKey(bad));
          for (const bad of bindings.bad)
            expect(reported('invalid-binding')).toContain(looseObjectKey(bad));
          // A malformed pod is reported only once a binding selects it (its fields matter then).
          for (const bad of pods.bad as {
            selector?: unknown;
            nodeName?: unknown;
            phase?: unknown;
          }[]) {
            const bound =
              bad.selector === 'a' &&
              bad.nodeName !== '' &&
              bad.phase !== 'Succeeded' &&
              bad.phase !== 'Failed';
            if (bound) expect(reported('invalid-pod')).toContain(looseObjectKey(bad));
          }
          expect(() =>
            planIdentityDeltas({ plan: dirty, nodeProviderIds, owned: new Map(), immutable: [] }),
          ).not.toThrow();
        },
      ),
      { numRuns: 300 },
    );
  });
});
