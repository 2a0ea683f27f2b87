import { randomUUID } from 'node:crypto';
import { MANAGED_IDENTITY, assertResourceName, userAssignedIdentityId } from './arm-resource-id.js';

/** A user-assigned identity to create with `ArmEmulator.createUserAssignedIdentity`. */
export interface UserAssignedIdentitySpec {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  /** Default `westus2`. */
  readonly location?: string;
}

/** An emulated user-assigned managed identity. */
export interface UserAssignedIdentityInfo {
  /** `/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>` */
  readonly id: string;
  readonly name: string;
  readonly clientId: string;
  readonly principalId: string;
  readonly tenantId: string;
}

/** A user-assigned identity as the emulator keeps it. @internal */
export interface StoredIdentity extends UserAssignedIdentityInfo {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  tags: Record<string, string>;
  /** Its federated identity credentials, keyed by lower-cased name, in creation order. */
  readonly federatedCredentials: Map<string, StoredFederatedCredential>;
}

/** A federated identity credential as the emulator keeps it. @internal */
export interface StoredFederatedCredential {
  /** The name as first written. */
  readonly name: string;
  issuer: string;
  subject: string;
  audiences: readonly string[];
}

/** The user-assigned identities of one emulator, keyed by lower-cased resource id. @internal */
export class UserAssignedIdentityStore {
  private readonly identities = new Map<string, StoredIdentity>();

  constructor(private readonly tenantId: string) {}

  /** Creates an identity with fresh client and principal ids, replacing any of the same id. */
  store(spec: UserAssignedIdentitySpec): StoredIdentity {
    const id = userAssignedIdentityId(spec.subscriptionId, spec.resourceGroup, spec.name);
    const stored: StoredIdentity = {
      id,
      name: spec.name,
      subscriptionId: spec.subscriptionId,
      resourceGroup: spec.resourceGroup,
      location: spec.location ?? 'westus2',
      clientId: randomUUID(),
      principalId: randomUUID(),
      tenantId: this.tenantId,
      tags: {},
      federatedCredentials: new Map(),
    };
    this.identities.set(id.toLowerCase(), stored);
    return stored;
  }

  /** Returns the existing identity of that name, or creates it (the test-setup path, no HTTP). */
  ensure(spec: UserAssignedIdentitySpec): StoredIdentity {
    assertResourceName('resourceGroup', spec.resourceGroup);
    assertResourceName('name', spec.name);
    const existing = this.get(
      userAssignedIdentityId(spec.subscriptionId, spec.resourceGroup, spec.name),
    );
    return existing ?? this.store(spec);
  }

  get(resourceId: string): StoredIdentity | undefined {
    return this.identities.get(resourceId.toLowerCase());
  }

  delete(resourceId: string): boolean {
    return this.identities.delete(resourceId.toLowerCase());
  }
}

/** The public view of a stored identity. */
export const publicIdentity = (stored: StoredIdentity): UserAssignedIdentityInfo => ({
  id: stored.id,
  name: stored.name,
  clientId: stored.clientId,
  principalId: stored.principalId,
  tenantId: stored.tenantId,
});

/** The first api-version whose identities carry `properties.isolationScope`. */
const ISOLATION_SCOPE_SINCE = '2024-11-30';

/** The ARM JSON of a user-assigned identity, as the api-version of the request defines it. */
export const identityJson = (
  identity: StoredIdentity,
  apiVersion: string,
): Record<string, unknown> => ({
  id: identity.id,
  name: identity.name,
  type: `${MANAGED_IDENTITY}/userAssignedIdentities`,
  location: identity.location,
  tags: identity.tags,
  properties: {
    tenantId: identity.tenantId,
    principalId: identity.principalId,
    clientId: identity.clientId,
    // The emulator has no regional restriction; api-versions before 2024-11-30 do not know the field.
    ...(apiVersion >= ISOLATION_SCOPE_SINCE ? { isolationScope: 'None' } : {}),
  },
});
