import type { AssignedIdentityState, IdentityType } from './constants.js';

/**
 * The part of Kubernetes `ObjectMeta` that pod-identity reads and writes. Other fields the API server
 * sends are kept by parsers only where noted.
 */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** A reference to a Kubernetes Secret (`core/v1 SecretReference`). */
export interface SecretReference {
  name?: string;
  namespace?: string;
}

/** `AzureIdentity.spec`, with the exact wire names of `aadpodidentity.k8s.io/v1`. */
export interface AzureIdentitySpec {
  /** 0 user-assigned MSI, 1 service principal (secret), 2 service principal (certificate). */
  type: IdentityType;
  /** ARM resource ID of the user-assigned identity; required for type 0. */
  resourceID?: string;
  /** Client (application) ID; used by every type. */
  clientID?: string;
  /** Secret holding the client secret (type 1) or the PKCS#12 certificate and password (type 2). */
  clientPassword?: SecretReference;
  /** Tenant of the service principal (types 1 and 2). */
  tenantID?: string;
  /** Extra tenants to fetch tokens for (type 1 only). */
  auxiliaryTenantIDs?: string[] | null;
  /** Unused by the original; kept for round-tripping. */
  adResourceID?: string;
  /** Authority host for service principals; `https://login.microsoftonline.com/` when empty. */
  adEndpoint?: string;
  /** Unused by the original; kept for round-tripping. */
  replicas?: number | null;
}

/** `AzureIdentity.status` (never written by the original). */
export interface AzureIdentityStatus {
  availableReplicas?: number;
}

/** An Azure identity that pods can be bound to. */
export interface AzureIdentity {
  apiVersion: 'aadpodidentity.k8s.io/v1';
  kind: 'AzureIdentity';
  metadata: ObjectMeta;
  spec: AzureIdentitySpec;
  status?: AzureIdentityStatus;
}

/** `AzureIdentityBinding.spec`. */
export interface AzureIdentityBindingSpec {
  /** Name of an AzureIdentity in the binding's own namespace. */
  azureIdentity: string;
  /** Pods whose `aadpodidbinding` label equals this value (case-sensitive) are bound. */
  selector: string;
  /** Unused by the original; kept for round-tripping. */
  weight?: number;
}

/** `AzureIdentityBinding.status` (never written by the original). */
export interface AzureIdentityBindingStatus {
  availableReplicas?: number;
}

/** Binds pods carrying a label value to an AzureIdentity. */
export interface AzureIdentityBinding {
  apiVersion: 'aadpodidentity.k8s.io/v1';
  kind: 'AzureIdentityBinding';
  metadata: ObjectMeta;
  spec: AzureIdentityBindingSpec;
  status?: AzureIdentityBindingStatus;
}

/** `AzureAssignedIdentity.spec`: one (pod, identity) pair and where it was assigned. */
export interface AzureAssignedIdentitySpec {
  /** The whole AzureIdentity as it was when the record was written. */
  azureIdentityRef: AzureIdentity;
  /** The whole AzureIdentityBinding as it was when the record was written. */
  azureBindingRef: AzureIdentityBinding;
  /** Pod name. */
  pod: string;
  /** Pod namespace. */
  podNamespace: string;
  /** The pod's `spec.nodeName`. The wire name is all lower-case. */
  nodename: string;
  /** Unused by the original; kept for round-tripping. */
  replicas?: number | null;
}

/** `AzureAssignedIdentity.status`. */
export interface AzureAssignedIdentityStatus {
  /** `Created`, `Assigned`, `Unassigned`, or `''` for a legacy record. */
  status?: AssignedIdentityState;
  /** MIC writes 1. */
  availableReplicas?: number;
}

/** MIC's record that a pod's identity is (being) assigned to its node. */
export interface AzureAssignedIdentity {
  apiVersion: 'aadpodidentity.k8s.io/v1';
  kind: 'AzureAssignedIdentity';
  metadata: ObjectMeta;
  spec: AzureAssignedIdentitySpec;
  status?: AzureAssignedIdentityStatus;
}

/** `AzurePodIdentityException.spec`. */
export interface AzurePodIdentityExceptionSpec {
  /**
   * Pods in the exception's namespace that carry any one of these label pairs (as the original; every
   * one of them when NMI runs with `--exception-match=all`) bypass NMI's checks.
   */
  podLabels: Record<string, string>;
}

/** `AzurePodIdentityException.status` (unused). */
export interface AzurePodIdentityExceptionStatus {
  status?: string;
}

/** Lets pods with given labels reach IMDS without pod-identity's checks. */
export interface AzurePodIdentityException {
  apiVersion: 'aadpodidentity.k8s.io/v1';
  kind: 'AzurePodIdentityException';
  metadata: ObjectMeta;
  spec: AzurePodIdentityExceptionSpec;
  status?: AzurePodIdentityExceptionStatus;
}

/** Any of the four pod-identity custom resources. */
export type PodIdentityObject =
  AzureIdentity | AzureIdentityBinding | AzureAssignedIdentity | AzurePodIdentityException;
