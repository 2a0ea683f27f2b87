import type { AzureAssignedIdentity, AzureIdentity, AzureIdentityBinding } from '../crd/types.js';
import { nodeTarget } from './identity-target.js';
import { looseObjectKey } from './planner-input-problem.js';
import type {
  AssignmentPlan,
  AssignmentPlanner,
  AssignmentSnapshot,
  PlannerPod,
} from './plan-assignments.js';
import {
  planIdentityDeltas,
  type IdentityDeltaPlan,
  type OwnedIdentity,
} from './plan-identity-deltas.js';

// Target key by provider ID (`null`: no usable target), parsed once per process rather than for each
// of the 1,000 nodes on every scoped pass.
const targetKeyByProviderId = new Map<string, string | null>();

function targetKeyOf(nodeName: string, providerId: string | undefined): string | null {
  if (providerId === undefined) return null;
  let key = targetKeyByProviderId.get(providerId);
  if (key === undefined) {
    const result = nodeTarget(nodeName, providerId);
    key = result.ok ? result.target.key : null;
    if (targetKeyByProviderId.size >= 10_000) targetKeyByProviderId.clear();
    targetKeyByProviderId.set(providerId, key);
  }
  return key;
}

/** Input of {@link planChangedPods}. */
export interface ChangedPodsInput {
  /**
   * Nodes the change touches: the current and previous nodes of the changed pods, and the nodes of
   * their existing records.
   */
  changedNodes: Iterable<string>;
  /** `spec.providerID` by node name, every node known (as for `planIdentityDeltas`). */
  nodeProviderIds: ReadonlyMap<string, string>;
  /** The labelled pods on a node. */
  podsOnNode: (nodeName: string) => Iterable<PlannerPod>;
  /** The live (not terminating) records whose `spec.nodename` is the node. */
  recordsOnNode: (nodeName: string) => Iterable<AzureAssignedIdentity>;
  /** Any live record by `namespace/name`, in or out of scope. */
  findAssignedIdentity: (key: string) => AzureAssignedIdentity | undefined;
  identities: Iterable<AzureIdentity>;
  bindings: Iterable<AzureIdentityBinding>;
  /** As `AssignmentSnapshot.parseProblem`: the caller's verdict on identities and bindings. */
  parseProblem?: AssignmentSnapshot['parseProblem'];
  /** Per target key, the identities MIC added (the ownership ledger). */
  owned: ReadonlyMap<string, ReadonlyMap<string, OwnedIdentity>>;
  /** As for `planIdentityDeltas`. */
  immutable: Iterable<string>;
}

/** What {@link planChangedPods} returns: a plan and deltas for the touched targets only. */
export interface ChangedPodsPlan {
  /** Keys of the targets planned (every target a changed node belongs to). */
  targetKeys: ReadonlySet<string>;
  plan: AssignmentPlan;
  /** Deltas of targets in {@link ChangedPodsPlan.targetKeys} that have work; nothing else. */
  deltas: IdentityDeltaPlan;
}

/**
 * Plans a change of a few pods without walking every pod: only the scale sets and VMs that the
 * changed pods' nodes (and their records' nodes) belong to are planned, from every pod and record on
 * those targets' nodes. Each target's delta is then exactly what a full pass
 * (`planAssignments` + `planIdentityDeltas` over the whole cluster) gives for it, because a
 * target's delta depends only on the pods, records and owned identities of that target.
 *
 * Returns `undefined` when the change cannot be planned this way and a full pass is needed: a
 * touched node without a usable target, service-principal identities (no target at all), or a
 * record of an in-scope pod that lives on a node out of scope (a move not yet reflected).
 *
 * Use a planner of its own (not the one of full passes), so that the scoped passes do not disturb
 * the full passes' cached state.
 *
 * @param planner - the planner for scoped passes
 * @param input - the touched nodes, lookups and ledger
 * @returns the scoped plan, or `undefined` if a full pass is needed
 */
export function planChangedPods(
  planner: AssignmentPlanner,
  input: ChangedPodsInput,
): ChangedPodsPlan | undefined {
  const targetKeys = new Set<string>();
  for (const nodeName of input.changedNodes) {
    const key = targetKeyOf(nodeName, input.nodeProviderIds.get(nodeName));
    if (key === null) return undefined;
    targetKeys.add(key);
  }
  const nodes: string[] = [];
  for (const [nodeName, providerId] of input.nodeProviderIds) {
    const key = targetKeyOf(nodeName, providerId);
    if (key !== null && targetKeys.has(key)) nodes.push(nodeName);
  }
  const pods: PlannerPod[] = [];
  const records = new Map<string, AzureAssignedIdentity>();
  for (const nodeName of nodes) {
    for (const pod of input.podsOnNode(nodeName)) pods.push(pod);
    // Read loosely: a malformed record is passed on for the planner to report, never a reason to throw.
    for (const record of input.recordsOnNode(nodeName)) records.set(looseObjectKey(record), record);
  }
  const plan = planner.plan({
    pods,
    identities: input.identities,
    bindings: input.bindings,
    ...(input.parseProblem === undefined ? {} : { parseProblem: input.parseProblem }),
    assignedIdentities: [...records.values()],
    findAssignedIdentity: (key) => records.get(key),
  });
  // A wanted record that exists outside the scope: the full pass reconciles both of its targets.
  for (const create of plan.creates) {
    if (input.findAssignedIdentity(create.key) !== undefined) return undefined;
  }
  const owned = new Map<string, ReadonlyMap<string, OwnedIdentity>>();
  for (const key of targetKeys) {
    const ids = input.owned.get(key);
    if (ids !== undefined) owned.set(key, ids);
  }
  const deltas = planIdentityDeltas({
    plan,
    nodeProviderIds: input.nodeProviderIds,
    owned,
    immutable: input.immutable,
  });
  if (
    deltas.direct.assign.length > 0 ||
    deltas.direct.release.length > 0 ||
    deltas.unplaced.length > 0
  ) {
    return undefined;
  }
  return { targetKeys, plan, deltas };
}
