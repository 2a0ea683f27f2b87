import {
  ApiStatusError,
  badRequestError,
  conflictError,
  invalidError,
  notFoundError,
} from './api-status-error.js';
import type { KubernetesEmulatorStore } from './emulator-store.js';
import { asObject, asString, kubeTimestamp, type JsonObject } from './json.js';
import type {
  KubernetesTokenBinding,
  ServiceAccountTokenSigner,
} from './service-account-token-signer.js';
import { getPod, stringsOf, tokenPodView } from './service-account-token-pod.js';

/** Who sent a request, as the emulator authenticated it. */
export interface KubernetesUser {
  readonly name: string;
  readonly groups: readonly string[];
}

/** What {@link serveTokenRequest} reads. */
export interface TokenRequestOptions {
  readonly store: KubernetesEmulatorStore;
  readonly signer: ServiceAccountTokenSigner;
  /** Audiences nodes may request beyond those their pods mount. */
  readonly nodeAudiences: readonly string[];
  /** `--service-account-max-token-expiration` in seconds; default none. */
  readonly maxExpirationSeconds?: number | undefined;
  readonly now: Date;
}

/** The TokenRequest's `spec.boundObjectRef`, as given. */
interface BoundObjectRef {
  readonly raw: JsonObject | undefined;
  readonly kind: string | undefined;
  readonly apiVersion: string | undefined;
  readonly name: string;
  readonly uid: string;
}

const NODE_PREFIX = 'system:node:';
const MIN_EXPIRATION_SECONDS = 600;
const DEFAULT_EXPIRATION_SECONDS = 3600;
const SERVICE_ACCOUNTS = 'serviceaccounts';

function nodeNameOf(user: KubernetesUser): string | undefined {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith(NODE_PREFIX)) return undefined;
  return user.name.slice(NODE_PREFIX.length);
}

function forbidden(name: string, why: string): ApiStatusError {
  return new ApiStatusError(
    403,
    'Forbidden',
    `${SERVICE_ACCOUNTS} "${name}" is forbidden: ${why}`,
    {
      name,
      kind: SERVICE_ACCOUNTS,
    },
  );
}

/**
 * The Node authorizer and NodeRestriction for a node user's TokenRequest: the node must run a pod
 * as this service account, and the token must be bound (with its uid) to one of the node's pods,
 * for at most one audience that the pod mounts or that nodes are granted. Returns the bound pod.
 */
function checkNodeRequest(
  options: TokenRequestOptions,
  request: { namespace: string; name: string; user: KubernetesUser; nodeName: string },
  ref: BoundObjectRef,
  audiences: readonly string[],
): JsonObject {
  const { store } = options;
  const { namespace, name, user, nodeName } = request;
  // The Node authorizer: a node may create tokens only for service accounts its pods run as.
  const related = store
    .list({ apiVersion: 'v1', kind: 'Pod', namespace })
    .map(tokenPodView)
    .some((view) => view.nodeName === nodeName && view.serviceAccountName === name);
  if (!related)
    throw forbidden(
      name,
      `User "${user.name}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${namespace}": no relationship found between node '${nodeName}' and this object`,
    );
  // NodeRestriction: only tokens bound to one of the node's pods, named with its uid.
  if (ref.raw === undefined || ref.kind !== 'Pod' || ref.apiVersion !== 'v1' || ref.name === '')
    throw forbidden(name, 'node requested token not bound to a pod');
  if (ref.uid === '')
    throw forbidden(name, 'node requested token with a pod binding without a uid');
  const pod = getPod(store, namespace, ref.name);
  if (pod === undefined) throw notFoundError({ group: '', resource: 'pods' }, ref.name);
  const view = tokenPodView(pod);
  if (view.uid !== ref.uid)
    throw forbidden(
      name,
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  if (view.nodeName !== nodeName)
    throw forbidden(name, 'node requested token bound to a pod scheduled on a different node');
  if (audiences.length > 1) throw forbidden(name, 'node may only request 0 or 1 audiences');
  const audience = audiences[0] ?? '';
  if (!view.audiencesMounted.includes(audience) && !options.nodeAudiences.includes(audience))
    throw forbidden(
      name,
      `audience ${JSON.stringify(audience)} not found in pod spec volume, ${user.name} is not authorized to request tokens for this audience`,
    );
  return pod;
}

/**
 * What the token is bound to: the service account, and with a `boundObjectRef` the pod (which must
 * exist, run as the service account and match the given uid) and the node it runs on.
 */
function tokenBinding(
  store: KubernetesEmulatorStore,
  namespace: string,
  name: string,
  ref: BoundObjectRef,
  nodeCheckedPod: JsonObject | undefined,
): KubernetesTokenBinding {
  const serviceAccount = store.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace, name });
  if (serviceAccount === undefined)
    throw notFoundError({ group: '', resource: 'serviceaccounts' }, name);
  const binding: KubernetesTokenBinding = {
    namespace,
    serviceaccount: { name, uid: asString(asObject(serviceAccount.metadata)?.uid) ?? '' },
  };
  if (ref.raw === undefined) return binding;
  if (ref.kind !== 'Pod' || (ref.apiVersion ?? 'v1') !== 'v1')
    throw badRequestError(
      `cannot bind token to object of type ${ref.apiVersion ?? ''}, Kind=${ref.kind ?? ''}`,
    );
  const pod = nodeCheckedPod ?? getPod(store, namespace, ref.name);
  if (pod === undefined) throw notFoundError({ group: '', resource: 'pods' }, ref.name);
  const view = tokenPodView(pod);
  if (view.serviceAccountName !== name)
    throw badRequestError(
      `cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`,
    );
  if (ref.uid !== '' && ref.uid !== view.uid)
    throw conflictError(
      { group: '', resource: 'Pod' },
      ref.name,
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record (${view.uid}). The object might have been deleted and then recreated`,
    );
  const node =
    view.nodeName === ''
      ? undefined
      : store.get({ apiVersion: 'v1', kind: 'Node', name: view.nodeName });
  return {
    ...binding,
    pod: { name: ref.name, uid: view.uid },
    ...(node === undefined
      ? {}
      : { node: { name: view.nodeName, uid: asString(asObject(node.metadata)?.uid) ?? '' } }),
  };
}

/**
 * A TokenRequest's answer (`POST …/serviceaccounts/{name}/token`): audiences (default the issuer),
 * `expirationSeconds` (at least 600, default 3600, capped by the maximum), `boundObjectRef` to a
 * Pod; a node user is held to the Node authorizer and NodeRestriction first.
 */
export function serveTokenRequest(
  options: TokenRequestOptions,
  request: { namespace: string; name: string; body: unknown; user: KubernetesUser },
): unknown {
  const { namespace, name, user } = request;
  const spec = asObject(asObject(request.body)?.spec) ?? {};
  const audiences = stringsOf(spec.audiences) ?? [];
  const requested =
    typeof spec.expirationSeconds === 'number'
      ? spec.expirationSeconds
      : DEFAULT_EXPIRATION_SECONDS;
  if (requested < MIN_EXPIRATION_SECONDS) {
    throw invalidError({ group: 'authentication.k8s.io', kind: 'TokenRequest' }, '', [
      {
        type: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        value: requested,
        detail: 'may not specify a duration less than 10 minutes',
      },
    ]);
  }
  const raw = asObject(spec.boundObjectRef);
  const ref: BoundObjectRef = {
    raw,
    kind: asString(raw?.kind),
    apiVersion: asString(raw?.apiVersion),
    name: asString(raw?.name) ?? '',
    uid: asString(raw?.uid) ?? '',
  };
  const nodeName = nodeNameOf(user);
  const nodeCheckedPod =
    nodeName === undefined
      ? undefined
      : checkNodeRequest(options, { namespace, name, user, nodeName }, ref, audiences);
  const binding = tokenBinding(options.store, namespace, name, ref, nodeCheckedPod);
  const { signer } = options;
  const expirationSeconds =
    options.maxExpirationSeconds === undefined
      ? requested
      : Math.min(requested, options.maxExpirationSeconds);
  const effectiveAudiences = audiences.length > 0 ? audiences : [signer.issuer];
  const { token, claims } = signer.sign({
    audiences: effectiveAudiences,
    expirationSeconds,
    binding,
    now: options.now,
  });
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace, creationTimestamp: null },
    spec: { audiences: effectiveAudiences, expirationSeconds, boundObjectRef: raw ?? null },
    status: { token, expirationTimestamp: kubeTimestamp(new Date(claims.exp * 1000)) },
  };
}
