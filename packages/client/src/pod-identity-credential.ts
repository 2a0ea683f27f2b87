import type {
  AccessToken,
  GetTokenOptions as CredentialGetTokenOptions,
  TokenCredential,
} from '@azure/core-auth';
import { raceAbort } from '@pod-identity/core';
import { getToken, resourceFromScope, type GetTokenOptions } from './get-token.js';
import type { IdentitySelector } from './identity-selector.js';
import type { PodIdentityToken } from './parse-token-response.js';

/** Options of {@link PodIdentityCredential}. */
export interface PodIdentityCredentialOptions extends Omit<GetTokenOptions, 'abortSignal'> {
  /** Which user-assigned identity; omit for the pod's only one. */
  identity?: IdentitySelector;
  /**
   * How long before expiry a cached token is refreshed. Default 300000 ms (5 minutes), what the
   * Azure SDK's bearer-token policy also assumes. While a refresh fails, the still-valid cached
   * token keeps being returned.
   */
  refreshBeforeExpiryMs?: number;
}

/**
 * A `TokenCredential` (`@azure/core-auth`) that any Azure SDK client accepts, backed by
 * {@link getToken}: IMDS, or NMI on a pod-identity node. Tokens are cached per resource until
 * {@link PodIdentityCredentialOptions.refreshBeforeExpiryMs} before they expire, and concurrent
 * requests for the same resource share one request to the endpoint.
 *
 * @example
 * ```ts
 * const credential = new PodIdentityCredential({ identity: { clientId } });
 * const compute = new ComputeManagementClient(credential, subscriptionId);
 * ```
 */
export class PodIdentityCredential implements TokenCredential {
  readonly #options: Omit<PodIdentityCredentialOptions, 'identity' | 'refreshBeforeExpiryMs'>;
  readonly #identity: IdentitySelector | undefined;
  readonly #refreshBeforeExpiryMs: number;
  readonly #cache = new Map<string, PodIdentityToken>();
  readonly #inFlight = new Map<string, Promise<PodIdentityToken>>();

  /**
   * @param options - identity, endpoint, deadline, retry spacing, refresh margin
   * @throws TypeError for an identity selector with more than one field
   */
  constructor(options: PodIdentityCredentialOptions = {}) {
    const { identity, refreshBeforeExpiryMs = 300_000, ...rest } = options;
    if (!Number.isFinite(refreshBeforeExpiryMs) || refreshBeforeExpiryMs < 0) {
      throw new RangeError(
        `refreshBeforeExpiryMs must be a non-negative number, got ${String(refreshBeforeExpiryMs)}`,
      );
    }
    this.#identity = identity;
    this.#options = rest;
    this.#refreshBeforeExpiryMs = refreshBeforeExpiryMs;
  }

  /**
   * Gets a token for one scope (`<resource>/.default` or a bare resource URI).
   *
   * @param scopes - exactly one scope; IMDS issues a token for one resource at a time
   * @param options - the caller's abort signal is honoured for its own wait only, so that one
   *   caller giving up does not fail others sharing the same request
   * @throws the errors of {@link getToken}; TypeError for zero or several scopes
   */
  async getToken(
    scopes: string | string[],
    options: CredentialGetTokenOptions = {},
  ): Promise<AccessToken> {
    const list = Array.isArray(scopes) ? scopes : [scopes];
    if (list.length !== 1 || list[0] === undefined) {
      throw new TypeError(`PodIdentityCredential takes exactly one scope, got ${list.length}`);
    }
    const resource = resourceFromScope(list[0]);
    const now = (this.#options.now ?? Date.now)();
    const cached = this.#cache.get(resource);
    if (cached !== undefined && now < cached.expiresOnTimestamp - this.#refreshBeforeExpiryMs) {
      return toAccessToken(cached, this.#refreshBeforeExpiryMs);
    }
    let flight = this.#inFlight.get(resource);
    if (flight === undefined) {
      flight = this.#fetch(resource);
      this.#inFlight.set(resource, flight);
    }
    try {
      const token = await raceAbort(flight, options.abortSignal);
      return toAccessToken(token, this.#refreshBeforeExpiryMs);
    } catch (error) {
      // A refresh that fails while the cached token is still valid is not the caller's problem yet.
      const stillValid = this.#cache.get(resource);
      const aborted = options.abortSignal?.aborted === true;
      if (
        !aborted &&
        stillValid !== undefined &&
        (this.#options.now ?? Date.now)() < stillValid.expiresOnTimestamp
      ) {
        return toAccessToken(stillValid, this.#refreshBeforeExpiryMs);
      }
      throw error;
    }
  }

  async #fetch(resource: string): Promise<PodIdentityToken> {
    try {
      const token = await getToken(resource, this.#identity, this.#options);
      this.#cache.set(resource, token);
      return token;
    } finally {
      this.#inFlight.delete(resource);
    }
  }
}

function toAccessToken(token: PodIdentityToken, refreshBeforeExpiryMs: number): AccessToken {
  return {
    token: token.token,
    expiresOnTimestamp: token.expiresOnTimestamp,
    refreshAfterTimestamp: token.expiresOnTimestamp - refreshBeforeExpiryMs,
    tokenType: 'Bearer',
  };
}
