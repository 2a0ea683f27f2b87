import {
  CrdKinds,
  GROUP_VERSION,
  type AzureIdentityBinding,
  type PlanSkip,
} from '@pod-identity/core';
import type { EventObjectReference } from '@pod-identity/core/kubernetes';

/** The Warning event MIC records for something the planner left out. */
export interface PlanSkipEvent {
  object: EventObjectReference;
  reason: string;
}

/**
 * The event reference of a binding (MIC's events about a pod's assignment go on its binding).
 * @param binding - the binding
 * @returns the reference
 */
export function bindingReference(binding: AzureIdentityBinding): EventObjectReference {
  return {
    apiVersion: GROUP_VERSION,
    kind: CrdKinds.AzureIdentityBinding.kind,
    namespace: binding.metadata.namespace ?? '',
    name: binding.metadata.name,
    ...(binding.metadata.uid === undefined ? {} : { uid: binding.metadata.uid }),
  };
}

/**
 * The event reference of an AzureAssignedIdentity record.
 * @param namespace - the record's namespace
 * @param name - the record's name
 * @returns the reference
 */
export function recordReference(namespace: string, name: string): EventObjectReference {
  return { apiVersion: GROUP_VERSION, kind: CrdKinds.AzureAssignedIdentity.kind, namespace, name };
}

const reasons: Readonly<Record<PlanSkip['kind'], string | undefined>> = {
  AzureIdentity: 'invalid identity',
  AzureIdentityBinding: 'invalid binding',
  AzureAssignedIdentity: 'invalid assigned identity',
  // Pods come from MIC's own projection; a malformed one is only logged.
  Pod: undefined,
};

/**
 * Where and why MIC reports a skip: problems of a pair on its binding (`binding apply error`, as the
 * original), a malformed or refused object on that object itself (`invalid identity`,
 * `invalid binding`, `invalid assigned identity`).
 *
 * @param skip - what the planner left out
 * @returns the event, or `undefined` when the skip is only logged
 */
export function planSkipEvent(skip: PlanSkip): PlanSkipEvent | undefined {
  if (skip.binding !== undefined) {
    return { object: bindingReference(skip.binding), reason: 'binding apply error' };
  }
  const reason = reasons[skip.kind];
  const slash = skip.object.indexOf('/');
  const name = skip.object.slice(slash + 1);
  if (reason === undefined || name === '' || name === '?') return undefined;
  return {
    object: {
      apiVersion: GROUP_VERSION,
      kind: skip.kind,
      namespace: skip.object.slice(0, slash),
      name,
    },
    reason,
  };
}
