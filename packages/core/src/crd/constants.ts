/** API group of the four pod-identity custom resources. */
export const API_GROUP = 'aadpodidentity.k8s.io';
/** The one served and stored version of the custom resources. */
export const API_VERSION = 'v1';
/** `apiVersion` of every pod-identity object: `aadpodidentity.k8s.io/v1`. */
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/**
 * Kinds of the four custom resources, with their plural resource names as the API server serves them.
 */
export const CrdKinds = {
  AzureIdentity: { kind: 'AzureIdentity', plural: 'azureidentities', singular: 'azureidentity' },
  AzureIdentityBinding: {
    kind: 'AzureIdentityBinding',
    plural: 'azureidentitybindings',
    singular: 'azureidentitybinding',
  },
  AzureAssignedIdentity: {
    kind: 'AzureAssignedIdentity',
    plural: 'azureassignedidentities',
    singular: 'azureassignedidentity',
  },
  AzurePodIdentityException: {
    kind: 'AzurePodIdentityException',
    plural: 'azurepodidentityexceptions',
    singular: 'azurepodidentityexception',
  },
} as const;

/** Kind name of one of the four custom resources. */
export type CrdKind = keyof typeof CrdKinds;

/**
 * `AzureIdentity.spec.type` values. The wire value is the integer; the names are the Go constants'.
 */
export const IdentityType = {
  /** A user-assigned managed identity, fetched from the node's IMDS. */
  UserAssignedMSI: 0,
  /** A service principal with a client secret. */
  ServicePrincipal: 1,
  /** A service principal with a PKCS#12 certificate. */
  ServicePrincipalCertificate: 2,
} as const;

/** One of the three identity types (0, 1 or 2). */
export type IdentityType = (typeof IdentityType)[keyof typeof IdentityType];

/**
 * `AzureAssignedIdentity.status.status` values. An empty string is the legacy state written by MIC
 * versions before states existed; it is treated like `Assigned` where the original did.
 */
export const AssignedIdentityState = {
  Created: 'Created',
  Assigned: 'Assigned',
  Unassigned: 'Unassigned',
} as const;

/** A state of an assigned identity, or `''` for a legacy record. */
export type AssignedIdentityState =
  (typeof AssignedIdentityState)[keyof typeof AssignedIdentityState] | '';

/** The pod label whose value must equal a binding's `spec.selector` (case-sensitive). */
export const POD_LABEL_KEY = 'aadpodidbinding';

/** Annotation on an AzureIdentity that makes that one identity namespaced. Exact key. */
export const BEHAVIOR_ANNOTATION_KEY = 'aadpodidentity.k8s.io/Behavior';
/** The value of {@link BEHAVIOR_ANNOTATION_KEY} that makes an identity namespaced. Exact value. */
export const BEHAVIOR_NAMESPACED = 'namespaced';

/**
 * Annotation on an AzureIdentity that serves it by federation (docs/federated.md): NMI exchanges a
 * service-account token of each pod its bindings select for the identity's tokens, and MIC neither
 * records nor assigns it. An annotation rather than a spec field, so the CRDs keep the original's
 * schema and the original MIC, which ignores it, can still read the identity. Exact key.
 */
export const FEDERATED_ANNOTATION_KEY = 'aadpodidentity.k8s.io/federated';
/** The value of {@link FEDERATED_ANNOTATION_KEY} that makes an identity federated. Exact value. */
export const FEDERATED_ANNOTATION_VALUE = 'true';

/** Finalizer that MIC puts on every AzureAssignedIdentity it creates. */
export const ASSIGNED_IDENTITY_FINALIZER = 'azureassignedidentity.finalizers.aadpodidentity.k8s.io';

/** The one label MIC sets on an AzureAssignedIdentity: the pod's node name. */
export const ASSIGNED_IDENTITY_NODE_LABEL = 'nodename';

/**
 * Annotation on an AzureAssignedIdentity holding the `metadata.uid` of the pod it was made for, so
 * that a pod deleted and created again under the same name is not served its predecessor's record.
 * An annotation rather than a spec field: metadata survives the CRD's structural schema (a field the
 * schema does not name would be pruned by the API server), and the original MIC and NMI ignore it.
 * Records without it (written by the original MIC) are matched by binding selector only.
 */
export const ASSIGNED_IDENTITY_POD_UID_ANNOTATION = 'aadpodidentity.k8s.io/pod-uid';

/**
 * Namespace of every AzureAssignedIdentity unless namespaced mode (or the identity's namespaced
 * annotation) puts it in the identity's namespace.
 */
export const DEFAULT_ASSIGNED_IDENTITY_NAMESPACE = 'default';

/** The `component` of Kubernetes events that MIC emits. */
export const EVENT_SOURCE_COMPONENT = 'aadpodidentity.k8s.io';

/**
 * Name of the AzureAssignedIdentity that records one (pod, identity) pair:
 * `<podName>-<podNamespace>-<azureIdentityName>`. The original's comment says the identity's
 * namespace, but its code (and so every existing cluster) uses the pod's namespace.
 *
 * @param podName - the pod's name
 * @param podNamespace - the pod's namespace
 * @param identityName - the AzureIdentity's name
 * @returns the assigned-identity name
 */
export function assignedIdentityName(
  podName: string,
  podNamespace: string,
  identityName: string,
): string {
  return `${podName}-${podNamespace}-${identityName}`;
}
