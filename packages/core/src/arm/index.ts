/**
 * The ARM identity assigner on `@azure/arm-compute`: reads and patches the user-assigned identities
 * of virtual machine scale sets and virtual machines. MIC and the CLI use it; token sources, which
 * NMI uses, live in `@pod-identity/core/azure` and load without the ARM SDK.
 *
 * @packageDocumentation
 */
export {
  createIdentityAssigner,
  preloadArmCompute,
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
