import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
} from '@pod-identity/core';

/** The columns `list -o wide` adds. */
export const WIDE_LIST_HEADERS = ['bindings', 'assigned'] as const;

/**
 * The cells `list -o wide` adds for one identity: its bindings' names, and how many pods have an
 * AzureAssignedIdentity for it, by the record's state (`Assigned=2,Created=1`), which says at a glance
 * whether MIC has assigned it where its pods run.
 *
 * @param identity - the AzureIdentity of the row
 * @param bindings - the bindings in its namespace that name it
 * @param assigned - every AzureAssignedIdentity of the cluster
 */
export function wideListCells(
  identity: AzureIdentity,
  bindings: readonly AzureIdentityBinding[],
  assigned: readonly AzureAssignedIdentity[],
): [string, string] {
  const states = new Map<string, number>();
  for (const record of assigned) {
    const ref = record.spec.azureIdentityRef.metadata;
    if (ref.namespace !== identity.metadata.namespace || ref.name !== identity.metadata.name)
      continue;
    const state = record.status?.status ?? '';
    const label = state === '' ? 'Unknown' : state;
    states.set(label, (states.get(label) ?? 0) + 1);
  }
  return [
    bindings.map((b) => b.metadata.name).join(','),
    [...states.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([state, count]) => `${state}=${count}`)
      .join(','),
  ];
}
