/**
 * The pure primitives of pod-identity: no I/O, no heavy SDK. Adapters live in the
 * `@pod-identity/core/kubernetes` and `@pod-identity/core/azure` entries.
 *
 * @packageDocumentation
 */

// --- errors ---
export { MINIMUM_NODE_VERSION, unsupportedNodeMessage } from './node-version.js';
export {
  PodIdentityError,
  type PodIdentityErrorCode,
  type PodIdentityErrorOptions,
} from './errors/pod-identity-error.js';
export { ValidationError } from './errors/validation-error.js';
export { TerminalError } from './errors/terminal-error.js';

// --- logging ---
export { silentLogger, type Logger, type LogFields, type LogLevel } from './logging/logger.js';

// --- the daemons' Go-compatible command lines ---
export { normalizeGoFlags } from './flags/normalize-go-flags.js';
export { parseGoDuration } from './flags/parse-go-duration.js';
export { parseGoBool } from './flags/parse-go-bool.js';
export { parseIntegerFlag } from './flags/parse-integer-flag.js';

// --- abort and retry ---
export { abortReason, type AbortSignalLike } from './abort/abort-reason.js';
export { raceAbort } from './abort/race-abort.js';
export { parseRetryAfter } from './retry/parse-retry-after.js';

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
  FEDERATED_ANNOTATION_KEY,
  FEDERATED_ANNOTATION_VALUE,
  ASSIGNED_IDENTITY_FINALIZER,
  ASSIGNED_IDENTITY_NODE_LABEL,
  ASSIGNED_IDENTITY_POD_UID_ANNOTATION,
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

// --- CRDs: parsers, validation, manifests ---
export type { ParseResult } from './crd/parse-result.js';
export { parseAzureIdentity, safeParseAzureIdentity } from './crd/parse-azure-identity.js';
export {
  parseAzureIdentityBinding,
  safeParseAzureIdentityBinding,
} from './crd/parse-azure-identity-binding.js';
export {
  parseAzureAssignedIdentity,
  safeParseAzureAssignedIdentity,
} from './crd/parse-azure-assigned-identity.js';
export {
  parseAzurePodIdentityException,
  safeParseAzurePodIdentityException,
} from './crd/parse-azure-pod-identity-exception.js';
export {
  parsePodIdentityObject,
  safeParsePodIdentityObject,
} from './crd/parse-pod-identity-object.js';
export { serializePodIdentityObject } from './crd/serialize-pod-identity-object.js';
export { upgradeLegacyFields, type LegacyFieldsUpgrade } from './crd/upgrade-legacy-fields.js';
export { podIdentityCrds } from './crd/pod-identity-crds.js';
export type {
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
  CrdJsonSchema,
  CrdPrinterColumn,
} from './crd/custom-resource-definition.js';
export {
  parseUserAssignedIdentityId,
  type UserAssignedIdentityId,
} from './validation/parse-user-assigned-identity-id.js';
export { isSameResourceId } from './validation/is-same-resource-id.js';
export {
  parseProviderId,
  type ProviderId,
  type ScaleSetInstanceProviderId,
  type VirtualMachineProviderId,
  type NoProviderId,
} from './validation/parse-provider-id.js';
export {
  isRfc1123Subdomain,
  isRfc1123Label,
  validatePodIdentityName,
  RFC1123_SUBDOMAIN_MAX_LENGTH,
  RFC1123_LABEL_MAX_LENGTH,
} from './validation/is-rfc1123-subdomain.js';
export { isLabelKey } from './validation/is-label-key.js';
export { isLabelValue, LABEL_VALUE_MAX_LENGTH } from './validation/is-label-value.js';
export { isAzureClientId } from './validation/is-azure-client-id.js';
export { redactClientId } from './validation/redact-client-id.js';

// --- MIC primitives: planners, work queue ---
export { systemClock, type Clock } from './work-queue/clock.js';
export { createManualClock, type ManualClock } from './work-queue/manual-clock.js';
export { exponentialBackoff, type Backoff, type BackoffOptions } from './work-queue/backoff.js';
export {
  createWorkQueue,
  type WorkQueue,
  type WorkQueueOptions,
  type Reconciler,
  type ReconcileResult,
  type ReconcileFailure,
} from './work-queue/work-queue.js';
export {
  planAssignments,
  createAssignmentPlanner,
  toAssignedIdentity,
  isNamespacedIdentity,
  type PlannerPod,
  type AssignmentPlanner,
  type AssignmentSnapshot,
  type PlanAssignmentsOptions,
  type DesiredAssignment,
  type AssignmentPlan,
  type AssignmentUpdate,
  type AssignmentOverwrite,
  type PlanSkip,
  type PlanSkipReason,
} from './planner/plan-assignments.js';
export {
  nodeTarget,
  makeTarget,
  type IdentityTarget,
  type NodeTargetProblem,
  type NodeTargetResult,
} from './planner/identity-target.js';
export {
  planIdentityDeltas,
  parseTargetKey,
  type IdentityDeltaInput,
  type IdentityDeltaPlan,
  type TargetDelta,
  type IdentityRef,
  type OwnedIdentity,
  type KeptIdentity,
  type KeptReason,
  type UnplacedRecords,
} from './planner/plan-identity-deltas.js';
export {
  planGoMicAdoption,
  type GoMicAdoptionInput,
  type TargetAdoption,
} from './planner/plan-go-mic-adoption.js';
export {
  planChangedPods,
  type ChangedPodsInput,
  type ChangedPodsPlan,
} from './planner/plan-changed-pods.js';

// --- NMI primitives: IMDS protocol, authorization, token cache ---
export {
  resolveImdsRoute,
  MAX_IMDS_REQUEST_TARGET_LENGTH,
  type ImdsRoute,
} from './imds/resolve-imds-route.js';
export { canonicalImdsPath, type CanonicalImdsPath } from './imds/canonical-imds-path.js';
export {
  resourceMetricLabel,
  WELL_KNOWN_RESOURCES,
  OTHER_RESOURCE_LABEL,
} from './imds/resource-metric-label.js';
export {
  malformedRequestError,
  type MalformedRequestReason,
} from './imds/malformed-request-error.js';
export {
  parseTokenRequest,
  hasMetadataHeader,
  metadataHeaderRequiredError,
  type TokenRequest,
  type TokenHttpRequest,
  type TokenRequestParseResult,
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the old name, kept for its callers
  type RequestedIdentity,
} from './imds/token-request.js';
export type { IdentitySelector } from './imds/identity-selector.js';
export {
  ImdsProtocolError,
  type ImdsProtocolErrorOptions,
  type ImdsErrorBodyFormat,
} from './imds/imds-protocol-error.js';
export {
  formatImdsError,
  formatTextError,
  IMDS_JSON_CONTENT_TYPE,
  type ImdsResponse,
} from './imds/imds-response.js';
export {
  formatTokenResponse,
  formatHostTokenResponse,
  toImdsTokenResponseBody,
  type ImdsToken,
  type ImdsTokenResponseBody,
} from './imds/token-response.js';
export {
  authorize,
  findException,
  matchedExceptionLabels,
  type ExceptionMatch,
  identityMatches,
  type OperationMode,
  type AuthorizationPod,
  type AuthorizationView,
  type AuthorizationDecision,
  type DenyReason,
} from './broker/authorize.js';
export { isRecordForPod, type RecordedPod } from './broker/is-record-for-pod.js';
export { PodIndex, isLivePod, type PodRecord, type PodLookupResult } from './broker/pod-index.js';
export { normalizeIpAddress } from './broker/normalize-ip-address.js';
export {
  TokenCache,
  tokenCacheKey,
  type TokenCacheOptions,
  type TokenCacheGetOptions,
  type TokenFetcher,
} from './broker/token-cache.js';
export { readJwtClaims, type AcquiredToken } from './broker/acquired-token.js';
export {
  TokenAcquisitionError,
  type TokenAcquisitionFailure,
  type TokenAcquisitionErrorOptions,
} from './broker/token-acquisition-error.js';
// --- federated mode (workload identity) ---
export {
  decideFederated,
  isFederatedPod,
  WORKLOAD_IDENTITY_USE_LABEL,
  WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION,
  WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION,
  TOKEN_EXCHANGE_AUDIENCE,
  type FederatedPod,
  type FederatedServiceAccount,
  type FederatedIdentity,
  type FederatedDecision,
} from './federated/decide-federated.js';
export { isFederatedIdentity, federatedIdentityOf } from './federated/federated-azure-identity.js';
// --- end federated mode ---
