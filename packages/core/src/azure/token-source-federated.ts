import type { GetTokensOptions, TokenSource } from './token-source.js';
import {
  createServicePrincipalSource,
  type ServicePrincipalTokenSourceOptions,
} from './token-source-service-principal.js';

/** Options of {@link createFederatedTokenSource}. */
export interface FederatedTokenSourceOptions extends Omit<
  ServicePrincipalTokenSourceOptions,
  'auxiliaryTenantIds'
> {
  /**
   * Gets a fresh assertion: a token of an issuer that one of the identity's federated credentials
   * trusts (for pods, a service-account token bound to the pod, audience `api://AzureADTokenExchange`).
   */
  getAssertion: (options: GetTokensOptions) => Promise<string>;
}

/**
 * A token source for a user-assigned identity (or app) that signs in with a federated credential
 * (workload identity federation): `client_credentials` with a `jwt-bearer` client assertion, through
 * `@azure/identity`'s `ClientAssertionCredential`. The assertion is asked for on each token request,
 * so it is never older than the token it buys.
 *
 * @param options - tenant, client ID, authority, and where the assertion comes from
 * @returns the source
 */
export function createFederatedTokenSource(options: FederatedTokenSourceOptions): TokenSource {
  return createServicePrincipalSource(
    options,
    'federated',
    (identity, tenantId, credentialOptions) =>
      new identity.ClientAssertionCredential(
        tenantId,
        options.clientId,
        () => options.getAssertion({}),
        credentialOptions,
      ),
  );
}
