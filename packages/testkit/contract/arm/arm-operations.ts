import type { ObjectSchema, Schema } from '../schema.js';
import {
  computeCloudError,
  federatedIdentityCredential,
  federatedIdentityCredentialList,
  listOf,
  managedIdentityCloudError,
  operationStatus,
  userAssignedIdentity,
  virtualMachine,
  virtualMachineScaleSet,
  virtualMachineScaleSetUpdate,
  virtualMachineScaleSetVm,
  virtualMachineUpdate,
} from './arm-schemas.js';

/** One operation of the published contract that the emulator implements. */
export interface ArmOperationContract {
  /** The specification's `operationId` (or the RPC's name for the status resource). */
  readonly operationId: string;
  readonly method: string;
  /** Matches the request path (case-insensitive, as ARM paths are). */
  readonly path: RegExp;
  /** Schema of the request body, for PUT and PATCH. */
  readonly request?: Schema;
  /** Success statuses of the definition, with their body schema (`null`: no body). */
  readonly responses: Readonly<Record<number, Schema | null>>;
  /** The `default` response: the error body. */
  readonly error: ObjectSchema;
  /** A long-running operation: a 200/201 answer with a non-terminal state names where to poll. */
  readonly longRunning?: boolean;
}

const SUB = String.raw`/subscriptions/[^/]+`;
const RG = String.raw`${SUB}/resourceGroups/[^/]+`;
const COMPUTE = String.raw`/providers/Microsoft\.Compute`;
const MSI = String.raw`${RG}/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+`;
const path = (pattern: string): RegExp => new RegExp(`^${pattern}$`, 'i');

/** Every ARM operation the emulator serves, with where its contract comes from. */
export const ARM_OPERATIONS: readonly ArmOperationContract[] = [
  {
    operationId: 'VirtualMachineScaleSets_Get',
    method: 'GET',
    path: path(`${RG}${COMPUTE}/virtualMachineScaleSets/[^/]+`),
    responses: { 200: virtualMachineScaleSet },
    error: computeCloudError,
  },
  {
    operationId: 'VirtualMachineScaleSets_Update',
    method: 'PATCH',
    path: path(`${RG}${COMPUTE}/virtualMachineScaleSets/[^/]+`),
    request: virtualMachineScaleSetUpdate,
    responses: { 200: virtualMachineScaleSet, 202: null },
    error: computeCloudError,
    longRunning: true,
  },
  {
    operationId: 'VirtualMachineScaleSets_List',
    method: 'GET',
    path: path(`${RG}${COMPUTE}/virtualMachineScaleSets`),
    responses: { 200: listOf(virtualMachineScaleSet) },
    error: computeCloudError,
  },
  {
    operationId: 'VirtualMachineScaleSets_ListAll',
    method: 'GET',
    path: path(`${SUB}${COMPUTE}/virtualMachineScaleSets`),
    responses: { 200: listOf(virtualMachineScaleSet) },
    error: computeCloudError,
  },
  {
    operationId: 'VirtualMachineScaleSetVMs_List',
    method: 'GET',
    path: path(`${RG}${COMPUTE}/virtualMachineScaleSets/[^/]+/virtualMachines`),
    responses: { 200: listOf(virtualMachineScaleSetVm) },
    error: computeCloudError,
  },
  {
    operationId: 'VirtualMachineScaleSetVMs_Get',
    method: 'GET',
    path: path(`${RG}${COMPUTE}/virtualMachineScaleSets/[^/]+/virtualMachines/[^/]+`),
    responses: { 200: virtualMachineScaleSetVm },
    error: computeCloudError,
  },
  {
    operationId: 'VirtualMachines_Get',
    method: 'GET',
    path: path(`${RG}${COMPUTE}/virtualMachines/[^/]+`),
    responses: { 200: virtualMachine },
    error: computeCloudError,
  },
  {
    operationId: 'VirtualMachines_Update',
    method: 'PATCH',
    path: path(`${RG}${COMPUTE}/virtualMachines/[^/]+`),
    request: virtualMachineUpdate,
    responses: { 200: virtualMachine, 202: null },
    error: computeCloudError,
    longRunning: true,
  },
  {
    operationId: 'VirtualMachines_List',
    method: 'GET',
    path: path(`${RG}${COMPUTE}/virtualMachines`),
    responses: { 200: listOf(virtualMachine) },
    error: computeCloudError,
  },
  {
    operationId: 'VirtualMachines_ListAll',
    method: 'GET',
    path: path(`${SUB}${COMPUTE}/virtualMachines`),
    responses: { 200: listOf(virtualMachine) },
    error: computeCloudError,
  },
  {
    operationId: 'Azure-AsyncOperation status (RPC)',
    method: 'GET',
    path: path(`${SUB}${COMPUTE}/locations/[^/]+/operations/[^/]+`),
    responses: { 200: operationStatus },
    error: computeCloudError,
  },
  {
    operationId: 'UserAssignedIdentities_Get',
    method: 'GET',
    path: path(MSI),
    responses: { 200: userAssignedIdentity },
    error: managedIdentityCloudError,
  },
  {
    operationId: 'UserAssignedIdentities_CreateOrUpdate',
    method: 'PUT',
    path: path(MSI),
    request: userAssignedIdentity,
    responses: { 200: userAssignedIdentity, 201: userAssignedIdentity },
    error: managedIdentityCloudError,
  },
  {
    operationId: 'UserAssignedIdentities_Delete',
    method: 'DELETE',
    path: path(MSI),
    responses: { 200: null, 204: null },
    error: managedIdentityCloudError,
  },
  {
    operationId: 'FederatedIdentityCredentials_List',
    method: 'GET',
    path: path(`${MSI}/federatedIdentityCredentials`),
    responses: { 200: federatedIdentityCredentialList },
    error: managedIdentityCloudError,
  },
  {
    operationId: 'FederatedIdentityCredentials_CreateOrUpdate',
    method: 'PUT',
    path: path(`${MSI}/federatedIdentityCredentials/[^/]+`),
    request: federatedIdentityCredential,
    responses: { 200: federatedIdentityCredential, 201: federatedIdentityCredential },
    error: managedIdentityCloudError,
  },
  {
    operationId: 'FederatedIdentityCredentials_Get',
    method: 'GET',
    path: path(`${MSI}/federatedIdentityCredentials/[^/]+`),
    responses: { 200: federatedIdentityCredential },
    error: managedIdentityCloudError,
  },
  {
    operationId: 'FederatedIdentityCredentials_Delete',
    method: 'DELETE',
    path: path(`${MSI}/federatedIdentityCredentials/[^/]+`),
    responses: { 200: null, 204: null },
    error: managedIdentityCloudError,
  },
];

/** The operation a request is for, if the emulator's contract has it. */
export function findArmOperation(
  method: string,
  pathname: string,
): ArmOperationContract | undefined {
  return ARM_OPERATIONS.find(
    (operation) => operation.method === method.toUpperCase() && operation.path.test(pathname),
  );
}
