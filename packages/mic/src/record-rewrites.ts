import type { AssignmentPlan, AzureAssignedIdentity } from '@pod-identity/core';

/**
 * Per record key (`namespace/name`), the metadata of an existing record that the new record is
 * written over (PUT with its resourceVersion): the current record of an update, or an unreadable
 * record whose name a pod needs.
 */
export type RecordRewrites = ReadonlyMap<string, Pick<AzureAssignedIdentity, 'metadata'>>;

/**
 * The rewrites of a plan: its updates and its overwrites.
 * @param plan - the assignment plan
 * @returns the records to write over, by key
 */
export function rewritesOf(plan: Pick<AssignmentPlan, 'updates' | 'overwrites'>): RecordRewrites {
  const rewrites = new Map<string, Pick<AzureAssignedIdentity, 'metadata'>>();
  for (const update of plan.updates) rewrites.set(update.desired.key, update.current);
  for (const overwrite of plan.overwrites) rewrites.set(overwrite.desired.key, overwrite);
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
