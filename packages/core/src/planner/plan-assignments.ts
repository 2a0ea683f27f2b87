import { isFederatedIdentity } from '../federated/federated-azure-identity.js';
import {
  ASSIGNED_IDENTITY_FINALIZER,
  ASSIGNED_IDENTITY_NODE_LABEL,
  ASSIGNED_IDENTITY_POD_UID_ANNOTATION,
  AssignedIdentityState,
  BEHAVIOR_ANNOTATION_KEY,
  BEHAVIOR_NAMESPACED,
  DEFAULT_ASSIGNED_IDENTITY_NAMESPACE,
  GROUP_VERSION,
  IdentityType,
  assignedIdentityName,
} from '../crd/constants.js';
import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  ObjectMeta,
} from '../crd/types.js';
import { parseUserAssignedIdentityId } from '../validation/parse-user-assigned-identity-id.js';
import {
  assignedIdentityProblem,
  bindingProblem,
  identityProblem,
  looseObjectKey,
  podProblem,
} from './planner-input-problem.js';

/**
 * The fields of a pod that the planner reads (an informer keeps only these). Pods without the
 * `aadpodidbinding` label never need to be in the snapshot.
 */
export interface PlannerPod {
  namespace: string;
  name: string;
  /** `metadata.uid`: recorded on the pod's records so that a pod re-created under its name is told apart. */
  uid?: string;
  /** `spec.nodeName`; `''` while the pod is not scheduled. */
  nodeName: string;
  /** Value of the `aadpodidbinding` label; `''` when absent. */
  selector: string;
  /** `status.phase`; `Succeeded` and `Failed` pods no longer need their identities. */
  phase?: string;
}

/** Everything {@link planAssignments} decides from. */
export interface AssignmentSnapshot {
  /** Pods carrying the `aadpodidbinding` label. */
  pods: Iterable<PlannerPod>;
  /** Every AzureIdentity. */
  identities: Iterable<AzureIdentity>;
  /** Every AzureIdentityBinding. */
  bindings: Iterable<AzureIdentityBinding>;
  /** Every existing AzureAssignedIdentity record. */
  assignedIdentities: Iterable<AzureAssignedIdentity>;
  /**
   * Optional: the existing record under a key `namespace/name`, when the caller already keeps them
   * by key (an informer does). It must agree with `assignedIdentities`; it spares the planner
   * indexing every record on each pass.
   */
  findAssignedIdentity?: (key: string) => AzureAssignedIdentity | undefined;
  /**
   * Optional: why the caller's own parser refused an identity or binding that it passes in anyway
   * (so that the planner reports it with the rest), `undefined` for one it accepted. A refused
   * object is left out of the plan and reported in `skipped`, like one the planner finds malformed.
   */
  parseProblem?: (object: AzureIdentity | AzureIdentityBinding) => string | undefined;
}

/** Options of {@link planAssignments}. */
export interface PlanAssignmentsOptions {
  /**
   * Namespaced mode (`--forceNamespaced`): a pod only gets identities whose binding and identity are
   * in its own namespace, and records live in the identity's namespace.
   */
  forceNamespaced?: boolean;
}

/** One (pod, identity) pair that should have an assigned-identity record. */
export interface DesiredAssignment {
  /** `namespace/name` of the record. */
  key: string;
  /** Record name: `<pod>-<podNamespace>-<identity>`. */
  name: string;
  /** Record namespace: `default`, or the identity's namespace when namespaced. */
  namespace: string;
  podName: string;
  podNamespace: string;
  /** The pod's `metadata.uid`, written on the record as {@link ASSIGNED_IDENTITY_POD_UID_ANNOTATION}. */
  podUid?: string;
  nodeName: string;
  identity: AzureIdentity;
  binding: AzureIdentityBinding;
  /** The existing record that already describes this pair exactly, if any. */
  current: AzureAssignedIdentity | undefined;
}

/**
 * Why part of the snapshot produced no record: an identity, binding, record or pod that is malformed
 * (or that the caller's parser refused), a binding whose identity is missing or invalid, or a name
 * clash.
 */
export type PlanSkipReason =
  | 'invalid-identity'
  | 'invalid-binding'
  | 'invalid-record'
  | 'invalid-pod'
  | 'identity-not-found'
  | 'namespace-mismatch'
  | 'duplicate-record-name';

/** Something the planner left out, with the reason, so callers can log it and emit an event. */
export interface PlanSkip {
  reason: PlanSkipReason;
  /** `namespace/name` of the object concerned (identity, binding or pod). */
  object: string;
  /** What kind of object {@link PlanSkip.object} is. */
  kind: 'AzureIdentity' | 'AzureIdentityBinding' | 'AzureAssignedIdentity' | 'Pod';
  /** A lower-case sentence for logs and events. */
  message: string;
  /** The binding involved, when there is one (events are emitted on bindings). */
  binding?: AzureIdentityBinding;
}

/** A record whose pair still exists but whose content changed (pod moved, identity or binding edited). */
export interface AssignmentUpdate {
  current: AzureAssignedIdentity;
  desired: DesiredAssignment;
}

/**
 * A desired pair whose record name is held by a record the planner cannot read (reported in
 * `skipped` as `invalid-record`): the new record is written over it (PUT with its resourceVersion),
 * not POSTed.
 */
export interface AssignmentOverwrite {
  desired: DesiredAssignment;
  /** The metadata of the unreadable record (the API server validated it even when the spec is not). */
  metadata: ObjectMeta;
}

/** What {@link planAssignments} returns. */
export interface AssignmentPlan {
  /** Every pair that should have a record, in a stable order. */
  desired: DesiredAssignment[];
  /** Pairs without a (readable) record: create them in state `Created`. */
  creates: DesiredAssignment[];
  /** The creates whose name is taken by an unreadable record: overwrite that record instead. */
  overwrites: AssignmentOverwrite[];
  /** Records to rewrite in place (same name) and take back to `Created`. */
  updates: AssignmentUpdate[];
  /** Records whose pair no longer exists. */
  deletes: AzureAssignedIdentity[];
  /** Desired pairs whose record matches but is still `Created`: assignment must be (re)tried. */
  pending: DesiredAssignment[];
  /** Identities, bindings, records and pods left out, with reasons. */
  skipped: PlanSkip[];
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/**
 * Whether an identity is namespaced: `forceNamespaced`, or the identity's
 * `aadpodidentity.k8s.io/Behavior: namespaced` annotation (exact key and value).
 * @param identity - the identity
 * @param forceNamespaced - the global flag
 */
export function isNamespacedIdentity(identity: AzureIdentity, forceNamespaced: boolean): boolean {
  return (
    forceNamespaced ||
    identity.metadata.annotations?.[BEHAVIOR_ANNOTATION_KEY] === BEHAVIOR_NAMESPACED
  );
}

/**
 * Whether an existing record describes the same pair as a desired one. Like the original, the
 * identity and binding are compared by name and resourceVersion, so any edit of either rewrites the
 * record; a recreated identity (same name, new uid) is caught the same way. A record carrying
 * another pod UID belongs to an earlier pod of the same name and is rewritten; one carrying none
 * (written by the original MIC) is left as it is, since NMI then checks the binding selector.
 */
function matches(current: AzureAssignedIdentity, desired: DesiredAssignment): boolean {
  const spec = current.spec;
  const recordedUid = current.metadata.annotations?.[ASSIGNED_IDENTITY_POD_UID_ANNOTATION];
  return (
    (recordedUid === undefined || recordedUid === desired.podUid) &&
    spec.pod === desired.podName &&
    spec.podNamespace === desired.podNamespace &&
    spec.nodename === desired.nodeName &&
    spec.azureIdentityRef.metadata.name === desired.identity.metadata.name &&
    spec.azureIdentityRef.metadata.resourceVersion === desired.identity.metadata.resourceVersion &&
    spec.azureIdentityRef.metadata.uid === desired.identity.metadata.uid &&
    spec.azureBindingRef.metadata.name === desired.binding.metadata.name &&
    spec.azureBindingRef.metadata.resourceVersion === desired.binding.metadata.resourceVersion
  );
}

function compareByNamespaceName(
  a: { metadata: { namespace?: string; name: string } },
  b: { metadata: { namespace?: string; name: string } },
): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  if (a.metadata.name === b.metadata.name) return 0;
  return a.metadata.name < b.metadata.name ? -1 : 1;
}

/** A planner that remembers work between passes; see {@link createAssignmentPlanner}. */
export interface AssignmentPlanner {
  /**
   * Plans from a snapshot, exactly as {@link planAssignments} would. `DesiredAssignment` objects are
   * reused across passes while their pod, binding and identity objects are unchanged; their
   * `current` always reflects the latest pass.
   */
  plan(snapshot: AssignmentSnapshot): AssignmentPlan;
}

interface BoundIdentity {
  binding: AzureIdentityBinding;
  bindingNamespace: string;
  identity: AzureIdentity;
  namespaced: boolean;
}

/**
 * A desired pair with the planner's bookkeeping, kept out of the public {@link DesiredAssignment}.
 * `holds` is true while this slot owns its record key in the planner's claim table, so that a pair
 * that kept its key since the previous pass costs no map operation at all.
 */
interface PairSlot {
  pair: DesiredAssignment;
  /** The pass that last wanted this pair (its pod was in the snapshot). */
  seen: number;
  holds: boolean;
}

interface BindingIndex {
  identities: readonly AzureIdentity[];
  bindings: readonly AzureIdentityBinding[];
  bySelector: Map<string, BoundIdentity[]>;
  skipped: PlanSkip[];
  /** Per pod object: its pairs under this index (identities and bindings unchanged). */
  pairs: WeakMap<PlannerPod, PairSlot[]>;
}

function sameObjects<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function buildBindingIndex(
  identityList: readonly AzureIdentity[],
  bindingList: readonly AzureIdentityBinding[],
  forceNamespaced: boolean,
  parseProblem: AssignmentSnapshot['parseProblem'],
): BindingIndex {
  const skipped: PlanSkip[] = [];
  const identities = new Map<string, AzureIdentity>();
  const invalidIdentities = new Set<string>();
  for (const identity of identityList) {
    const problem = identityProblem(identity) ?? parseProblem?.(identity);
    if (problem !== undefined) {
      const key = looseObjectKey(identity);
      invalidIdentities.add(key);
      skipped.push({
        reason: 'invalid-identity',
        kind: 'AzureIdentity',
        object: key,
        message: `ignoring azure identity ${key}: ${problem}`,
      });
      continue;
    }
    const key = keyOf(identity.metadata.namespace, identity.metadata.name);
    if (identity.spec.type === IdentityType.UserAssignedMSI) {
      try {
        parseUserAssignedIdentityId(identity.spec.resourceID ?? '');
      } catch (error) {
        invalidIdentities.add(key);
        skipped.push({
          reason: 'invalid-identity',
          kind: 'AzureIdentity',
          object: key,
          message: `ignoring azure identity ${key}: ${(error as Error).message}`,
        });
        continue;
      }
    }
    identities.set(key, identity);
  }
  const wellFormed: AzureIdentityBinding[] = [];
  for (const binding of bindingList) {
    const problem = bindingProblem(binding) ?? parseProblem?.(binding);
    if (problem === undefined) {
      wellFormed.push(binding);
      continue;
    }
    const key = looseObjectKey(binding);
    skipped.push({
      reason: 'invalid-binding',
      kind: 'AzureIdentityBinding',
      object: key,
      message: `ignoring azure identity binding ${key}: ${problem}`,
    });
  }
  // Each binding is resolved to its identity once (not once per pod): the identity must live in the
  // binding's namespace, even when not namespaced.
  const bySelector = new Map<string, BoundIdentity[]>();
  for (const binding of wellFormed.sort(compareByNamespaceName)) {
    const selector = binding.spec.selector;
    if (selector === '') continue;
    const bindingNamespace = binding.metadata.namespace ?? '';
    const identityKey = `${bindingNamespace}/${binding.spec.azureIdentity}`;
    const identity = identities.get(identityKey);
    if (identity === undefined) {
      const bindingKey = keyOf(bindingNamespace, binding.metadata.name);
      skipped.push({
        reason: 'identity-not-found',
        kind: 'AzureIdentityBinding',
        object: bindingKey,
        message: invalidIdentities.has(identityKey)
          ? `${identityKey} identity is invalid (see its events) when using ${bindingKey} binding`
          : `${identityKey} identity not found when using ${bindingKey} binding`,
        binding,
      });
      continue;
    }
    // A federated identity is served by NMI's token exchange: nothing to record, nothing to assign.
    // Its records from before the annotation are no longer desired, so MIC removes them.
    if (isFederatedIdentity(identity)) continue;
    let list = bySelector.get(selector);
    if (list === undefined) {
      list = [];
      bySelector.set(selector, list);
    }
    list.push({
      binding,
      bindingNamespace,
      identity,
      namespaced: isNamespacedIdentity(identity, forceNamespaced),
    });
  }
  return {
    identities: identityList,
    bindings: bindingList,
    bySelector,
    skipped,
    pairs: new WeakMap(),
  };
}

function invalidPod(pod: unknown): PlanSkip {
  const key = looseObjectKey(pod);
  return {
    reason: 'invalid-pod',
    kind: 'Pod',
    object: key,
    message: `ignoring pod ${key}: ${podProblem(pod) ?? 'malformed'}`,
  };
}

function pairsOf(pod: PlannerPod, bound: readonly BoundIdentity[]): PairSlot[] {
  const out: PairSlot[] = [];
  for (const { binding, bindingNamespace, identity, namespaced } of bound) {
    // A pod in another namespace than a namespaced identity is not an error, just not bound.
    if (namespaced && bindingNamespace !== pod.namespace) continue;
    const name = assignedIdentityName(pod.name, pod.namespace, identity.metadata.name);
    const namespace = namespaced ? bindingNamespace : DEFAULT_ASSIGNED_IDENTITY_NAMESPACE;
    const pair: DesiredAssignment = {
      key: `${namespace}/${name}`,
      name,
      namespace,
      podName: pod.name,
      podNamespace: pod.namespace,
      ...(pod.uid === undefined ? {} : { podUid: pod.uid }),
      nodeName: pod.nodeName,
      identity,
      binding,
      current: undefined,
    };
    out.push({ pair, seen: 0, holds: false });
  }
  return out;
}

/**
 * Creates an {@link AssignmentPlanner}: {@link planAssignments} with memory. While identities and
 * bindings are the same objects as in the previous pass (an informer cache hands out the same
 * objects until they change), each unchanged pod's pairs are reused instead of recomputed, and a
 * record that is the same object as the one a pair matched last pass is not compared again, which
 * is what keeps a pass over 20,000 pods cheap. Snapshot objects must therefore be treated as
 * immutable: replace a pod, identity, binding or record to change it, never edit it in place.
 *
 * @param options - namespaced mode
 * @returns the planner
 */
export function createAssignmentPlanner(options: PlanAssignmentsOptions = {}): AssignmentPlanner {
  const forceNamespaced = options.forceNamespaced ?? false;
  let index: BindingIndex | undefined;
  const recordKeys = new WeakMap<AzureAssignedIdentity, string>();
  const existing = new Map<string, AzureAssignedIdentity>();
  // Record key → the slot that wants it, kept across passes: a pair whose slot still holds its key
  // needs no map operation, so a steady pass does no per-pair hashing. Stale slots (pods gone, or
  // pairs of an earlier index) are swept when the table holds more than the pass wanted.
  const claims = new Map<string, PairSlot>();
  // Whether each record object is malformed (why) or not (null): informers hand out the same object
  // until it changes, so each is checked once.
  const recordProblems = new WeakMap<object, string | null>();
  const recordProblem = (record: unknown): string | undefined => {
    if (typeof record !== 'object' || record === null) return assignedIdentityProblem(record);
    let problem = recordProblems.get(record);
    if (problem === undefined) {
      problem = assignedIdentityProblem(record) ?? null;
      recordProblems.set(record, problem);
    }
    return problem ?? undefined;
  };
  let pass = 0;

  return {
    plan(snapshot) {
      const identityList = Array.from(snapshot.identities);
      const bindingList = Array.from(snapshot.bindings);
      if (
        index === undefined ||
        !sameObjects(index.identities, identityList) ||
        !sameObjects(index.bindings, bindingList)
      ) {
        index = buildBindingIndex(
          identityList,
          bindingList,
          forceNamespaced,
          snapshot.parseProblem,
        );
      }
      const skipped: PlanSkip[] = [...index.skipped];
      pass += 1;
      // A malformed record is left out (reported once per pass): it is neither matched, nor
      // deleted, nor a removal candidate, since what it says cannot be read.
      const reportedRecords = new Set<string>();
      const unreadable = (record: unknown): boolean => {
        const problem = recordProblem(record);
        if (problem === undefined) return false;
        const key = looseObjectKey(record);
        if (!reportedRecords.has(key)) {
          reportedRecords.add(key);
          skipped.push({
            reason: 'invalid-record',
            kind: 'AzureAssignedIdentity',
            object: key,
            message: `ignoring assigned identity ${key}: ${problem}`,
          });
        }
        return true;
      };

      // Cleared, not reallocated, each pass, and only used when the caller has no lookup.
      existing.clear();
      const recordKey = (record: AzureAssignedIdentity): string => {
        let key = recordKeys.get(record);
        if (key === undefined) {
          key = keyOf(record.metadata.namespace, record.metadata.name);
          recordKeys.set(record, key);
        }
        return key;
      };
      let find = snapshot.findAssignedIdentity;
      let recordCount: number;
      const recordList = Array.isArray(snapshot.assignedIdentities)
        ? (snapshot.assignedIdentities as readonly AzureAssignedIdentity[])
        : Array.from(snapshot.assignedIdentities);
      if (find === undefined) {
        // Malformed records are kept under the name they can be read by: a pair that wants that name
        // overwrites them, and the delete scan below reports the rest.
        for (const record of recordList) {
          existing.set(
            recordProblem(record) === undefined ? recordKey(record) : looseObjectKey(record),
            record,
          );
        }
        recordCount = existing.size;
        find = (key) => existing.get(key);
      } else {
        recordCount = recordList.length;
      }

      const desiredList: DesiredAssignment[] = [];
      const creates: DesiredAssignment[] = [];
      const overwrites: AssignmentOverwrite[] = [];
      const updates: AssignmentUpdate[] = [];
      const pending: DesiredAssignment[] = [];
      let matched = 0;
      for (const pod of snapshot.pods) {
        const loose: unknown = pod;
        if (typeof loose !== 'object' || loose === null) {
          skipped.push(invalidPod(loose));
          continue;
        }
        if (pod.nodeName === '' || pod.selector === '') continue;
        if (pod.phase === 'Succeeded' || pod.phase === 'Failed') continue;
        const bound = index.bySelector.get(pod.selector);
        if (bound === undefined) continue;
        let slots = index.pairs.get(pod);
        if (slots === undefined) {
          // Checked once per pod object that a binding selects: that is when its fields are used.
          if (podProblem(pod) !== undefined) {
            skipped.push(invalidPod(pod));
            continue;
          }
          slots = pairsOf(pod, bound);
          index.pairs.set(pod, slots);
        }
        for (const slot of slots) {
          const pair = slot.pair;
          // Taking a key over releases the previous holder (`holds = false`), so a slot that still
          // holds its key was not beaten to it earlier in this pass.
          let duplicate = slot.seen === pass;
          if (!duplicate && !slot.holds) {
            const holder = claims.get(pair.key);
            if (holder?.seen === pass) {
              duplicate = true;
            } else {
              if (holder !== undefined) holder.holds = false;
              claims.set(pair.key, slot);
              slot.holds = true;
            }
          }
          if (duplicate) {
            // Rare (two identities with one name in different namespaces): the first pair wins.
            skipped.push({
              reason: 'duplicate-record-name',
              kind: 'Pod',
              object: `${pod.namespace}/${pod.name}`,
              message: `assigned identity ${pair.key} is already wanted by another binding or identity namespace; keeping the first (aad-pod-identity issue #1065)`,
              binding: pair.binding,
            });
            continue;
          }
          slot.seen = pass;
          desiredList.push(pair);
          // Compared here, while the pair is in cache, rather than in a second loop over 20,000.
          const found = find(pair.key);
          // The record this pair matched last pass, handed out again unchanged (an informer
          // replaces an object when it changes, never edits it), still matches: no field compare.
          const sameAsLast = found !== undefined && found === pair.current;
          pair.current = undefined;
          const current =
            found === undefined || sameAsLast || !unreadable(found) ? found : undefined;
          if (current === undefined) {
            creates.push(pair);
            const metadata: unknown = (found as { metadata?: unknown } | undefined)?.metadata;
            if (typeof metadata === 'object' && metadata !== null) {
              overwrites.push({ desired: pair, metadata: metadata as ObjectMeta });
            }
            continue;
          }
          matched += 1;
          if (sameAsLast || matches(current, pair)) {
            pair.current = current;
            if ((current.status?.status ?? '') === AssignedIdentityState.Created)
              pending.push(pair);
          } else {
            updates.push({ current, desired: pair });
          }
        }
      }
      if (claims.size > desiredList.length) {
        for (const [key, slot] of claims) {
          if (slot.seen === pass) continue;
          slot.holds = false;
          claims.delete(key);
        }
      }

      const deletes: AzureAssignedIdentity[] = [];
      // Each desired key names at most one record: when all records were matched there is nothing
      // to delete, and the common steady pass skips this loop. After the sweep, `claims` holds
      // exactly the desired keys.
      if (matched < recordCount) {
        for (const record of recordList) {
          if (unreadable(record)) continue;
          if (!claims.has(recordKey(record))) deletes.push(record);
        }
      }
      existing.clear();
      return { desired: desiredList, creates, overwrites, updates, deletes, pending, skipped };
    },
  };
}

/**
 * Decides which assigned-identity records should exist, from a snapshot of pods, identities,
 * bindings and existing records. Pure: no I/O, no clock.
 *
 * Follows the original MIC: a scheduled pod whose `aadpodidbinding` label equals a binding's selector
 * (any namespace) gets the binding's identity, which must live in the binding's namespace; with
 * namespaced mode (flag or per-identity annotation) identity, binding and pod must share a namespace;
 * bindings are taken in (namespace, name) order and the first of two pairs with the same record
 * name wins. Differences from the original, on purpose: type-0 identities with an invalid
 * `resourceID`, bindings to missing identities and name clashes are reported in `skipped` (not only
 * logged), and pods that have finished (`Succeeded`/`Failed`) release their identities.
 *
 * Every input is checked at this boundary: an identity, binding, record or pod that lacks what the
 * planner reads (for example a record of the original MIC 1.5 or earlier, without
 * `spec.azureIdentityRef`), or that `snapshot.parseProblem` refuses, is left out and reported in
 * `skipped` with the field at fault; the rest is planned as if it were not there. A malformed record
 * is never deleted (what it says cannot be read), but a pair that needs its name overwrites it.
 * A controller that plans repeatedly should use {@link createAssignmentPlanner}, which gives the
 * same answers faster.
 *
 * @param snapshot - the cluster state to plan from
 * @param options - namespaced mode
 * @returns the desired records and the creates, updates and deletes that reach them
 */
export function planAssignments(
  snapshot: AssignmentSnapshot,
  options: PlanAssignmentsOptions = {},
): AssignmentPlan {
  return createAssignmentPlanner(options).plan(snapshot);
}

/**
 * The wire object of a desired record, as MIC writes it: name, namespace, the `nodename` label, the
 * pod UID annotation (when the pod's UID is known), the finalizer, full copies of the identity and
 * binding, and `status: Created`. For an update, pass the current record: its metadata
 * (resourceVersion, finalizers, other labels and annotations) is kept and only the `nodename` label
 * and the pod UID annotation follow the pod. An overwrite (`AssignmentPlan.overwrites`) passes the
 * unreadable record's metadata the same way.
 *
 * @param desired - the pair
 * @param current - the record being rewritten, for an update or an overwrite
 * @returns the AzureAssignedIdentity to POST (or PUT, for an update)
 */
export function toAssignedIdentity(
  desired: DesiredAssignment,
  current?: Pick<AzureAssignedIdentity, 'metadata'>,
): AzureAssignedIdentity {
  const metadata: ObjectMeta =
    current === undefined
      ? {
          name: desired.name,
          namespace: desired.namespace,
          labels: { [ASSIGNED_IDENTITY_NODE_LABEL]: desired.nodeName },
          finalizers: [ASSIGNED_IDENTITY_FINALIZER],
        }
      : {
          ...current.metadata,
          labels: { ...current.metadata.labels, [ASSIGNED_IDENTITY_NODE_LABEL]: desired.nodeName },
        };
  const annotations = Object.fromEntries(
    Object.entries(metadata.annotations ?? {}).filter(
      ([key]) => key !== ASSIGNED_IDENTITY_POD_UID_ANNOTATION,
    ),
  );
  if (desired.podUid !== undefined)
    annotations[ASSIGNED_IDENTITY_POD_UID_ANNOTATION] = desired.podUid;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureAssignedIdentity',
    metadata,
    spec: {
      azureIdentityRef: structuredClone(desired.identity),
      azureBindingRef: structuredClone(desired.binding),
      pod: desired.podName,
      podNamespace: desired.podNamespace,
      nodename: desired.nodeName,
    },
    status: { status: AssignedIdentityState.Created, availableReplicas: 1 },
  };
}
