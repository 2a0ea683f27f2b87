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
export { identityQuery, type IdentitySelector } from './identity-selector.js';
export { parseTokenResponse, type PodIdentityToken } from './parse-token-response.js';
export { parseRetryAfter } from '@pod-identity/core';
export {
  backoffDelayMs,
  resolveRetryOptions,
  DEFAULT_RETRY_OPTIONS,
  type RetryOptions,
  type ResolvedRetryOptions,
} from './backoff-delay.js';
export {
  resolveImdsEndpoint,
  IMDS_DEFAULT_HOST,
  IMDS_TOKEN_PATH,
  IMDS_INSTANCE_PATH,
  IMDS_TOKEN_API_VERSION,
  AUTHORITY_HOST_ENV,
} from './imds-endpoint.js';
export {
  sendMetadataRequest,
  MAX_METADATA_BODY_BYTES,
  type MetadataResponse,
  type SendMetadataRequestOptions,
} from './send-metadata-request.js';
export { TokenRequestError, type TokenRequestErrorDetails } from './errors/token-request-error.js';
export { IdentityNotAssignedError } from './errors/identity-not-assigned-error.js';
export { IdentityRefusedError } from './errors/identity-refused-error.js';
export { ImdsResponseError } from './errors/imds-response-error.js';
