import { ValidationError } from '../errors/validation-error.js';

/** The parts of a user-assigned managed identity's ARM resource ID. */
export interface UserAssignedIdentityId {
  /** The subscription, as written in the ID. */
  subscriptionId: string;
  /** The resource group, as written in the ID. */
  resourceGroup: string;
  /** The identity's name, as written in the ID. */
  name: string;
  /**
   * The ID rebuilt with Azure's canonical spelling of the fixed segments
   * (`/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…`)
   * and the three values as written. Compare IDs with `isSameResourceId`, never with `===`.
   */
  id: string;
}

const FIXED_SEGMENTS = [
  'subscriptions',
  'resourceGroups',
  'providers',
  'Microsoft.ManagedIdentity',
  'userAssignedIdentities',
] as const;

const SHAPE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}';

/**
 * Parses the ARM resource ID of a user-assigned managed identity,
 * `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`.
 *
 * The fixed segments match case-insensitively, as ARM matches them. Unlike the original's unanchored
 * regex, the whole string must have exactly this shape: no scheme or host, no extra segments, no
 * empty part, no whitespace, and no trailing `/` (a trailing slash is an empty extra segment; ARM
 * would not treat the result as the same key of `identity.userAssignedIdentities`, so it is rejected
 * rather than silently trimmed).
 *
 * @param id - the candidate resource ID, e.g. an AzureIdentity's `spec.resourceID`
 * @param field - the path reported in errors; `spec.resourceID` unless given
 * @returns the subscription, resource group and name, and the ID in canonical spelling
 * @throws ValidationError naming `field` when the ID does not have the shape above
 */
export function parseUserAssignedIdentityId(
  id: string,
  field = 'spec.resourceID',
): UserAssignedIdentityId {
  const fail = (why: string): never => {
    throw new ValidationError(
      field,
      `${JSON.stringify(id)} is not a user-assigned identity resource ID (${why}); expected ${SHAPE}`,
    );
  };
  if (id === '') {
    return fail('it is empty');
  }
  if (/\s/u.test(id)) {
    return fail('it contains whitespace');
  }
  if (!id.startsWith('/')) {
    return fail("it must start with '/'");
  }
  if (id.endsWith('/')) {
    return fail("it must not end with '/'");
  }
  const segments = id.slice(1).split('/');
  if (segments.length !== 8) {
    return fail(`it has ${segments.length} segments instead of 8`);
  }
  const [subs, subscriptionId, rgs, resourceGroup, providers, namespace, type, name] = segments as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const fixed = [subs, rgs, providers, namespace, type];
  for (const [index, expected] of FIXED_SEGMENTS.entries()) {
    const actual = fixed[index] ?? '';
    if (actual.toLowerCase() !== expected.toLowerCase()) {
      return fail(`found ${JSON.stringify(actual)} where ${JSON.stringify(expected)} belongs`);
    }
  }
  if (subscriptionId === '' || resourceGroup === '' || name === '') {
    return fail('the subscription, resource group and name must not be empty');
  }
  return {
    subscriptionId,
    resourceGroup,
    name,
    id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
  };
}
