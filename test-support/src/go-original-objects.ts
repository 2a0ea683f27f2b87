/**
 * Objects as a cluster that ran the Go original (AAD Pod Identity) holds them, for tests that start
 * from such a cluster. Each builder says which release or document of the original the shape comes
 * from; the shapes are described from the original's published types, manifests and documentation,
 * in this project's own words. They are wire objects (plain JSON), written through the API server so
 * that it prunes and warns as it would for the real thing.
 */

const GROUP_VERSION = 'aadpodidentity.k8s.io/v1';
const FINALIZER = 'azureassignedidentity.finalizers.aadpodidentity.k8s.io';

/** A wire object with the metadata the builders set. */
export interface GoObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
  [key: string]: unknown;
}

/**
 * Go marshals the spec's and status's embedded (unused) ObjectMeta as `{"creationTimestamp":null}`
 * on every object it writes (releases 1.6 to 1.8).
 */
const goEmbeddedMeta = (): Record<string, unknown> => ({ creationTimestamp: null });

/**
 * A user-assigned identity (type 0) as the original's demo manifest declares it
 * (`deploy/demo/aadpodidentity.yaml`, releases 1.6 to 1.8).
 */
export function goManagedIdentity(
  name: string,
  namespace: string,
  identity: { resourceId: string; clientId: string },
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentity',
    metadata: { name, namespace },
    spec: { type: 0, resourceID: identity.resourceId, clientID: identity.clientId },
  };
}

/**
 * A service principal with a client secret (type 1) as the original's documentation of service
 * principals declares it, optionally with the extra tenants of its multi-tenant page.
 */
export function goServicePrincipal(
  name: string,
  namespace: string,
  principal: {
    clientId: string;
    tenantId: string;
    secretName: string;
    auxiliaryTenantIds?: string[];
  },
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentity',
    metadata: { name, namespace },
    spec: {
      type: 1,
      tenantID: principal.tenantId,
      clientID: principal.clientId,
      clientPassword: { name: principal.secretName, namespace },
      ...(principal.auxiliaryTenantIds === undefined
        ? {}
        : { auxiliaryTenantIDs: principal.auxiliaryTenantIds }),
    },
  };
}

/**
 * The certificate service principal (type 2) of the original's AzureIdentity concept page, whose
 * example spells the Secret reference `{"Name": …, "Namespace": …}` with capitals; a structural CRD
 * prunes both keys.
 */
export function goDocsCertificateIdentity(
  name: string,
  namespace: string,
  principal: { clientId: string; tenantId: string; secretName: string },
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentity',
    metadata: { name, namespace },
    spec: {
      type: 2,
      tenantID: principal.tenantId,
      clientID: principal.clientId,
      clientPassword: { Name: principal.secretName, Namespace: namespace },
    },
  };
}

/** A binding as the original's demo manifest declares it (`deploy/demo/aadpodidentitybinding.yaml`). */
export function goBinding(
  name: string,
  namespace: string,
  azureIdentity: string,
  selector: string,
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentityBinding',
    metadata: { name, namespace },
    spec: { azureIdentity, selector },
  };
}

/**
 * An exception as the original's application-exception page declares it: pods of its namespace
 * carrying any one of these labels reach the node's IMDS directly.
 */
export function goException(
  name: string,
  namespace: string,
  podLabels: Record<string, string>,
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzurePodIdentityException',
    metadata: { name, namespace },
    spec: { podLabels },
  };
}

/**
 * An AzureAssignedIdentity as the Go MIC of releases 1.6 to 1.8 creates it: named
 * `<pod>-<pod namespace>-<identity>`, in `default`, labelled with the node, with MIC's finalizer,
 * whole copies of the identity and binding as MIC read them (resourceVersion included), Go's empty
 * embedded metadata, and `status.status` (`Assigned` once the identity is on the node).
 */
export function goMicRecord(
  identity: GoObject,
  binding: GoObject,
  pod: { name: string; namespace: string; nodeName: string },
  state: 'Created' | 'Assigned' | 'Unassigned' = 'Assigned',
): GoObject {
  const copy = (object: GoObject): Record<string, unknown> => ({
    ...structuredClone(object),
    spec: { metadata: goEmbeddedMeta(), ...(structuredClone(object.spec) as object) },
    status: { metadata: goEmbeddedMeta(), availableReplicas: 0 },
  });
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureAssignedIdentity',
    metadata: {
      name: `${pod.name}-${pod.namespace}-${identity.metadata.name}`,
      namespace: 'default',
      labels: { nodename: pod.nodeName },
      finalizers: [FINALIZER],
    },
    spec: {
      metadata: goEmbeddedMeta(),
      azureIdentityRef: copy(identity),
      azureBindingRef: copy(binding),
      pod: pod.name,
      podNamespace: pod.namespace,
      nodename: pod.nodeName,
    },
    status: { metadata: goEmbeddedMeta(), status: state, availableReplicas: 1 },
  };
}

/**
 * A record of the time before assignment states: the fields of {@link goMicRecord}, but no
 * `status.status` at all (the original treats that empty state as assigned, and releases such
 * records by deleting them).
 */
export function goRecordWithoutState(
  identity: GoObject,
  binding: GoObject,
  pod: { name: string; namespace: string; nodeName: string },
): GoObject {
  const record = goMicRecord(identity, binding, pod);
  delete record.status;
  return record;
}

/**
 * An AzureAssignedIdentity as the Go MIC 1.5.x and earlier wrote it: the refs and the pod namespace
 * under all-lower-case names (`azureidentityref`, `azurebindingref`, `podnamespace`), the identity
 * fields lower-case too, and the status under a capitalised `Status`. A structural CRD keeps only
 * `pod` and `nodename` of it.
 */
export function goMic15Record(
  identity: { name: string; namespace: string; resourceId: string; clientId: string },
  binding: { name: string; namespace: string; selector: string },
  pod: { name: string; namespace: string; nodeName: string },
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureAssignedIdentity',
    metadata: {
      name: `${pod.name}-${pod.namespace}-${identity.name}`,
      namespace: 'default',
      labels: { nodename: pod.nodeName },
      finalizers: [FINALIZER],
    },
    spec: {
      azureidentityref: {
        metadata: { name: identity.name, namespace: identity.namespace },
        spec: { type: 0, resourceid: identity.resourceId, clientid: identity.clientId },
      },
      azurebindingref: {
        metadata: { name: binding.name, namespace: binding.namespace },
        spec: { azureidentity: identity.name, selector: binding.selector },
      },
      pod: pod.name,
      podnamespace: pod.namespace,
      nodename: pod.nodeName,
    },
    Status: { status: 'Assigned', availableReplicas: 1 },
  };
}

/**
 * An AzureIdentity as manifests written for releases before 1.6 spell it (the documentation's
 * "v1.6.0" upgrade notes): `ResourceID` and `ClientID` capitalised, which the original read
 * case-insensitively until 1.6.
 */
export function pre16Identity(
  name: string,
  namespace: string,
  identity: { resourceId: string; clientId: string },
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentity',
    metadata: { name, namespace },
    spec: { type: 0, ResourceID: identity.resourceId, ClientID: identity.clientId },
  };
}

/** A binding as manifests written for releases before 1.6 spell it: `AzureIdentity`, `Selector`. */
export function pre16Binding(
  name: string,
  namespace: string,
  azureIdentity: string,
  selector: string,
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentityBinding',
    metadata: { name, namespace },
    spec: { AzureIdentity: azureIdentity, Selector: selector },
  };
}

/** An exception as manifests written for releases before 1.6 spell it: `PodLabels`. */
export function pre16Exception(
  name: string,
  namespace: string,
  podLabels: Record<string, string>,
): GoObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'AzurePodIdentityException',
    metadata: { name, namespace },
    spec: { PodLabels: podLabels },
  };
}
