import type { AzureIdentityBinding } from '@pod-identity/core';
import type { EventRecorder } from '@pod-identity/core/kubernetes';
import { bindingReference, recordReference } from './plan-skip-event.js';

/** The reason of MIC's events about an assignment that failed (the original MIC's wording). */
export const BINDING_APPLY_ERROR = 'binding apply error';

/** The assignment an event is about: its record, its binding and its pod. */
export interface FailedAssignment {
  /** The record's namespace and name. */
  readonly namespace: string;
  readonly name: string;
  readonly binding: AzureIdentityBinding;
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUid?: string;
}

/**
 * Records why an identity could not be assigned for a pod as a Warning event on the binding (as the
 * original MIC did), on the pod's AzureAssignedIdentity record and on the pod, so `kubectl describe
 * pod` and `pod-identity explain` show MIC's last error next to a record that stays `Created`.
 * @param recorder - MIC's event recorder
 * @param assignment - the record, binding and pod
 * @param message - what failed, with the error
 */
export function recordAssignmentFailure(
  recorder: Pick<EventRecorder, 'event'>,
  assignment: FailedAssignment,
  message: string,
): void {
  recorder.event(bindingReference(assignment.binding), 'Warning', BINDING_APPLY_ERROR, message);
  recorder.event(
    recordReference(assignment.namespace, assignment.name),
    'Warning',
    BINDING_APPLY_ERROR,
    message,
  );
  recorder.event(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: assignment.podNamespace,
      name: assignment.podName,
      ...(assignment.podUid === undefined ? {} : { uid: assignment.podUid }),
    },
    'Warning',
    BINDING_APPLY_ERROR,
    message,
  );
}
