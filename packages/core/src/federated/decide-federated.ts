import type { IdentitySelector } from '../imds/identity-selector.js';
import { redactClientId } from '../validation/redact-client-id.js';

/** Pod label that opts a pod into workload identity (azure-workload-identity's), value `"true"`. */
export const WORKLOAD_IDENTITY_USE_LABEL = 'azure.workload.identity/use';
/** ServiceAccount annotation: the client id of the identity its pods are federated to. */
export const WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';
/** ServiceAccount annotation: the identity's tenant (optional). */
export const WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION = 'azure.workload.identity/tenant-id';
/** The audience of the service-account token Entra exchanges. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** The parts of a pod the federated decision reads. */
export interface FederatedPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `spec.serviceAccountName`; `default` when unset, as Kubernetes defaults it. */
  readonly serviceAccountName?: string;
}

/** The parts of a ServiceAccount the federated decision reads (its workload-identity annotations). */
export interface FederatedServiceAccount {
  readonly namespace: string;
  readonly name: string;
  /** `azure.workload.identity/client-id` */
  readonly clientId?: string;
  /** `azure.workload.identity/tenant-id` */
  readonly tenantId?: string;
}

/** Who serves the request when the pod is federated. */
export interface FederatedIdentity {
  readonly clientId: string;
  readonly tenantId: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
  /** `system:serviceaccount:<namespace>:<name>`: the subject of the pod's tokens. */
  readonly subject: string;
}

/** The outcome of {@link decideFederated}. */
export type FederatedDecision =
  /** The pod does not opt in: the other modes decide. */
  | { readonly kind: 'not-federated' }
  | { readonly kind: 'identity'; readonly identity: FederatedIdentity }
  | {
      readonly kind: 'deny';
      /** 403: this pod may not have that identity (IMDS answers 403 for an identity it may not use). */
      readonly status: 403;
      /** For logs, metrics and events. */
      readonly reason: 'service-account-not-federated' | 'identity-not-federated' | 'no-tenant';
      readonly message: string;
    };

/** Whether a pod opts into workload identity (label `azure.workload.identity/use: "true"`). */
export function isFederatedPod(pod: Pick<FederatedPod, 'labels'>): boolean {
  return pod.labels[WORKLOAD_IDENTITY_USE_LABEL] === 'true';
}

/**
 * Decides a token request of a pod in federated mode, as azure-workload-identity defines the
 * contract: a pod labelled `azure.workload.identity/use: "true"` gets the identity its service account
 * names (`azure.workload.identity/client-id`, tenant from `azure.workload.identity/tenant-id` or
 * `defaultTenantId`), and only that one. Pure: the caller passes the pod's service account as the
 * cluster has it now (`undefined` when it does not exist).
 *
 * @param pod - the caller
 * @param requested - the identity the request names
 * @param serviceAccount - the pod's service account, or `undefined`
 * @param defaultTenantId - the tenant when the service account names none
 * @returns the decision
 */
export function decideFederated(
  pod: FederatedPod,
  requested: IdentitySelector,
  serviceAccount: FederatedServiceAccount | undefined,
  defaultTenantId: string | undefined,
): FederatedDecision {
  if (!isFederatedPod(pod)) return { kind: 'not-federated' };
  const accountName = pod.serviceAccountName ?? 'default';
  const account = `${pod.namespace}/${accountName}`;
  const clientId = serviceAccount?.clientId?.trim() ?? '';
  if (
    serviceAccount?.namespace !== pod.namespace ||
    serviceAccount.name !== accountName ||
    clientId === ''
  ) {
    return {
      kind: 'deny',
      status: 403,
      reason: 'service-account-not-federated',
      message: `pod ${pod.namespace}/${pod.name} is labelled ${WORKLOAD_IDENTITY_USE_LABEL}=true but its service account ${account} has no ${WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION} annotation`,
    };
  }
  // An empty annotation or flag counts as none.
  const annotatedTenant = serviceAccount.tenantId?.trim() ?? '';
  const tenantId = annotatedTenant !== '' ? annotatedTenant : (defaultTenantId ?? '');
  if (tenantId === '') {
    return {
      kind: 'deny',
      status: 403,
      reason: 'no-tenant',
      message: `service account ${account} has no ${WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION} annotation and NMI has no default tenant`,
    };
  }
  // A federated pod has exactly one identity; a selector naming another is refused, never served by
  // another mode's identity instead. Only client_id can be compared without asking Azure.
  const matches =
    requested.kind === 'none' ||
    (requested.kind === 'clientId' && requested.clientId.toLowerCase() === clientId.toLowerCase());
  if (!matches) {
    const named =
      requested.kind === 'clientId'
        ? `client_id ${redactClientId(requested.clientId)}`
        : requested.kind === 'objectId'
          ? 'an object_id'
          : 'a resource id';
    return {
      kind: 'deny',
      status: 403,
      reason: 'identity-not-federated',
      message: `pod ${pod.namespace}/${pod.name} is federated to client_id ${redactClientId(clientId)} (service account ${account}); it asked for ${named}, which federated mode selects by client_id only`,
    };
  }
  return servedByFederation(pod, clientId, tenantId);
}

/**
 * The decision to serve `pod` by federation as `clientId` in `tenantId`: the subject is the pod's
 * own service account (`default` when the pod names none), whichever way federation was chosen.
 * @param pod - the calling pod
 * @param clientId - the identity's client id
 * @param tenantId - the tenant the exchange goes to
 */
export function servedByFederation(
  pod: FederatedPod,
  clientId: string,
  tenantId: string,
): Extract<FederatedDecision, { kind: 'identity' }> {
  const accountName = pod.serviceAccountName ?? 'default';
  return {
    kind: 'identity',
    identity: {
      clientId,
      tenantId,
      namespace: pod.namespace,
      serviceAccountName: accountName,
      subject: `system:serviceaccount:${pod.namespace}:${accountName}`,
    },
  };
}
