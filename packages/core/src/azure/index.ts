/**
 * Azure token sources: the node's IMDS over plain http, and service principals (secret or
 * certificate) on `@azure/identity`, which is loaded only when a service principal asks for a token.
 * The ARM identity assigner is `@pod-identity/core/arm`.
 *
 * @packageDocumentation
 */
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
