import type { FederatedCredential } from '../entra/federated-assertion.js';

/** The federated identity credentials of user-assigned identities, by identity resource id. */
export interface FederatedCredentialStore {
  /** Adds or replaces a credential (by name). Throws RangeError past Azure's 20 per identity. */
  add(identityId: string, credential: FederatedCredential): FederatedCredential;
  remove(identityId: string, name: string): boolean;
  list(identityId: string): readonly FederatedCredential[];
}

/** Azure allows at most 20 federated identity credentials on one user-assigned identity. */
export const MAX_FEDERATED_CREDENTIALS_PER_IDENTITY = 20;

/** An in-memory {@link FederatedCredentialStore}; identity ids compare case-insensitively, as ARM ids do. */
export function createFederatedCredentialStore(): FederatedCredentialStore {
  const byIdentity = new Map<string, Map<string, FederatedCredential>>();
  return {
    add(identityId, credential) {
      const key = identityId.toLowerCase();
      const credentials = byIdentity.get(key) ?? new Map<string, FederatedCredential>();
      if (
        !credentials.has(credential.name) &&
        credentials.size >= MAX_FEDERATED_CREDENTIALS_PER_IDENTITY
      )
        throw new RangeError(
          `identity ${identityId} already has ${MAX_FEDERATED_CREDENTIALS_PER_IDENTITY} federated identity credentials`,
        );
      credentials.set(credential.name, credential);
      byIdentity.set(key, credentials);
      return credential;
    },
    remove(identityId, name) {
      return byIdentity.get(identityId.toLowerCase())?.delete(name) ?? false;
    },
    list(identityId) {
      return [...(byIdentity.get(identityId.toLowerCase())?.values() ?? [])];
    },
  };
}
