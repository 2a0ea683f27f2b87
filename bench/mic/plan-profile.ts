// Focused profile target for the planner (see docs/benchmarks.md, MIC): runs steady and one-pod
// passes in a loop. `pnpm exec node --conditions=source --cpu-prof bench/mic/plan-profile.ts`.
import '@pod-identity/test-support/source-hooks';
import type {
  AssignmentPlan,
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  IdentityDeltaPlan,
  OwnedIdentity,
  PlannerPod,
} from '@pod-identity/core';

const { AssignedIdentityState, createAssignmentPlanner, planIdentityDeltas, toAssignedIdentity } =
  await import('@pod-identity/core');

const SUB = '00000000-0000-0000-0000-00000000b00c';
const nodeProviderIds = new Map<string, string>();
for (let s = 0; s < 10; s += 1)
  for (let i = 0; i < 100; i += 1)
    nodeProviderIds.set(
      `vmss${s}-${i}`,
      `azure:///subscriptions/${SUB}/resourceGroups/nodes/providers/Microsoft.Compute/virtualMachineScaleSets/vmss${s}/virtualMachines/${i}`,
    );
const nodeNames = [...nodeProviderIds.keys()];
const identities: AzureIdentity[] = Array.from({ length: 500 }, (_, i) => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentity',
  metadata: { name: `id-${i}`, namespace: 'default', resourceVersion: '1', uid: `uid-${i}` },
  spec: {
    type: 0,
    resourceID: `/subscriptions/${SUB}/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${i}`,
    clientID: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
  },
}));
const bindings: AzureIdentityBinding[] = identities.map((id, i) => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentityBinding',
  metadata: { name: `b-${i}`, namespace: 'default', resourceVersion: '1' },
  spec: { azureIdentity: id.metadata.name, selector: `sel-${i}` },
}));
const pods: PlannerPod[] = Array.from({ length: 20_000 }, (_, j) => ({
  namespace: `ns-${j % 50}`,
  name: `pod-${j}`,
  nodeName: nodeNames[j % nodeNames.length] ?? '',
  selector: `sel-${j % 500}`,
  phase: 'Running',
}));
const planner = createAssignmentPlanner();
const byKey = new Map<string, AzureAssignedIdentity>();
const plan = (
  records: AzureAssignedIdentity[],
  podList: PlannerPod[],
  owned: Map<string, Map<string, OwnedIdentity>>,
): { a: AssignmentPlan; d: IdentityDeltaPlan } => {
  const a = planner.plan({
    pods: podList,
    identities,
    bindings,
    assignedIdentities: records,
    findAssignedIdentity: (k) => byKey.get(k),
  });
  const d = planIdentityDeltas({ plan: a, nodeProviderIds, owned, immutable: [] });
  return { a, d };
};
const first = plan([], pods, new Map());
const records = first.a.creates.map((d) => {
  const r = toAssignedIdentity(d);
  r.status = { status: AssignedIdentityState.Assigned, availableReplicas: 1 };
  return r;
});
for (const r of records) byKey.set(`${r.metadata.namespace ?? ''}/${r.metadata.name}`, r);
const owned = new Map<string, Map<string, OwnedIdentity>>();
for (const t of first.d.targets) owned.set(t.target.key, new Map(t.ensure.map((r) => [r.key, r])));
const more = [
  ...pods,
  { namespace: 'ns-0', name: 'new', nodeName: nodeNames[0]!, selector: 'sel-1', phase: 'Running' },
];
const phase = (label: string, fn: () => void, n: number) => {
  const t: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((x, y) => x - y);
  console.log(label, 'median', t[Math.floor(n / 2)]!.toFixed(2), 'min', t[0]!.toFixed(2));
};
phase('initial', () => plan([], pods, new Map()), 20);
phase('steady', () => plan(records, pods, owned), 60);
phase('one-pod', () => plan(records, more, owned), 60);
