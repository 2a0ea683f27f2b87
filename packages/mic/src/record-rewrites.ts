import {
  AssignedIdentityState,
  type AssignmentPlan,
  type AzureAssignedIdentity,
  type DesiredAssignment,
} from '@pod-identity/core';

/**
 * An existing record that a new one is written over: the whole current record of an update, or only
 * the metadata of an unreadable record whose name a pod needs.
 */
export type RecordRewrite = Pick<AzureAssignedIdentity, 'metadata'> &
  Partial<Pick<AzureAssignedIdentity, 'spec' | 'status'>>;

/**
 * Per record key (`namespace/name`), the existing record that the new record is written over (PUT
 * with its resourceVersion).
 */
export type RecordRewrites = ReadonlyMap<string, RecordRewrite>;

/**
 * The rewrites of a plan: its updates and its overwrites.
 * @param plan - the assignment plan
 * @returns the records to write over, by key
 */
export function rewritesOf(plan: Pick<AssignmentPlan, 'updates' | 'overwrites'>): RecordRewrites {
  const rewrites = new Map<string, RecordRewrite>();
  for (const update of plan.updates) rewrites.set(update.desired.key, update.current);
  for (const overwrite of plan.overwrites)
    rewrites.set(overwrite.desired.key, { metadata: overwrite.metadata });
  return rewrites;
}

/** The pod, pod namespace and node a record names, as far as they are strings. */
export interface LooseRecordSpec {
  pod?: string;
  podNamespace?: string;
  nodename?: string;
}

/**
 * Reads a record's pod, pod namespace and node without trusting its shape: records the strict
 * parser refused (a record of the original MIC 1.5 or earlier, say) are cached too, and indexing or
 * logging them must not throw.
 *
 * @param record - a cached record, possibly malformed
 * @returns the fields that are strings
 */
export function looseRecordSpec(record: AzureAssignedIdentity): LooseRecordSpec {
  const spec: unknown = (record as { spec?: unknown }).spec;
  if (typeof spec !== 'object' || spec === null) return {};
  const read = (key: keyof LooseRecordSpec): string | undefined => {
    const value: unknown = (spec as Record<string, unknown>)[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const out: LooseRecordSpec = {};
  const pod = read('pod');
  const podNamespace = read('podNamespace');
  const nodename = read('nodename');
  if (pod !== undefined) out.pod = pod;
  if (podNamespace !== undefined) out.podNamespace = podNamespace;
  if (nodename !== undefined) out.nodename = nodename;
  return out;
}

/**
 * Whether rewriting a record keeps an assignment that already holds: the record being written over
 * is `Assigned` (or in the legacy empty state, which NMI and the original MIC read as assigned) for
 * the same node and the same identity. Such a record is written straight to `Assigned` once its
 * identity is confirmed on the target, never back to `Created` on the way: NMI refuses a `Created`
 * record, and the pod it serves would lose its tokens while nothing about its assignment changed.
 *
 * @param desired - the pair the new record describes
 * @param rewrite - the record it is written over, if any
 * @returns true if the rewrite carries the assignment over
 */
export function carriesAssignment(
  desired: Pick<DesiredAssignment, 'nodeName' | 'identity'>,
  rewrite: RecordRewrite | undefined,
): boolean {
  // Only an update knows the record it replaces; an overwritten unreadable record proves nothing.
  const spec: unknown = rewrite?.spec;
  if (rewrite === undefined || typeof spec !== 'object' || spec === null) return false;
  const state = rewrite.status?.status ?? '';
  if (state !== AssignedIdentityState.Assigned && state !== '') return false;
  // Read loosely: a record cached from the API server may lack any of these.
  const { nodename, azureIdentityRef } = spec as {
    nodename?: unknown;
    azureIdentityRef?: { spec?: { resourceID?: unknown } };
  };
  const resourceId = azureIdentityRef?.spec?.resourceID;
  return (
    nodename === desired.nodeName &&
    typeof resourceId === 'string' &&
    resourceId.toLowerCase() === (desired.identity.spec.resourceID ?? '').toLowerCase()
  );
}
