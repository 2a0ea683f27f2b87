/**
 * The pure primitives of pod-identity: no I/O, no heavy SDK. Adapters live in the
 * `@pod-identity/core/kubernetes` and `@pod-identity/core/azure` entries.
 *
 * @packageDocumentation
 */

// --- errors ---
export {
  PodIdentityError,
  type PodIdentityErrorCode,
  type PodIdentityErrorOptions,
} from './errors/pod-identity-error.js';
export { ValidationError } from './errors/validation-error.js';
export { TerminalError } from './errors/terminal-error.js';

// --- CRDs: constants and types ---
export {
  API_GROUP,
  API_VERSION,
  GROUP_VERSION,
  CrdKinds,
  type CrdKind,
  IdentityType,
  AssignedIdentityState,
  POD_LABEL_KEY,
  BEHAVIOR_ANNOTATION_KEY,
  BEHAVIOR_NAMESPACED,
  ASSIGNED_IDENTITY_FINALIZER,
  ASSIGNED_IDENTITY_NODE_LABEL,
  DEFAULT_ASSIGNED_IDENTITY_NAMESPACE,
  EVENT_SOURCE_COMPONENT,
  assignedIdentityName,
} from './crd/constants.js';
export type {
  ObjectMeta,
  SecretReference,
  AzureIdentity,
  AzureIdentitySpec,
  AzureIdentityStatus,
  AzureIdentityBinding,
  AzureIdentityBindingSpec,
  AzureIdentityBindingStatus,
  AzureAssignedIdentity,
  AzureAssignedIdentitySpec,
  AzureAssignedIdentityStatus,
  AzurePodIdentityException,
  AzurePodIdentityExceptionSpec,
  AzurePodIdentityExceptionStatus,
  PodIdentityObject,
} from './crd/types.js';

// --- CRDs: parsers, validation, manifests (foundation) ---

// --- MIC primitives: planners, work queue ---
export { systemClock, type Clock } from './work-queue/clock.js';

// --- NMI primitives: IMDS protocol, authorization, token cache ---
