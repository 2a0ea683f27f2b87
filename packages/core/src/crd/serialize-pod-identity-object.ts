import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  AzurePodIdentityException,
  ObjectMeta,
  PodIdentityObject,
} from './types.js';
import { withoutUndefined } from './wire-reader.js';

function copyMap(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map === undefined ? undefined : Object.fromEntries(Object.entries(map));
}

function serializeMeta(meta: ObjectMeta): ObjectMeta {
  return withoutUndefined<ObjectMeta>({
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
    generation: meta.generation,
    creationTimestamp: meta.creationTimestamp,
    deletionTimestamp: meta.deletionTimestamp,
    labels: copyMap(meta.labels),
    annotations: copyMap(meta.annotations),
    finalizers: meta.finalizers === undefined ? undefined : [...meta.finalizers],
  });
}

function serializeIdentity(identity: AzureIdentity): AzureIdentity {
  const { spec, status } = identity;
  return withoutUndefined<AzureIdentity>({
    apiVersion: identity.apiVersion,
    kind: identity.kind,
    metadata: serializeMeta(identity.metadata),
    spec: withoutUndefined({
      type: spec.type,
      resourceID: spec.resourceID,
      clientID: spec.clientID,
      clientPassword:
        spec.clientPassword === undefined
          ? undefined
          : withoutUndefined({
              name: spec.clientPassword.name,
              namespace: spec.clientPassword.namespace,
            }),
      tenantID: spec.tenantID,
      auxiliaryTenantIDs:
        spec.auxiliaryTenantIDs === undefined || spec.auxiliaryTenantIDs === null
          ? spec.auxiliaryTenantIDs
          : [...spec.auxiliaryTenantIDs],
      adResourceID: spec.adResourceID,
      adEndpoint: spec.adEndpoint,
      replicas: spec.replicas,
    }),
    status:
      status === undefined
        ? undefined
        : withoutUndefined({ availableReplicas: status.availableReplicas }),
  });
}

function serializeBinding(binding: AzureIdentityBinding): AzureIdentityBinding {
  const { spec, status } = binding;
  return withoutUndefined<AzureIdentityBinding>({
    apiVersion: binding.apiVersion,
    kind: binding.kind,
    metadata: serializeMeta(binding.metadata),
    spec: withoutUndefined({
      azureIdentity: spec.azureIdentity,
      selector: spec.selector,
      weight: spec.weight,
    }),
    status:
      status === undefined
        ? undefined
        : withoutUndefined({ availableReplicas: status.availableReplicas }),
  });
}

function serializeAssigned(assigned: AzureAssignedIdentity): AzureAssignedIdentity {
  const { spec, status } = assigned;
  return withoutUndefined<AzureAssignedIdentity>({
    apiVersion: assigned.apiVersion,
    kind: assigned.kind,
    metadata: serializeMeta(assigned.metadata),
    spec: withoutUndefined({
      azureIdentityRef: serializeIdentity(spec.azureIdentityRef),
      azureBindingRef: serializeBinding(spec.azureBindingRef),
      pod: spec.pod,
      podNamespace: spec.podNamespace,
      nodename: spec.nodename,
      replicas: spec.replicas,
    }),
    status:
      status === undefined
        ? undefined
        : withoutUndefined({ status: status.status, availableReplicas: status.availableReplicas }),
  });
}

function serializeException(exception: AzurePodIdentityException): AzurePodIdentityException {
  const { spec, status } = exception;
  return withoutUndefined<AzurePodIdentityException>({
    apiVersion: exception.apiVersion,
    kind: exception.kind,
    metadata: serializeMeta(exception.metadata),
    spec: { podLabels: copyMap(spec.podLabels) ?? {} },
    status: status === undefined ? undefined : withoutUndefined({ status: status.status }),
  });
}

/**
 * Writes a pod-identity object as the JSON the API server expects: a fresh copy with the wire field
 * names, keys in a fixed order (`apiVersion`, `kind`, `metadata`, `spec`, `status`, and within each
 * the order of the CRD types), no `undefined` values, and no fields outside the types. Parsing the
 * result gives back an equal object, so `parse∘serialize` is the identity on valid objects.
 *
 * @param object - any of the four pod-identity objects
 * @returns a JSON-ready copy of the same kind, safe to `JSON.stringify` or send to the API server
 */
export function serializePodIdentityObject<T extends PodIdentityObject>(object: T): T;
export function serializePodIdentityObject(object: PodIdentityObject): PodIdentityObject {
  switch (object.kind) {
    case 'AzureIdentity':
      return serializeIdentity(object);
    case 'AzureIdentityBinding':
      return serializeBinding(object);
    case 'AzureAssignedIdentity':
      return serializeAssigned(object);
    case 'AzurePodIdentityException':
      return serializeException(object);
  }
}
