/**
 * Which user-assigned identity to ask for: exactly one of its client ID, its ARM resource ID or its
 * object (principal) ID. Leave it out (or pass `{}`) to take the pod's only identity.
 */
export type IdentitySelector =
  | { clientId: string; resourceId?: never; objectId?: never }
  | { resourceId: string; clientId?: never; objectId?: never }
  | { objectId: string; clientId?: never; resourceId?: never }
  | { clientId?: never; resourceId?: never; objectId?: never };

/**
 * The query parameters for an identity selector, checked: at most one selector, none empty.
 * `msi_res_id` is what current Azure docs name; every NMI version also reads it.
 *
 * @throws TypeError when more than one selector is given or one is empty
 */
export function identityQuery(
  identity: IdentitySelector | undefined,
): [string, string] | undefined {
  if (identity === undefined) return undefined;
  const given = (
    [
      ['clientId', 'client_id', identity.clientId],
      ['resourceId', 'msi_res_id', identity.resourceId],
      ['objectId', 'object_id', identity.objectId],
    ] as const
  ).filter(([, , value]) => value !== undefined);
  if (given.length > 1) {
    throw new TypeError(
      `give at most one of clientId, resourceId, objectId; got ${given.map(([name]) => name).join(', ')}`,
    );
  }
  const [entry] = given;
  if (entry === undefined) return undefined;
  const [name, parameter, value] = entry;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${name} must be a non-empty string`);
  }
  return [parameter, value];
}
