import type { ArmEmulator, MachineDescription } from '../arm/start-arm-emulator.js';
import type { AssignedUserIdentity } from '../arm/arm-identity.js';
import { ImdsError } from './imds-error.js';

/** How a token request names its identity (`none`: the machine's default identity). */
export type ImdsSelector = 'client_id' | 'object_id' | 'msi_res_id' | 'mi_res_id' | 'none';

/** The identity a token request is served. */
export interface ResolvedImdsIdentity {
  readonly clientId: string;
  readonly objectId: string;
  readonly resourceId: string;
}

/**
 * The identity a token request names, among those the ARM emulator has assigned to the machine
 * now (ids compared case-insensitively): without a selector the system-assigned identity, else the
 * only user-assigned one. Throws IMDS's 400 `invalid_request` when there is no such identity or the
 * default is ambiguous.
 */
export function resolveImdsIdentity(
  arm: ArmEmulator,
  machine: MachineDescription,
  selector: ImdsSelector,
  value: string,
): ResolvedImdsIdentity {
  const assignment = arm.getIdentityAssignment(machine.identityResourceId);
  const user: readonly AssignedUserIdentity[] = assignment?.userAssigned ?? [];
  const notFound = new ImdsError(400, 'invalid_request', 'Identity not found');
  const fromUser = (identity: AssignedUserIdentity | undefined): ResolvedImdsIdentity => {
    if (!identity) throw notFound;
    return {
      clientId: identity.clientId,
      objectId: identity.principalId,
      resourceId: identity.resourceId,
    };
  };
  const lower = value.toLowerCase();
  switch (selector) {
    case 'client_id':
      return fromUser(user.find((identity) => identity.clientId.toLowerCase() === lower));
    case 'object_id':
      return fromUser(user.find((identity) => identity.principalId.toLowerCase() === lower));
    case 'msi_res_id':
    case 'mi_res_id':
      return fromUser(user.find((identity) => identity.resourceId.toLowerCase() === lower));
    case 'none': {
      const system = assignment?.systemAssigned;
      if (system)
        return {
          clientId: system.clientId,
          objectId: system.principalId,
          resourceId: machine.identityResourceId,
        };
      if (user.length === 1) return fromUser(user[0]);
      if (user.length > 1) {
        throw new ImdsError(
          400,
          'invalid_request',
          'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request',
        );
      }
      throw notFound;
    }
  }
}
