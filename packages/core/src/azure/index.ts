/**
 * Azure adapters: the ARM identity assigner on `@azure/arm-compute`, token sources on
 * `@azure/identity`.
 *
 * @packageDocumentation
 */
// --- ARM identity assigner (MIC) ---
export {
  createIdentityAssigner,
  identitiesNamedInError,
  MAX_IDENTITIES_PER_PATCH,
  RETRIABLE_IDENTITY_ERRORS,
  DEFAULT_ARM_REQUEST_TIMEOUT_MS,
  ARM_REQUEST_TIMEOUT_CODE,
  type IdentityAssigner,
  type IdentityAssignerOptions,
  type IdentityChange,
  type ApplyOptions,
  type AssignResult,
  type RefusedIdentity,
  type TargetIdentities,
  type PresentIdentity,
} from './identity-assigner.js';
export {
  CloudProviderError,
  type CloudProviderErrorOptions,
  type CloudProviderOperation,
} from './cloud-provider-error.js';
// --- token sources (NMI) ---
export { resourceToScope, type TokenSource, type GetTokensOptions } from './token-source.js';
export {
  createImdsTokenSource,
  parseImdsToken,
  type ImdsTokenSourceOptions,
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the old name, kept for its callers
  type ImdsIdentitySelector,
} from './token-source-imds.js';
export {
  createClientSecretTokenSource,
  createClientCertificateTokenSource,
  pkcs12ToPem,
  DEFAULT_AUTHORITY_HOST,
  type ServicePrincipalTokenSourceOptions,
  type ClientSecretTokenSourceOptions,
  type ClientCertificateTokenSourceOptions,
} from './token-source-service-principal.js';
export {
  createTokenSourceForIdentity,
  identityTokenKey,
  type SecretReader,
  type TokenSourceForIdentityOptions,
} from './token-source-for-identity.js';
export {
  createFederatedTokenSource,
  type FederatedTokenSourceOptions,
} from './token-source-federated.js';
// --- end token sources ---
