/**
 * What applications embed to get Azure AD tokens inside a pod: {@link getToken} against IMDS (or
 * NMI, which intercepts it on a pod-identity node) with the retry policy Azure documents, and
 * {@link PodIdentityCredential}, a `TokenCredential` for every Azure SDK client.
 *
 * @packageDocumentation
 */

export { getToken, resourceFromScope, type GetTokenOptions, type RetryEvent } from './get-token.js';
export {
  PodIdentityCredential,
  type PodIdentityCredentialOptions,
} from './pod-identity-credential.js';
export type { IdentitySelector } from './identity-selector.js';
export type { PodIdentityToken } from './parse-token-response.js';
export type { RetryOptions } from './backoff-delay.js';
export { AUTHORITY_HOST_ENV } from './imds-endpoint.js';
export { TokenRequestError, type TokenRequestErrorDetails } from './errors/token-request-error.js';
export { IdentityNotAssignedError } from './errors/identity-not-assigned-error.js';
export { IdentityRefusedError } from './errors/identity-refused-error.js';
export { ImdsResponseError } from './errors/imds-response-error.js';
