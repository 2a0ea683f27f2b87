import { randomUUID } from 'node:crypto';
import { ArmOperation, IdentityDenial } from './arm-faults.js';
import type { ArmFaultState } from './arm-faults.js';
import { ArmHttpError, applyIdentityPatch, parseIdentityPatch } from './arm-identity.js';
import type { IdentityPatch, ResourceIdentityState, UserIdentityResolver } from './arm-identity.js';
import type { ArmResult } from './arm-http.js';
import { invalidRequestContent } from './arm-http.js';
import { COMPUTE, computeTypeOf } from './arm-resource-id.js';
import type { ArmRequestContext } from './arm-route.js';
import { computeJson, etagOf } from './compute-store.js';
import type { ComputeResource } from './compute-store.js';
import type { LongRunningOperations } from './long-running-operations.js';

/** What an update of a VM or scale set depends on. @internal */
export interface ComputeUpdateDependencies {
  readonly tenantId: string;
  readonly faults: ArmFaultState;
  readonly operations: LongRunningOperations;
  /** The client and principal ids of an identity to add, or `undefined` if ARM would not find it. */
  readonly resolveIdentity: UserIdentityResolver;
  readonly maxIdentitiesPerRequest: number;
}

/** The number of entries of `identity.userAssignedIdentities` in a PATCH body (for the request log). */
export function countPatchedIdentities(body: unknown): number {
  const map = (body as { identity?: { userAssignedIdentities?: Record<string, unknown> } } | null)
    ?.identity?.userAssignedIdentities;
  return map && typeof map === 'object' ? Object.keys(map).length : 0;
}

/**
 * PATCH of a VM or scale set, as Compute answers it: the identity delta applied (or refused as ARM
 * refuses it), then a long-running operation: 200 with the resource `Updating` and an
 * `Azure-AsyncOperation` URL to poll.
 */
export function updateComputeResource(
  resource: ComputeResource,
  context: ArmRequestContext,
  dependencies: ComputeUpdateDependencies,
): ArmResult {
  checkPreconditions(resource, context);
  const body = context.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalidRequestContent();
  const patch = parseIdentityPatch((body as Record<string, unknown>).identity);
  if (patch) checkIdentityDenials(resource, patch, dependencies);
  const operationKind =
    resource.kind === 'vm' ? ArmOperation.VmUpdate : ArmOperation.ScaleSetUpdate;
  const failure = dependencies.faults.takeOperationFailure(operationKind, resource.id);
  if (patch) {
    // Validate on a copy; a failing operation leaves the identities as they were.
    const draft: ResourceIdentityState = {
      system: resource.identity.system,
      user: new Map(resource.identity.user),
    };
    const { missing } = applyIdentityPatch(draft, patch, dependencies.resolveIdentity);
    if (missing.length > 0)
      throw identityDenialError(resource, missing, IdentityDenial.FailedIdentityOperation);
    if (!failure) {
      resource.identity.system = draft.system;
      resource.identity.user.clear();
      for (const [key, value] of draft.user) resource.identity.user.set(key, value);
    }
  }
  resource.version += 1;
  const statusUrl = dependencies.operations.start(
    resource,
    failure,
    context.baseUrl,
    context.apiVersion,
  );
  return {
    status: 200,
    body: computeJson(resource, dependencies.tenantId),
    headers: {
      'azure-asyncoperation': statusUrl,
      ...(resource.kind === 'vmss' ? { etag: etagOf(resource) } : {}),
    },
  };
}

function checkPreconditions(resource: ComputeResource, context: ArmRequestContext): void {
  if (resource.provisioningState === 'Deleting') {
    throw new ArmHttpError(
      409,
      'OperationNotAllowed',
      `The operation is not allowed since resource '${resource.name}' is being deleted.`,
    );
  }
  const ifMatch = context.request.headers['if-match'];
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(resource)) {
    throw new ArmHttpError(
      412,
      'PreconditionFailed',
      `The condition specified using HTTP conditional header(s) is not met (If-Match ${ifMatch}).`,
    );
  }
}

function checkIdentityDenials(
  resource: ComputeResource,
  patch: IdentityPatch,
  dependencies: ComputeUpdateDependencies,
): void {
  const count = patch.add.length + patch.remove.length;
  if (count > dependencies.maxIdentitiesPerRequest) {
    throw new ArmHttpError(
      400,
      'BadRequest',
      `The request has ${count} user assigned identities; at most ${dependencies.maxIdentitiesPerRequest} are allowed in one request.`,
    );
  }
  const denied = dependencies.faults.denied;
  const linked = patch.add.filter(
    (id) => denied.get(id.toLowerCase()) === IdentityDenial.LinkedAuthorizationFailed,
  );
  if (linked.length > 0)
    throw identityDenialError(resource, linked, IdentityDenial.LinkedAuthorizationFailed);
  const failed = patch.add.filter(
    (id) => denied.get(id.toLowerCase()) === IdentityDenial.FailedIdentityOperation,
  );
  if (failed.length > 0)
    throw identityDenialError(resource, failed, IdentityDenial.FailedIdentityOperation);
}

/** ARM's refusal of identities, naming them single-quoted and comma-separated. */
function identityDenialError(
  resource: ComputeResource,
  ids: readonly string[],
  kind: IdentityDenial,
): ArmHttpError {
  const quoted = ids.join(',');
  if (kind === IdentityDenial.LinkedAuthorizationFailed) {
    return new ArmHttpError(
      403,
      'LinkedAuthorizationFailed',
      `The client '${randomUUID()}' with object id '${randomUUID()}' has permission to perform action '${COMPUTE}/${computeTypeOf(resource.kind)}/write' on scope '${resource.id}'; however, it does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${quoted}' or the linked scope(s) are invalid.`,
    );
  }
  return new ArmHttpError(
    400,
    'FailedIdentityOperation',
    `Identity operation for resource '${resource.id}' failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: 'The identities '${quoted}' were not found.''.`,
  );
}
