import type { AcquiredToken } from '../broker/acquired-token.js';

/** Per-call options of {@link TokenSource.getTokens}. */
export interface GetTokensOptions {
  /** Stops the request (and its retries). */
  abortSignal?: AbortSignal;
}

/**
 * Where a broker gets tokens for one identity: the node's IMDS for a user-assigned identity, Entra
 * for a service principal. A source is stateless between calls apart from reusable connections; the
 * broker's `TokenCache` does the caching.
 */
export interface TokenSource {
  /**
   * Identifies everything that decides which token comes back (the `TokenCache` key's identity part).
   * Two sources with the same key are interchangeable.
   */
  readonly key: string;
  /**
   * Gets fresh tokens for a resource: one, or for a service principal with auxiliary tenants the
   * primary tenant's token followed by one per auxiliary tenant.
   *
   * @param resource - the audience, e.g. `https://management.azure.com/`
   * @param options - abort signal
   * @throws TokenAcquisitionError (`refused` when Azure said no, `unavailable` otherwise)
   */
  readonly getTokens: (
    resource: string,
    options?: GetTokensOptions,
  ) => Promise<readonly AcquiredToken[]>;
}

/**
 * The `.default` scope that asks Entra's v2.0 endpoint for a token whose audience is `resource`
 * (`https://vault.azure.net` → `https://vault.azure.net/.default`; one trailing slash is dropped first,
 * as the Azure SDKs do).
 *
 * @param resource - a v1 resource (App ID URI or GUID)
 * @returns the scope
 */
export function resourceToScope(resource: string): string {
  const trimmed = resource.endsWith('/') ? resource.slice(0, -1) : resource;
  return `${trimmed}/.default`;
}
