import { AssignedIdentityState, IdentityType } from '../crd/constants.js';
import type { AzureAssignedIdentity, AzureIdentity } from '../crd/types.js';
import {
  nodeTarget,
  type IdentityTarget,
  type NodeTargetProblem,
  type NodeTargetResult,
} from './identity-target.js';
import type { AssignmentPlan, DesiredAssignment } from './plan-assignments.js';

/** A user-assigned identity as it is put on or taken off a target. */
export interface IdentityRef {
  /** The ARM resource ID as the AzureIdentity spells it. */
  resourceId: string;
  /** Lower-cased resource ID: the comparison key (ARM IDs are case-insensitive). */
  key: string;
  /** The identity's client ID, `''` when unknown. */
  clientId: string;
}

/** An identity MIC added to a target, as the ownership ledger records it. */
export interface OwnedIdentity {
  resourceId: string;
  clientId: string;
}

/** Why an identity that no record needs any more stays on its target. */
export type KeptReason = 'in-use' | 'immutable' | 'not-added-by-mic';

/** A removal that the protection rules refused. */
export interface KeptIdentity {
  identity: IdentityRef;
  reason: KeptReason;
  /** For `in-use`: `namespace/name` of the pods on the same target that still use it. */
  usedBy: string[];
}

/** The work for one scale set or virtual machine. */
export interface TargetDelta {
  target: IdentityTarget;
  /**
   * Every user-assigned identity that pods on this target need: the assigner adds whichever of them
   * the target lacks (it reads the target first, so identities already there cost nothing).
   */
  ensure: IdentityRef[];
  /** Identities to take off: added by MIC, needed by no pod on the target, not protected. */
  remove: IdentityRef[];
  /** Identities that would have been removed but are protected, with the reason. */
  kept: KeptIdentity[];
  /** Records to mark `Assigned` once their identity is on the target. */
  assign: DesiredAssignment[];
  /** Records to mark `Unassigned` and delete once the removals are done. */
  release: AzureAssignedIdentity[];
}

/** Records whose node has no target: they cannot be assigned, and are released without ARM calls. */
export interface UnplacedRecords {
  nodeName: string;
  problem: NodeTargetProblem;
  message: string;
  /** Desired records that wait for the node to get a target (they stay `Created`). */
  waiting: DesiredAssignment[];
  /** Records to delete without touching Azure (the node is gone or never had a target). */
  release: AzureAssignedIdentity[];
}

/** What {@link planIdentityDeltas} returns. */
export interface IdentityDeltaPlan {
  /** One entry per target that has work (or every target with identities, with `includeSteady`). */
  targets: TargetDelta[];
  /** Records of service-principal identities: no ARM call, straight to `Assigned` or deleted. */
  direct: { assign: DesiredAssignment[]; release: AzureAssignedIdentity[] };
  /** Records on nodes without a usable target. */
  unplaced: UnplacedRecords[];
}

/** Input of {@link planIdentityDeltas}. */
export interface IdentityDeltaInput {
  /** The output of `planAssignments`. */
  plan: Pick<AssignmentPlan, 'desired' | 'creates' | 'updates' | 'deletes' | 'pending'>;
  /** `spec.providerID` by node name, for every node known (including nodes seen earlier and since deleted). */
  nodeProviderIds: ReadonlyMap<string, string>;
  /** Per target key, the identities (by lower-cased resource ID) that MIC added and has not removed. */
  owned: ReadonlyMap<string, ReadonlyMap<string, OwnedIdentity>>;
  /**
   * Client IDs (or resource IDs) never to remove: `--immutable-user-msis` and the cluster identity.
   * Compared case-insensitively.
   */
  immutable: Iterable<string>;
  /** Also return targets with nothing pending (the periodic drift check). Default false. */
  includeSteady?: boolean;
}

const parsedProviderIds = new Map<string, { nodeName: string; result: NodeTargetResult }>();

// One ref per identity object: thousands of pods share a few hundred identities.
const refs = new WeakMap<AzureIdentity, IdentityRef>();

function refOf(identity: AzureIdentity): IdentityRef {
  let ref = refs.get(identity);
  if (ref === undefined) {
    const resourceId = identity.spec.resourceID ?? '';
    ref = { resourceId, key: resourceId.toLowerCase(), clientId: identity.spec.clientID ?? '' };
    refs.set(identity, ref);
  }
  return ref;
}

function isUserAssigned(identity: AzureIdentity): boolean {
  return identity.spec.type === IdentityType.UserAssignedMSI;
}

interface TargetWork {
  target: IdentityTarget;
  ensure: Map<string, IdentityRef>;
  usedBy: Map<string, DesiredAssignment[]>;
  candidates: Map<string, IdentityRef>;
  assign: DesiredAssignment[];
  release: AzureAssignedIdentity[];
  steady: boolean;
}

/**
 * Works out, per scale set or virtual machine, which user-assigned identities to add and which to
 * remove, applying the protection rules:
 *
 * 1. only deltas: identities are added when a pod on the target needs them and removed when none does;
 * 2. an identity still used by any pod on the same target (compared by namespace **and** name) stays;
 * 3. immutable identities (`--immutable-user-msis`, the cluster identity) stay, compared
 *    case-insensitively by client ID or resource ID;
 * 4. an identity MIC did not add (per the ownership ledger) stays: one a user assigned by hand
 *    survives its last pod;
 * 5. (in the assigner) a system-assigned identity is kept.
 *
 * Removal candidates are the identities of records being deleted or rewritten, plus every owned
 * identity that no desired record on the target needs any more; the latter makes removal
 * level-based, so a removal lost to a crash or a leader change is done by the next leader.
 *
 * @param input - the assignment plan, node provider IDs, owned identities, immutable IDs
 * @returns the per-target deltas, service-principal records, and records on nodes without a target
 */
export function planIdentityDeltas(input: IdentityDeltaInput): IdentityDeltaPlan {
  const immutable = new Set<string>();
  for (const id of input.immutable) {
    if (id.trim() !== '') immutable.add(id.trim().toLowerCase());
  }
  const works = new Map<string, TargetWork>();
  const unplaced = new Map<string, UnplacedRecords>();
  const direct: IdentityDeltaPlan['direct'] = { assign: [], release: [] };
  const targetCache = new Map<string, ReturnType<typeof nodeTarget>>();

  const resolve = (nodeName: string): ReturnType<typeof nodeTarget> => {
    let result = targetCache.get(nodeName);
    if (result === undefined) {
      const providerId = input.nodeProviderIds.get(nodeName);
      // Provider IDs are parsed once per process, not once per pass.
      const known = providerId === undefined ? undefined : parsedProviderIds.get(providerId);
      result = known?.nodeName === nodeName ? known.result : nodeTarget(nodeName, providerId);
      if (providerId !== undefined && known === undefined) {
        if (parsedProviderIds.size >= 10_000) parsedProviderIds.clear();
        parsedProviderIds.set(providerId, { nodeName, result });
      }
      targetCache.set(nodeName, result);
    }
    return result;
  };
  const workFor = (target: IdentityTarget): TargetWork => {
    let work = works.get(target.key);
    if (work === undefined) {
      work = {
        target,
        ensure: new Map(),
        usedBy: new Map(),
        candidates: new Map(),
        assign: [],
        release: [],
        steady: true,
      };
      works.set(target.key, work);
    }
    return work;
  };
  const unplacedFor = (
    nodeName: string,
    result: Extract<ReturnType<typeof nodeTarget>, { ok: false }>,
  ): UnplacedRecords => {
    let entry = unplaced.get(nodeName);
    if (entry === undefined) {
      entry = {
        nodeName,
        problem: result.problem,
        message: result.message,
        waiting: [],
        release: [],
      };
      unplaced.set(nodeName, entry);
    }
    return entry;
  };

  const needsAssignment = new Set<DesiredAssignment>(input.plan.creates);
  for (const d of input.plan.pending) needsAssignment.add(d);
  for (const u of input.plan.updates) needsAssignment.add(u.desired);

  // A node's work, found with one lookup per desired record instead of two (node, then target).
  const nodeWorks = new Map<string, TargetWork>();
  for (const desired of input.plan.desired) {
    const pendingHere = needsAssignment.has(desired);
    if (!isUserAssigned(desired.identity)) {
      if (pendingHere) direct.assign.push(desired);
      continue;
    }
    let work = nodeWorks.get(desired.nodeName);
    if (work === undefined) {
      const result = resolve(desired.nodeName);
      if (!result.ok) {
        if (pendingHere) unplacedFor(desired.nodeName, result).waiting.push(desired);
        continue;
      }
      work = workFor(result.target);
      nodeWorks.set(desired.nodeName, work);
    }
    const ref = refOf(desired.identity);
    work.ensure.set(ref.key, ref);
    if (pendingHere) {
      work.assign.push(desired);
      work.steady = false;
    }
  }

  const leaving: { record: AzureAssignedIdentity; release: boolean }[] = [
    ...input.plan.deletes.map((record) => ({ record, release: true })),
    ...input.plan.updates.map((u) => ({ record: u.current, release: false })),
  ];
  for (const { record, release } of leaving) {
    const identity = record.spec.azureIdentityRef;
    const result = resolve(record.spec.nodename);
    if (!result.ok) {
      if (release) unplacedFor(record.spec.nodename, result).release.push(record);
      continue;
    }
    if (!isUserAssigned(identity)) {
      if (release) direct.release.push(record);
      continue;
    }
    const work = workFor(result.target);
    if (release) work.release.push(record);
    work.steady = false;
    // Like the original, only records that reached Assigned (or legacy '') nominate their identity;
    // a record still Created never did, and the ledger covers an add that landed before a crash.
    const state = record.status?.status ?? '';
    if (state === AssignedIdentityState.Assigned || state === '') {
      const ref = refOf(identity);
      if (ref.key !== '') work.candidates.set(ref.key, ref);
    }
  }

  // Every identity MIC added and no desired record on its target needs is a removal candidate, also
  // on targets that nothing else in this plan touches.
  for (const [targetKey, ownedIds] of input.owned) {
    let work = works.get(targetKey);
    if (work === undefined) {
      const target = ownedIds.size === 0 ? undefined : parseTargetKey(targetKey);
      if (target === undefined) continue;
      work = workFor(target);
    }
    for (const [key, owned] of ownedIds) {
      if (work.ensure.has(key)) continue;
      work.candidates.set(key, { resourceId: owned.resourceId, key, clientId: owned.clientId });
    }
  }

  // Who uses an identity matters only for a candidate still in use: those pods are gathered in one
  // more scan, only when there is such a candidate, instead of a list per identity on every pass.
  let anyInUse = false;
  for (const work of works.values()) {
    for (const key of work.candidates.keys()) {
      if (work.ensure.has(key)) {
        work.usedBy.set(key, []);
        anyInUse = true;
      }
    }
  }
  if (anyInUse) {
    for (const desired of input.plan.desired) {
      if (!isUserAssigned(desired.identity)) continue;
      const result = resolve(desired.nodeName);
      if (!result.ok) continue;
      works.get(result.target.key)?.usedBy.get(refOf(desired.identity).key)?.push(desired);
    }
  }

  const targets: TargetDelta[] = [];
  for (const work of works.values()) {
    const ownedHere = input.owned.get(work.target.key);
    const remove: IdentityRef[] = [];
    const kept: KeptIdentity[] = [];
    for (const [key, ref] of work.candidates) {
      const users = work.usedBy.get(key);
      if (users !== undefined) {
        kept.push({
          identity: ref,
          reason: 'in-use',
          usedBy: users.map((d) => `${d.podNamespace}/${d.podName}`),
        });
      } else if (
        immutable.has(key) ||
        (ref.clientId !== '' && immutable.has(ref.clientId.toLowerCase()))
      ) {
        kept.push({ identity: ref, reason: 'immutable', usedBy: [] });
      } else if (ownedHere?.has(key) !== true) {
        kept.push({ identity: ref, reason: 'not-added-by-mic', usedBy: [] });
      } else {
        remove.push(ref);
      }
    }
    if (remove.length > 0) work.steady = false;
    if (work.steady && input.includeSteady !== true) continue;
    targets.push({
      target: work.target,
      ensure: [...work.ensure.values()],
      remove,
      kept,
      assign: work.assign,
      release: work.release,
    });
  }
  return { targets, direct, unplaced: [...unplaced.values()] };
}

/**
 * Rebuilds a target from its key (a lower-cased scale-set or VM resource ID), as stored by the
 * ownership ledger. Names come back lower-cased, which ARM accepts.
 * @param key - `IdentityTarget.key`
 * @returns the target, or `undefined` if the key is not a target key
 */
export function parseTargetKey(key: string): IdentityTarget | undefined {
  const match =
    /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.compute\/(virtualmachinescalesets|virtualmachines)\/([^/]+)$/u.exec(
      key,
    );
  if (match === null) return undefined;
  const [, subscriptionId = '', resourceGroup = '', type, name = ''] = match;
  return {
    kind: type === 'virtualmachinescalesets' ? 'vmss' : 'vm',
    subscriptionId,
    resourceGroup,
    name,
    key,
  };
}
