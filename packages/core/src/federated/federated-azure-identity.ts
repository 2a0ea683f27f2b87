import { FEDERATED_ANNOTATION_KEY, FEDERATED_ANNOTATION_VALUE } from '../crd/constants.js';
import type { AzureIdentity } from '../crd/types.js';
import {
  servedByFederation,
  type FederatedDecision,
  type FederatedPod,
} from './decide-federated.js';

/**
 * Whether an AzureIdentity is served by federation: it carries the annotation
 * `aadpodidentity.k8s.io/federated: "true"` (exact value). MIC then neither records nor assigns it, and
 * NMI exchanges a service-account token of each pod its bindings select.
 * @param identity - the identity
 */
export function isFederatedIdentity(identity: Pick<AzureIdentity, 'metadata'>): boolean {
  return identity.metadata.annotations?.[FEDERATED_ANNOTATION_KEY] === FEDERATED_ANNOTATION_VALUE;
}

/**
 * Who serves a pod's request for a federated AzureIdentity its binding gives it: the identity's client
 * id and tenant (`spec.tenantID`, else `defaultTenantId`), as the pod's own service account (the
 * subject Entra checks against the identity's federated credentials). Pure.
 * @param identity - an identity for which {@link isFederatedIdentity} holds
 * @param pod - the caller
 * @param defaultTenantId - the tenant when the identity names none
 * @returns the federated identity, or a refusal when the identity cannot be federated
 */
export function federatedIdentityOf(
  identity: AzureIdentity,
  pod: FederatedPod,
  defaultTenantId: string | undefined,
): Exclude<FederatedDecision, { kind: 'not-federated' }> {
  const key = `${identity.metadata.namespace ?? ''}/${identity.metadata.name}`;
  const clientId = identity.spec.clientID?.trim() ?? '';
  if (clientId === '')
    return {
      kind: 'deny',
      status: 403,
      reason: 'identity-not-federated',
      message: `AzureIdentity ${key} is annotated ${FEDERATED_ANNOTATION_KEY}=${FEDERATED_ANNOTATION_VALUE} but has no spec.clientID`,
    };
  const ownTenant = identity.spec.tenantID?.trim() ?? '';
  const tenantId = ownTenant !== '' ? ownTenant : (defaultTenantId ?? '');
  if (tenantId === '')
    return {
      kind: 'deny',
      status: 403,
      reason: 'no-tenant',
      message: `AzureIdentity ${key} is federated but has no spec.tenantID and NMI has no default tenant`,
    };
  return servedByFederation(pod, clientId, tenantId);
}
