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
  parseRetryAfter,
  MAX_IDENTITIES_PER_PATCH,
  RETRIABLE_IDENTITY_ERRORS,
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
