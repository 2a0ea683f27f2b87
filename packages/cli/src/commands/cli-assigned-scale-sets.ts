import type { AzureIdentity } from '@pod-identity/core';
import type { ScaleSetRef } from '../azure-access.js';

/**
 * Annotation on an AzureIdentity made by managed-mode `pod-identity add`: the scale sets (comma
 * separated `subscription/resourceGroup/name`, lower case) the CLI put the identity on, or found it
 * on because another pod identity of the same Azure identity had put it there. `pod-identity delete`
 * removes the identity only from these, so an assignment made by hand (or by anything else) stays.
 */
export const CLI_ASSIGNED_SCALE_SETS_ANNOTATION = 'aadpodidentity.k8s.io/cli-assigned-scale-sets';

/** The key of a scale set in {@link CLI_ASSIGNED_SCALE_SETS_ANNOTATION}. */
export function scaleSetKey(scaleSet: ScaleSetRef): string {
  return `${scaleSet.subscriptionId}/${scaleSet.resourceGroup}/${scaleSet.name}`.toLowerCase();
}

/** The scale sets an AzureIdentity records the CLI assigned it to (none without the annotation). */
export function cliAssignedScaleSets(identity: AzureIdentity): Set<string> {
  const value = identity.metadata.annotations?.[CLI_ASSIGNED_SCALE_SETS_ANNOTATION] ?? '';
  return new Set(value.split(',').filter((key) => key !== ''));
}

/** A copy of an AzureIdentity recording these scale sets in {@link CLI_ASSIGNED_SCALE_SETS_ANNOTATION}. */
export function withCliAssignedScaleSets(
  identity: AzureIdentity,
  keys: ReadonlySet<string>,
): AzureIdentity {
  return {
    ...identity,
    metadata: {
      ...identity.metadata,
      annotations: {
        ...identity.metadata.annotations,
        [CLI_ASSIGNED_SCALE_SETS_ANNOTATION]: [...keys].sort().join(','),
      },
    },
  };
}
