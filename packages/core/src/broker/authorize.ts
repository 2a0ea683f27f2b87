import {
  AssignedIdentityState,
  BEHAVIOR_ANNOTATION_KEY,
  BEHAVIOR_NAMESPACED,
  POD_LABEL_KEY,
} from '../crd/constants.js';
import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  AzurePodIdentityException,
} from '../crd/types.js';
import { isFederatedIdentity } from '../federated/federated-azure-identity.js';
import type { IdentitySelector } from '../imds/identity-selector.js';
import { isSameResourceId } from '../validation/is-same-resource-id.js';
import { isRecordForPod } from './is-record-for-pod.js';
import { isLivePod } from './pod-index.js';

/**
 * How the broker decides which identities a pod may use: `standard` from MIC's AzureAssignedIdentity
 * records, `managed` from the bindings and identities in the pod's namespace (no MIC).
 */
export type OperationMode = 'standard' | 'managed';

/**
 * How an AzurePodIdentityException's `podLabels` select pods of its namespace:
 * - `any` (the default, the original's rule): a pod carrying any one of the labels, its value
 *   compared ignoring case as the original did;
 * - `all` (stricter, opt-in): a pod carrying every one of the labels, values compared exactly.
 *
 * A pod's author chooses its labels, so requiring all of them protects nothing that requiring one
 * does not; `all` exists for clusters that wrote their exceptions for it.
 */
export type ExceptionMatch = 'any' | 'all';

/** The calling pod as {@link authorize} sees it. */
export interface AuthorizationPod {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** `metadata.uid`; a record that carries a pod UID serves only the pod with that UID. */
  readonly uid?: string;
  /** `status.phase`; only `Pending` and `Running` pods are served. */
  readonly phase: string;
  /** Labels (`aadpodidbinding`, exception labels). */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The cluster state {@link authorize} decides from. Lookups rather than arrays, so a broker can
 * answer them from informer indexes without copying; each returns only what its arguments name.
 */
export interface AuthorizationView {
  /** The operation mode. */
  readonly mode: OperationMode;
  /** Every identity is namespaced (`--forceNamespaced`). Managed mode is always namespaced. */
  readonly forceNamespaced?: boolean;
  /** How exceptions select pods (`--exception-match`). Default `any`, as the original. */
  readonly exceptionMatch?: ExceptionMatch;
  /** AzurePodIdentityExceptions in a namespace. */
  exceptions(namespace: string): readonly AzurePodIdentityException[];
  /** Standard mode: the AzureAssignedIdentities recorded for a pod (`spec.podNamespace`, `spec.pod`). */
  assignedIdentities(podNamespace: string, podName: string): readonly AzureAssignedIdentity[];
  /** Managed mode: the AzureIdentityBindings in a namespace. */
  bindings(namespace: string): readonly AzureIdentityBinding[];
  /**
   * Standard mode, optional: the AzureIdentityBindings of every namespace whose selector is
   * `selector`. With it, a refusal says whether MIC still has work in flight for the pod (a binding
   * selects it whose record is missing or not yet `Assigned`) or nothing could change the answer
   * ({@link AuthorizationDecision}'s `permanent`); without it, every standard-mode refusal is taken as
   * possibly in flight.
   */
  bindingsSelecting?(selector: string): readonly AzureIdentityBinding[];
  /**
   * The AzureIdentities in a namespace: managed mode decides from them; standard mode reads them for
   * federated identities (annotation `aadpodidentity.k8s.io/federated: "true"`), which MIC never
   * records, with {@link AuthorizationView.bindingsSelecting}.
   */
  identities(namespace: string): readonly AzureIdentity[];
}

/** Why a pod is refused a token. */
export type DenyReason =
  /** The pod is not `Pending` or `Running`. */
  | 'pod-not-live'
  /** Nothing gives the pod an identity (no record, no matching binding). */
  | 'no-identity'
  /** The pod has identities, but not the one it asked for. */
  | 'identity-not-bound'
  /** The identity's record exists but MIC has not assigned it to the node yet (`Created`). */
  | 'not-assigned';

/**
 * The decision for one request:
 * - `identity`: serve a token of this identity;
 * - `object-id`: the request named an `object_id`, which AzureIdentity does not record; serve the first
 *   candidate (in order) whose token's `oid` claim equals it, or refuse if none does;
 * - `exception`: an AzurePodIdentityException matches the pod: pass the request to the node's IMDS with
 *   exactly the selector the pod sent, as if pod-identity were not installed;
 * - `deny`: refuse. `waitFor` says what could still change the answer in standard mode (MIC creating
 *   the record, or assigning it), so a broker may wait or answer with `Retry-After`.
 */
export type AuthorizationDecision =
  | { readonly kind: 'identity'; readonly identity: AzureIdentity }
  | {
      readonly kind: 'object-id';
      readonly objectId: string;
      readonly candidates: readonly AzureIdentity[];
    }
  | { readonly kind: 'exception'; readonly exception: AzurePodIdentityException }
  | {
      readonly kind: 'deny';
      readonly reason: DenyReason;
      readonly message: string;
      readonly waitFor?: 'created' | 'assigned';
      /**
       * Nothing in flight can change the answer: no binding selects the pod, every binding that does
       * already has its record and none gives the requested identity, the pod is not live, or
       * (managed mode) the bindings and identities say no. A client should fail at once rather than
       * retry. False while MIC may still create or assign a record for the pod.
       */
      readonly permanent: boolean;
    };

/**
 * Decides whether a pod may have a token and of which identity. Pure: the same inputs give the same
 * decision, and when several identities fit and the request names none, the choice is the first by
 * (namespace, name) of the AzureIdentity, not whatever order a cache returned.
 *
 * Rules, and where they differ from the original NMI on purpose:
 * - a pod that is not `Pending`/`Running` is refused;
 * - an exception matches a pod in the exception's namespace that carries any one label of its
 *   `podLabels` (value compared ignoring case), as the original, or with `exceptionMatch: 'all'`
 *   every one of them exactly; an exception with no labels matches nothing; unlike the original, no
 *   pod is excepted for being in the MIC namespace with a ReplicaSet name beginning with `mic`;
 * - standard mode serves identities whose record for this pod is `Assigned` (or legacy `''`) and was
 *   made for the pod as it is now (see `isRecordForPod`: binding selector equals the pod's label, pod
 *   UID equal where the record carries one) and, given the view's `bindingsSelecting`, whose binding
 *   still selects the pod's label and names that identity, which still exists with the same client
 *   and resource IDs (the original served a record until MIC removed it), after
 *   dropping, in namespaced mode or for identities annotated namespaced, identities of other namespaces;
 * - standard mode also serves, with no record, the federated identities (see `isFederatedIdentity`)
 *   named by bindings that select the pod (given the view's `bindingsSelecting`); the decision names the
 *   identity, and the broker serves it by federation as the pod's service account;
 * - managed mode serves identities in the pod's namespace named by bindings in the pod's namespace
 *   whose selector equals the pod's `aadpodidbinding` label;
 * - `client_id` and `msi_res_id` match case-insensitively (GUIDs and ARM IDs are case-insensitive).
 *
 * @param pod - the calling pod
 * @param identity - the identity the request names, if any
 * @param view - cluster state
 * @returns the decision
 */
export function authorize(
  pod: AuthorizationPod,
  identity: IdentitySelector,
  view: AuthorizationView,
): AuthorizationDecision {
  if (!isLivePod(pod)) {
    return deny(
      'pod-not-live',
      `pod ${pod.namespace}/${pod.name} is ${pod.phase}, not running`,
      undefined,
      true,
    );
  }
  const exception = findException(pod, view.exceptions(pod.namespace), view.exceptionMatch);
  if (exception !== undefined) return { kind: 'exception', exception };
  return view.mode === 'managed'
    ? authorizeManaged(pod, identity, view)
    : authorizeStandard(pod, identity, view);
}

/**
 * The labels of an exception that a pod carries, as the rule counts them: under `any`, each label
 * whose key the pod has with a value equal ignoring case; under `all`, every label when the pod has
 * all of them with exactly those values, else none.
 * @param pod - the pod
 * @param exception - the exception
 * @param rule - the matching rule (default `any`)
 * @returns the matching `[key, value]` pairs of the exception; empty when it does not apply
 */
export function matchedExceptionLabels(
  pod: Pick<AuthorizationPod, 'labels'>,
  exception: AzurePodIdentityException,
  rule: ExceptionMatch = 'any',
): [string, string][] {
  const entries = Object.entries(exception.spec.podLabels);
  const carries = ([key, value]: [string, string]): boolean => {
    if (!Object.hasOwn(pod.labels, key)) return false;
    const own = pod.labels[key] ?? '';
    return rule === 'all' ? own === value : own.toLowerCase() === value.toLowerCase();
  };
  if (rule === 'any') return entries.filter(carries);
  return entries.length > 0 && entries.every(carries) ? entries : [];
}

/**
 * The exception in the pod's namespace that applies to it under `rule`, the first by name.
 * @param pod - the pod
 * @param exceptions - exceptions to try
 * @param rule - `any` (default, the original's rule) or `all`
 */
export function findException(
  pod: Pick<AuthorizationPod, 'namespace' | 'labels'>,
  exceptions: readonly AzurePodIdentityException[],
  rule: ExceptionMatch = 'any',
): AzurePodIdentityException | undefined {
  let found: AzurePodIdentityException | undefined;
  for (const exception of exceptions) {
    if (exception.metadata.namespace !== pod.namespace) continue;
    if (matchedExceptionLabels(pod, exception, rule).length === 0) continue;
    if (found === undefined || exception.metadata.name < found.metadata.name) found = exception;
  }
  return found;
}

/**
 * Whether an identity answers to a request's selector. `none` and `objectId` match every identity
 * (AzureIdentity has no object ID; the token's `oid` claim decides).
 * @param identity - the identity
 * @param requested - the selector
 */
export function identityMatches(identity: AzureIdentity, requested: IdentitySelector): boolean {
  switch (requested.kind) {
    case 'none':
    case 'objectId':
      return true;
    case 'clientId': {
      const clientId = identity.spec.clientID ?? '';
      return clientId !== '' && clientId.toLowerCase() === requested.clientId.toLowerCase();
    }
    case 'resourceId': {
      const resourceId = identity.spec.resourceID ?? '';
      return resourceId !== '' && isSameResourceId(resourceId, requested.resourceId);
    }
  }
}

// Whether an identity only serves pods of its own namespace (the planner applies the same rule).
function isNamespacedIdentity(identity: AzureIdentity, forceNamespaced: boolean): boolean {
  return (
    forceNamespaced ||
    identity.metadata.annotations?.[BEHAVIOR_ANNOTATION_KEY] === BEHAVIOR_NAMESPACED
  );
}

function authorizeStandard(
  pod: AuthorizationPod,
  requested: IdentitySelector,
  view: AuthorizationView,
): AuthorizationDecision {
  const forceNamespaced = view.forceNamespaced ?? false;
  const selector = podSelector(pod);
  const federated = federatedBindings(pod, selector, view);
  const usable: AzureIdentity[] = [];
  const recorded: AzureAssignedIdentity[] = [];
  let anyBound = federated.length > 0;
  let pending = false;
  let outdated = false;
  for (const { identity } of federated)
    if (identityMatches(identity, requested)) usable.push(identity);
  for (const record of view.assignedIdentities(pod.namespace, pod.name)) {
    // A view that returns someone else's record (another pod, or an earlier pod of this name, or
    // this pod before a relabel) must not hand out its identity.
    if (!isRecordForPod(record, pod)) continue;
    const state = record.status?.status ?? '';
    if (state === AssignedIdentityState.Unassigned) continue;
    if (selector !== undefined && !recordStillBound(record, selector, view)) {
      // MIC will remove it, or the view has not caught up with its binding yet: not final either way.
      outdated = true;
      continue;
    }
    recorded.push(record);
    const identity = record.spec.azureIdentityRef;
    // A record left from before the identity became federated: federation serves it now.
    if (federated.some((bound) => sameIdentity(bound.identity, identity))) continue;
    if (
      isNamespacedIdentity(identity, forceNamespaced) &&
      identity.metadata.namespace !== pod.namespace
    ) {
      continue;
    }
    anyBound = true;
    if (!identityMatches(identity, requested)) continue;
    if (state === AssignedIdentityState.Assigned || state === '') usable.push(identity);
    else pending = true;
  }
  if (usable.length > 0) return choose(usable, requested);
  if (pending) {
    return deny(
      'not-assigned',
      `identity for pod ${pod.namespace}/${pod.name} is not assigned to the node yet`,
      'assigned',
      false,
    );
  }
  const settled = !outdated && micHasNothingInFlight(pod, selector, recorded, federated, view);
  if (anyBound && requested.kind !== 'none') {
    return deny(
      'identity-not-bound',
      notBoundMessage(pod, requested, selector),
      'created',
      settled,
    );
  }
  return deny('no-identity', noIdentityMessage(pod, selector, settled), 'created', settled);
}

/**
 * Standard mode, given the view's bindings: whether the binding and identity a record was made from
 * still give it, as the view has them now. MIC writes a record from copies of both and removes it
 * only on its next pass, after the scale set's PATCH when the pod was the identity's last user, so
 * without this a binding pointed at another selector, or an identity deleted or given another client
 * ID, kept serving the old identity to the pods of the old selector for as long as MIC took (seconds
 * under load). True without the view's bindings, which leaves nothing to check against.
 */
function recordStillBound(
  record: AzureAssignedIdentity,
  selector: string,
  view: AuthorizationView,
): boolean {
  if (view.bindingsSelecting === undefined) return true;
  const { azureBindingRef: recordedBinding, azureIdentityRef: recordedIdentity } = record.spec;
  const bindingNamespace = recordedBinding.metadata.namespace ?? '';
  const binding = view
    .bindingsSelecting(selector)
    .find(
      (candidate) =>
        candidate.metadata.name === recordedBinding.metadata.name &&
        (candidate.metadata.namespace ?? '') === bindingNamespace &&
        candidate.spec.selector === selector,
    );
  if (binding?.spec.azureIdentity !== recordedIdentity.metadata.name) return false;
  const identityNamespace = recordedIdentity.metadata.namespace ?? '';
  const current = view
    .identities(identityNamespace)
    .find(
      (candidate) =>
        candidate.metadata.name === recordedIdentity.metadata.name &&
        (candidate.metadata.namespace ?? '') === identityNamespace,
    );
  return current !== undefined && sameCredentials(current, recordedIdentity);
}

// The fields a token is fetched by: type, client ID and resource ID (ARM compares them ignoring case).
function sameCredentials(a: AzureIdentity, b: AzureIdentity): boolean {
  const lower = (value: string | undefined): string => (value ?? '').toLowerCase();
  return (
    a.spec.type === b.spec.type &&
    lower(a.spec.clientID) === lower(b.spec.clientID) &&
    lower(a.spec.resourceID) === lower(b.spec.resourceID)
  );
}

// The pod's `aadpodidbinding` label, or undefined when it has none (or an empty one).
function podSelector(pod: AuthorizationPod): string | undefined {
  const label = Object.hasOwn(pod.labels, POD_LABEL_KEY) ? pod.labels[POD_LABEL_KEY] : undefined;
  return label === '' ? undefined : label;
}

// Standard mode: whether MIC has no more records to write for the pod, so a refusal now is final.
// Unknowable (false) without the view's bindings. A pod without a label is selected by no binding;
// otherwise every binding that selects its label (in its namespace, or any namespace unless
// --forceNamespaced) must already have a record for this pod.
function micHasNothingInFlight(
  pod: AuthorizationPod,
  selector: string | undefined,
  recorded: readonly AzureAssignedIdentity[],
  federated: readonly FederatedBinding[],
  view: AuthorizationView,
): boolean {
  if (view.bindingsSelecting === undefined) return false;
  if (selector === undefined) return true;
  const forceNamespaced = view.forceNamespaced ?? false;
  // MIC writes no record for a binding of a federated identity: nothing is in flight for it.
  const withRecord = new Set([
    ...recorded.map(
      (record) =>
        `${record.spec.azureBindingRef.metadata.namespace ?? ''}/${record.spec.azureBindingRef.metadata.name}`,
    ),
    ...federated.map(
      ({ binding }) => `${binding.metadata.namespace ?? ''}/${binding.metadata.name}`,
    ),
  ]);
  for (const binding of view.bindingsSelecting(selector)) {
    if (binding.spec.selector !== selector) continue;
    const namespace = binding.metadata.namespace ?? '';
    if (forceNamespaced && namespace !== pod.namespace) continue;
    if (!withRecord.has(`${namespace}/${binding.metadata.name}`)) return false;
  }
  return true;
}

/** A binding that selects the pod and names a federated identity. */
interface FederatedBinding {
  readonly binding: AzureIdentityBinding;
  readonly identity: AzureIdentity;
}

// Standard mode: the federated identities the pod's bindings give it. MIC records none of them, so
// they come from the bindings and identities themselves, under the rules MIC applies to the others
// (binding and identity in one namespace, `--forceNamespaced` and namespaced identities serve only
// pods of their namespace). Empty without the view's bindings.
function federatedBindings(
  pod: AuthorizationPod,
  selector: string | undefined,
  view: AuthorizationView,
): FederatedBinding[] {
  if (selector === undefined || view.bindingsSelecting === undefined) return [];
  const forceNamespaced = view.forceNamespaced ?? false;
  const found: FederatedBinding[] = [];
  for (const binding of view.bindingsSelecting(selector)) {
    if (binding.spec.selector !== selector) continue;
    const namespace = binding.metadata.namespace ?? '';
    if (forceNamespaced && namespace !== pod.namespace) continue;
    const identity = view
      .identities(namespace)
      .find(
        (candidate) =>
          candidate.metadata.namespace === namespace &&
          candidate.metadata.name === binding.spec.azureIdentity,
      );
    if (identity === undefined || !isFederatedIdentity(identity)) continue;
    if (isNamespacedIdentity(identity, forceNamespaced) && namespace !== pod.namespace) continue;
    found.push({ binding, identity });
  }
  return found;
}

function sameIdentity(a: AzureIdentity, b: AzureIdentity): boolean {
  return compareIdentities(a, b) === 0;
}

function noIdentityMessage(
  pod: AuthorizationPod,
  selector: string | undefined,
  settled: boolean,
): string {
  const who = `pod ${pod.namespace}/${pod.name}`;
  if (selector === undefined)
    return `no azure identity is assigned to ${who}: it has no ${POD_LABEL_KEY} label; label it with the selector of an AzureIdentityBinding`;
  if (settled)
    return `no azure identity is assigned to ${who}: no AzureIdentityBinding selects ${POD_LABEL_KEY}=${selector}; create one or relabel the pod`;
  return `no azure identity is assigned to pod ${pod.namespace}/${pod.name}`;
}

function authorizeManaged(
  pod: AuthorizationPod,
  requested: IdentitySelector,
  view: AuthorizationView,
): AuthorizationDecision {
  const selector = podSelector(pod);
  const names = new Set<string>();
  if (selector !== undefined) {
    for (const binding of view.bindings(pod.namespace)) {
      if (binding.metadata.namespace === pod.namespace && binding.spec.selector === selector) {
        names.add(binding.spec.azureIdentity);
      }
    }
  }
  const bound: AzureIdentity[] = [];
  if (names.size > 0) {
    for (const identity of view.identities(pod.namespace)) {
      if (identity.metadata.namespace === pod.namespace && names.has(identity.metadata.name)) {
        bound.push(identity);
      }
    }
  }
  if (bound.length === 0) {
    const why =
      selector === undefined
        ? `it has no ${POD_LABEL_KEY} label`
        : names.size === 0
          ? `no AzureIdentityBinding in its namespace selects ${POD_LABEL_KEY}=${selector}`
          : `the AzureIdentity named by its binding (${[...names].sort().join(', ')}) does not exist in its namespace`;
    return deny(
      'no-identity',
      `no azure identity is bound to pod ${pod.namespace}/${pod.name}: ${why}`,
      undefined,
      true,
    );
  }
  const usable = bound.filter((identity) => identityMatches(identity, requested));
  if (usable.length === 0)
    return deny('identity-not-bound', notBoundMessage(pod, requested, selector), undefined, true);
  return choose(usable, requested);
}

function choose(usable: AzureIdentity[], requested: IdentitySelector): AuthorizationDecision {
  const sorted = usable.length === 1 ? usable : dedupe(usable.sort(compareIdentities));
  if (requested.kind === 'objectId') {
    return { kind: 'object-id', objectId: requested.objectId, candidates: sorted };
  }
  const [first] = sorted;
  if (first === undefined) throw new Error('unreachable: choose() got no identities');
  return { kind: 'identity', identity: first };
}

function compareIdentities(a: AzureIdentity, b: AzureIdentity): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  return 0;
}

// Two records of the same identity (one per binding) are one candidate.
function dedupe(sorted: AzureIdentity[]): AzureIdentity[] {
  const out: AzureIdentity[] = [];
  let previous: AzureIdentity | undefined;
  for (const identity of sorted) {
    if (previous === undefined || compareIdentities(identity, previous) !== 0) out.push(identity);
    previous = identity;
  }
  return out;
}

function notBoundMessage(
  pod: AuthorizationPod,
  requested: IdentitySelector,
  selector: string | undefined,
): string {
  const what =
    requested.kind === 'clientId'
      ? 'the requested client ID'
      : requested.kind === 'resourceId'
        ? 'the requested resource ID'
        : 'the requested identity';
  const bindings = selector === undefined ? '' : ` (bound through ${POD_LABEL_KEY}=${selector})`;
  return `no azure identity found for pod ${pod.namespace}/${pod.name} matching ${what}: the pod's identities${bindings} do not include it; bind that identity to the pod's selector or ask for one it has`;
}

function deny(
  reason: DenyReason,
  message: string,
  waitFor: 'created' | 'assigned' | undefined,
  permanent: boolean,
): AuthorizationDecision {
  return waitFor === undefined
    ? { kind: 'deny', reason, message, permanent }
    : { kind: 'deny', reason, message, waitFor, permanent };
}
