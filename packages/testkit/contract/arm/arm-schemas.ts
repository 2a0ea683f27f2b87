import { anything, bool, closedObject, int, roStr, str, stringMap } from '../schema.js';
import type { ObjectSchema, Schema } from '../schema.js';

/**
 * Schemas of the ARM operations the emulator serves, written by hand from the published definitions:
 *
 * - Compute: Azure/azure-rest-api-specs
 *   `specification/compute/resource-manager/Microsoft.Compute/Compute/stable/2026-04-01/ComputeRP.json`
 *   (the api-version `@azure/arm-compute` 25 sends), definitions `VirtualMachineScaleSet`,
 *   `VirtualMachineScaleSetProperties`, `VirtualMachineScaleSetVMProfile`,
 *   `VirtualMachineScaleSetOSProfile`, `VirtualMachineScaleSetIdentity`, `VirtualMachineScaleSetVM`,
 *   `VirtualMachineScaleSetVMProperties`, `VirtualMachineScaleSetListResult`,
 *   `VirtualMachineScaleSetVMListResult`, `VirtualMachineScaleSetUpdate(Properties)`, `VirtualMachine*`;
 *   the common `TrackedResource` (common-types resource-management v3) and `CloudError`/`ApiError`
 *   (Compute common-types v1).
 * - Managed identities: `specification/msi/resource-manager/Microsoft.ManagedIdentity/ManagedIdentity/stable/2024-11-30/ManagedIdentity.json`
 *   (what `@azure/arm-msi` 2.2 sends): `Identity`, `UserAssignedIdentityProperties`,
 *   `FederatedIdentityCredential(Properties)`, `FederatedIdentityCredentialsListResult`, `CloudError`.
 * - The operation status resource of `Azure-AsyncOperation`: Azure/azure-resource-manager-rpc,
 *   "Asynchronous API Reference", "Azure-AsyncOperation Resource format".
 *
 * `closed` objects list every property of their definition (anything else the emulator answers is a
 * violation); open objects list the properties the emulator answers, with the definition's types,
 * and leave the rest of a large definition unchecked.
 */

const armId: Schema = { type: 'string', format: 'arm-id', readOnly: true };

/** `TrackedResource` (v3/v4 common types): id, name, type, systemData read-only; location, tags. */
const trackedResource = {
  id: armId,
  name: roStr,
  type: roStr,
  systemData: { ...anything, readOnly: true },
  tags: stringMap,
  location: str,
} as const;

/** `ProxyResource`: id, name, type, systemData. */
const proxyResource = {
  id: armId,
  name: roStr,
  type: roStr,
  systemData: { ...anything, readOnly: true },
} as const;

/** `Common.ResourceIdentityType`. */
const identityType: Schema = {
  type: 'string',
  enum: ['SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned', 'None'],
};

/** `Common.UserAssignedIdentitiesValue`; `null` in a PATCH removes the entry (Compute's documented use). */
const userAssignedIdentityValue: Schema = {
  ...closedObject({
    principalId: roStr,
    clientId: roStr,
  }),
  nullable: true,
};

/** `VirtualMachineScaleSetIdentity` and `VirtualMachineIdentity` (the same properties). */
export const computeIdentity: ObjectSchema = closedObject({
  principalId: roStr,
  tenantId: roStr,
  type: identityType,
  userAssignedIdentities: { type: 'object', values: userAssignedIdentityValue },
});

/** `Sku`. */
const sku = closedObject({ name: str, tier: str, capacity: int });

const scaleSetOsProfile = closedObject({
  computerNamePrefix: str,
  adminUsername: str,
  adminPassword: str,
  customData: str,
  windowsConfiguration: anything,
  linuxConfiguration: anything,
  secrets: anything,
  allowExtensionOperations: bool,
  requireGuestProvisionSignal: bool,
});

const scaleSetVmProfile = closedObject({
  osProfile: scaleSetOsProfile,
  storageProfile: anything,
  networkProfile: anything,
  securityProfile: anything,
  diagnosticsProfile: anything,
  extensionProfile: anything,
  licenseType: str,
  priority: str,
  evictionPolicy: str,
  billingProfile: anything,
  scheduledEventsProfile: anything,
  userData: str,
  capacityReservation: anything,
  interconnectBlockProfile: anything,
  applicationProfile: anything,
  hardwareProfile: anything,
  serviceArtifactReference: anything,
  securityPostureReference: anything,
  timeCreated: { type: 'string', format: 'date-time', readOnly: true },
});

/** `UpgradePolicy`: the mode is the property the emulator answers. */
const upgradePolicy: ObjectSchema = {
  type: 'object',
  properties: { mode: { type: 'string', enum: ['Automatic', 'Manual', 'Rolling'] } },
};

const scaleSetProperties = closedObject({
  upgradePolicy,
  scheduledEventsPolicy: anything,
  automaticRepairsPolicy: anything,
  virtualMachineProfile: scaleSetVmProfile,
  provisioningState: roStr,
  overprovision: bool,
  doNotRunExtensionsOnOverprovisionedVMs: bool,
  uniqueId: roStr,
  singlePlacementGroup: bool,
  zoneBalance: bool,
  platformFaultDomainCount: int,
  proximityPlacementGroup: anything,
  hostGroup: anything,
  additionalCapabilities: anything,
  scaleInPolicy: anything,
  orchestrationMode: { type: 'string', enum: ['Uniform', 'Flexible'] },
  spotRestorePolicy: anything,
  priorityMixPolicy: anything,
  timeCreated: { type: 'string', format: 'date-time', readOnly: true },
  constrainedMaximumCapacity: bool,
  resiliencyPolicy: anything,
  zonalPlatformFaultDomainAlignMode: str,
  skuProfile: anything,
  highSpeedInterconnectPlacement: anything,
  lifecycleHooksProfile: anything,
  externalHealthPolicy: anything,
});

/** `VirtualMachineScaleSet`. */
export const virtualMachineScaleSet: ObjectSchema = closedObject(
  {
    ...trackedResource,
    sku,
    plan: anything,
    properties: scaleSetProperties,
    identity: computeIdentity,
    zones: { type: 'array', items: str },
    extendedLocation: anything,
    etag: roStr,
    placement: anything,
  },
  ['location'],
);

/** `VirtualMachineScaleSetUpdate`: what a PATCH may carry (tags, sku, plan, properties, identity, zones). */
export const virtualMachineScaleSetUpdate: ObjectSchema = closedObject({
  tags: stringMap,
  sku,
  plan: anything,
  properties: anything,
  identity: computeIdentity,
  zones: { type: 'array', items: str },
});

/** `HardwareProfile` (open: vmSize is what the emulator answers). */
const hardwareProfile: ObjectSchema = { type: 'object', properties: { vmSize: str } };

/** `OSProfile` (open: computerName is what the emulator answers). */
const osProfile: ObjectSchema = { type: 'object', properties: { computerName: str } };

/** `VirtualMachineScaleSetVMProperties` (open). */
const scaleSetVmProperties: ObjectSchema = {
  type: 'object',
  properties: {
    latestModelApplied: { type: 'boolean', readOnly: true },
    vmId: roStr,
    hardwareProfile,
    osProfile,
    provisioningState: roStr,
  },
};

/** `VirtualMachineScaleSetVM`. */
export const virtualMachineScaleSetVm: ObjectSchema = closedObject(
  {
    ...trackedResource,
    properties: scaleSetVmProperties,
    instanceId: roStr,
    sku: { ...sku, readOnly: true },
    plan: anything,
    resources: { ...anything, readOnly: true },
    zones: { type: 'array', items: str, readOnly: true },
    identity: computeIdentity,
    etag: roStr,
  },
  ['location'],
);

/** `VirtualMachineProperties` (open). */
const virtualMachineProperties: ObjectSchema = {
  type: 'object',
  properties: { vmId: roStr, hardwareProfile, osProfile, provisioningState: roStr },
};

/** `VirtualMachine` (open beyond the resource envelope and the properties the emulator answers). */
export const virtualMachine: ObjectSchema = {
  type: 'object',
  required: ['location'],
  properties: {
    ...trackedResource,
    properties: virtualMachineProperties,
    identity: computeIdentity,
  },
};

/** `VirtualMachineUpdate`: a PATCH body (open). */
export const virtualMachineUpdate: ObjectSchema = {
  type: 'object',
  properties: { tags: stringMap, identity: computeIdentity, properties: anything },
};

/** A list result: `value` required, `nextLink`. */
export const listOf = (item: Schema): ObjectSchema =>
  closedObject(
    { value: { type: 'array', items: item }, nextLink: { type: 'string', format: 'uri' } },
    ['value'],
  );

/** Compute's `CloudError` with its `ApiError`. */
export const computeCloudError: ObjectSchema = closedObject(
  {
    error: closedObject({
      details: anything,
      innererror: anything,
      code: str,
      target: str,
      message: str,
    }),
  },
  ['error'],
);

/** Managed identity's `CloudError` with its `CloudErrorBody`. */
export const managedIdentityCloudError: ObjectSchema = closedObject(
  {
    error: closedObject({ code: str, message: str, target: str, details: anything }),
  },
  ['error'],
);

/** `Identity` with `UserAssignedIdentityProperties` (2024-11-30). */
export const userAssignedIdentity: ObjectSchema = closedObject(
  {
    ...trackedResource,
    properties: {
      ...closedObject({
        tenantId: { type: 'string', format: 'uuid', readOnly: true },
        principalId: { type: 'string', format: 'uuid', readOnly: true },
        clientId: { type: 'string', format: 'uuid', readOnly: true },
        isolationScope: { type: 'string', enum: ['None', 'Regional'] },
      }),
      readOnly: true,
    },
  },
  ['location'],
);

/** `FederatedIdentityCredential` with its required properties. */
export const federatedIdentityCredential: ObjectSchema = closedObject({
  ...proxyResource,
  properties: closedObject(
    {
      issuer: { type: 'string', format: 'uri' },
      subject: str,
      audiences: { type: 'array', items: str },
    },
    ['issuer', 'subject', 'audiences'],
  ),
});

/** `FederatedIdentityCredentialsListResult` (value not required there). */
export const federatedIdentityCredentialList: ObjectSchema = closedObject({
  value: { type: 'array', items: federatedIdentityCredential },
  nextLink: str,
});

/** The `Azure-AsyncOperation` status resource of the resource-provider contract. */
export const operationStatus: ObjectSchema = closedObject(
  {
    id: str,
    name: str,
    status: str,
    startTime: { type: 'string', format: 'date-time' },
    endTime: { type: 'string', format: 'date-time' },
    percentComplete: { type: 'number', minimum: 0 },
    properties: anything,
    error: closedObject(
      { code: str, message: str, target: str, details: anything, innererror: anything },
      ['code', 'message'],
    ),
  },
  ['status'],
);
