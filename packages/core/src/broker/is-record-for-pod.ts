import { ASSIGNED_IDENTITY_POD_UID_ANNOTATION, POD_LABEL_KEY } from '../crd/constants.js';
import type { AzureAssignedIdentity } from '../crd/types.js';

/** The fields of a pod that tell whether an AzureAssignedIdentity was made for it. */
export interface RecordedPod {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** `metadata.uid`, when known. */
  readonly uid?: string;
  /** Labels; `aadpodidbinding` is read. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Whether an AzureAssignedIdentity serves this pod as it is now, not merely a pod that once had its
 * name: the record names the pod's namespace and name, its binding's selector equals the pod's
 * current `aadpodidbinding` label, and, when the record carries the pod UID
 * ({@link ASSIGNED_IDENTITY_POD_UID_ANNOTATION}), that UID is the pod's. A pod deleted and created
 * again under the same name, or relabelled, is therefore refused its old record until MIC writes
 * the new one. Records of the original MIC carry no UID and are matched by selector alone.
 *
 * @param record - the assigned-identity record
 * @param pod - the pod as the caller's pod index has it now
 * @returns whether the record may be used for the pod
 */
export function isRecordForPod(record: AzureAssignedIdentity, pod: RecordedPod): boolean {
  if (record.spec.pod !== pod.name || record.spec.podNamespace !== pod.namespace) return false;
  const label = Object.hasOwn(pod.labels, POD_LABEL_KEY) ? pod.labels[POD_LABEL_KEY] : undefined;
  if (label === undefined || label === '' || record.spec.azureBindingRef.spec.selector !== label) {
    return false;
  }
  const annotations = record.metadata.annotations;
  if (
    annotations === undefined ||
    !Object.hasOwn(annotations, ASSIGNED_IDENTITY_POD_UID_ANNOTATION)
  )
    return true;
  // Present means checked: a record with a UID never serves a pod whose UID is unknown or different.
  return annotations[ASSIGNED_IDENTITY_POD_UID_ANNOTATION] === pod.uid;
}
