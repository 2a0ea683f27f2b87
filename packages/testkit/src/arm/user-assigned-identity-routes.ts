import { ArmOperation } from './arm-faults.js';
import type { ArmResult } from './arm-http.js';
import { resourceNotFound } from './arm-http.js';
import { MANAGED_IDENTITY, userAssignedIdentityId } from './arm-resource-id.js';
import type { ArmRequestContext, ArmResourceFamily, ArmRoute } from './arm-route.js';
import { matchResourceGroupProvider, methodNotAllowed } from './arm-route.js';
import { identityJson } from './user-assigned-identity-store.js';
import type { UserAssignedIdentityStore } from './user-assigned-identity-store.js';

interface IdentityAddress {
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

/**
 * `Microsoft.ManagedIdentity/userAssignedIdentities/{name}`: PUT (create or update tags), GET, DELETE.
 */
export function userAssignedIdentityRoutes(store: UserAssignedIdentityStore): ArmResourceFamily {
  const get = (address: IdentityAddress, context: ArmRequestContext): ArmResult => {
    const identity = store.get(address.id);
    if (!identity)
      throw resourceNotFound(
        `${MANAGED_IDENTITY}/userAssignedIdentities/${address.name}`,
        address.resourceGroup,
      );
    return { status: 200, body: identityJson(identity, context.apiVersion) };
  };

  const put = (address: IdentityAddress, context: ArmRequestContext): ArmResult => {
    const body = context.body;
    const record = (body !== null && typeof body === 'object' ? body : {}) as Record<
      string,
      unknown
    >;
    const existing = store.get(address.id);
    const tags = (record.tags ?? existing?.tags ?? {}) as Record<string, string>;
    const location =
      typeof record.location === 'string' ? record.location : (existing?.location ?? 'westus2');
    if (existing) {
      existing.tags = tags;
      return { status: 200, body: identityJson(existing, context.apiVersion) };
    }
    const created = store.store({
      subscriptionId: address.subscriptionId,
      resourceGroup: address.resourceGroup,
      name: address.name,
      location,
    });
    created.tags = tags;
    return { status: 201, body: identityJson(created, context.apiVersion) };
  };

  return {
    route(path, method): ArmRoute | undefined {
      const match = matchResourceGroupProvider(path, MANAGED_IDENTITY);
      if (match?.lower[0] !== 'userassignedidentities' || match.lower.length !== 2)
        return undefined;
      const name = match.raw[1];
      if (name === undefined) return undefined;
      const address: IdentityAddress = {
        id: userAssignedIdentityId(match.subscriptionId, match.resourceGroup, name),
        subscriptionId: match.subscriptionId,
        resourceGroup: match.resourceGroup,
        name,
      };
      const target = address.id.toLowerCase();
      switch (method) {
        case 'GET':
          return {
            operation: ArmOperation.IdentityGet,
            target,
            serve: (context) => get(address, context),
          };
        case 'PUT':
          return {
            operation: ArmOperation.IdentityCreate,
            target,
            serve: (context) => put(address, context),
          };
        case 'DELETE':
          return {
            operation: ArmOperation.IdentityDelete,
            target,
            serve: () => ({ status: store.delete(address.id) ? 200 : 204 }),
          };
        default:
          return methodNotAllowed(target);
      }
    },
  };
}
