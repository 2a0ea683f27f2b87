import {
  ASSIGNED_IDENTITY_POD_UID_ANNOTATION,
  AssignedIdentityState,
  IdentityType,
} from '../crd/constants.js';
import type { AzureAssignedIdentity } from '../crd/types.js';
import { parseUserAssignedIdentityId } from '../validation/parse-user-assigned-identity-id.js';
import { nodeTarget, type IdentityTarget } from './identity-target.js';
import type { IdentityRef, OwnedIdentity } from './plan-identity-deltas.js';
import { assignedIdentityProblem } from './planner-input-problem.js';

/** Input of {@link planGoMicAdoption}. */
export interface GoMicAdoptionInput {
  /** Every AzureAssignedIdentity record. */
  records: Iterable<AzureAssignedIdentity>;
  /** `spec.providerID` by node name. */
  nodeProviderIds: ReadonlyMap<string, string>;
  /** What the ownership ledger already holds, per target key. */
  owned: ReadonlyMap<string, ReadonlyMap<string, OwnedIdentity>>;
  /** Client IDs or resource IDs never to remove (never adopted either), compared case-insensitively. */
  immutable: Iterable<string>;
}

/** The identities to record as MIC's on one target, and the records that prove each was assigned. */
export interface TargetAdoption {
  /** The scale set or VM. */
  target: IdentityTarget;
  /** The identities to record as added by MIC there, each once. */
  identities: IdentityRef[];
  /** `namespace/name` of the records that account for the identities, for the log. */
  records: string[];
}

/**
 * Which user-assigned identities the original (Go) MIC assigned, as its records prove, so that this
 * MIC may take them into its ownership ledger and remove them once no pod needs them, as the
 * original would have. Without it, an identity the Go MIC added stays on its scale set or VM for
 * ever after the switch, since this MIC removes only what it added.
 *
 * A record proves an assignment when the Go MIC wrote it (it carries no pod UID annotation, which
 * this MIC always writes), it is `Assigned` or in the legacy empty state (the Go MIC assigned the
 * identity before marking either), its identity is a user-assigned identity (type 0) with a
 * well-formed resource ID, and its node belongs to a scale set or VM. Identities no such record
 * accounts for are never adopted: one assigned by hand stays untouched. Immutable identities and
 * identities the ledger already holds are left out. Pure.
 *
 * @param input - records, node provider IDs, ledger, immutable IDs
 * @returns per target, the identities to add to the ledger
 */
export function planGoMicAdoption(input: GoMicAdoptionInput): TargetAdoption[] {
  const immutable = new Set<string>();
  for (const id of input.immutable) if (id.trim() !== '') immutable.add(id.trim().toLowerCase());
  const byTarget = new Map<string, TargetAdoption & { keys: Set<string> }>();
  for (const record of input.records) {
    if (assignedIdentityProblem(record) !== undefined) continue;
    if (record.metadata.annotations?.[ASSIGNED_IDENTITY_POD_UID_ANNOTATION] !== undefined) continue;
    const state = record.status?.status ?? '';
    if (state !== AssignedIdentityState.Assigned && state !== '') continue;
    const identity = record.spec.azureIdentityRef.spec;
    if (identity.type !== IdentityType.UserAssignedMSI) continue;
    const resourceId = identity.resourceID ?? '';
    try {
      parseUserAssignedIdentityId(resourceId);
    } catch {
      continue;
    }
    const key = resourceId.toLowerCase();
    const clientId = identity.clientID ?? '';
    if (immutable.has(key) || (clientId !== '' && immutable.has(clientId.toLowerCase()))) continue;
    const placed = nodeTarget(
      record.spec.nodename,
      input.nodeProviderIds.get(record.spec.nodename),
    );
    if (!placed.ok) continue;
    if (input.owned.get(placed.target.key)?.has(key) === true) continue;
    let adoption = byTarget.get(placed.target.key);
    if (adoption === undefined) {
      adoption = { target: placed.target, identities: [], records: [], keys: new Set() };
      byTarget.set(placed.target.key, adoption);
    }
    adoption.records.push(`${record.metadata.namespace ?? ''}/${record.metadata.name}`);
    if (adoption.keys.has(key)) continue;
    adoption.keys.add(key);
    adoption.identities.push({ resourceId, key, clientId });
  }
  return [...byTarget.values()].map(({ target, identities, records }) => ({
    target,
    identities,
    records,
  }));
}
