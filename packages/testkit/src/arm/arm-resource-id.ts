/** The resource provider namespace of virtual machines and scale sets. */
export const COMPUTE = 'Microsoft.Compute';

/** The resource provider namespace of user-assigned identities. */
export const MANAGED_IDENTITY = 'Microsoft.ManagedIdentity';

/** Which kind of compute resource: a virtual machine or a virtual machine scale set. */
export type ComputeKind = 'vm' | 'vmss';

/** The ARM resource type segment of a compute kind. */
export const computeTypeOf = (kind: ComputeKind): string =>
  kind === 'vm' ? 'virtualMachines' : 'virtualMachineScaleSets';

/** The resource id of a VM or scale set. */
export const computeResourceId = (
  subscriptionId: string,
  resourceGroup: string,
  kind: ComputeKind,
  name: string,
): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${COMPUTE}/${computeTypeOf(kind)}/${name}`;

/** The resource id of a user-assigned identity. */
export const userAssignedIdentityId = (
  subscriptionId: string,
  resourceGroup: string,
  name: string,
): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${MANAGED_IDENTITY}/userAssignedIdentities/${name}`;

/** The computer name AKS gives a VMSS instance: prefix plus the instance id in base 36, zero-padded to 6. */
export function computerNameOf(scaleSetName: string, instanceId: number): string {
  return `${scaleSetName}${instanceId.toString(36).padStart(6, '0')}`;
}

/** Throws a `TypeError` unless `value` is a name ARM accepts for a resource group or resource. */
export function assertResourceName(what: string, value: string): void {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._()-]{0,88}$/.test(value)) {
    throw new TypeError(
      `${what} must be a valid Azure resource name, got ${JSON.stringify(value)}`,
    );
  }
}

/** The resource group segment of a resource id (`''` if it has none). */
export const resourceGroupOf = (resourceId: string): string => resourceId.split('/')[4] ?? '';

/** The last segment of a resource id: the resource's name. */
export const lastSegmentOf = (resourceId: string): string => resourceId.split('/').pop() ?? '';
