import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CertificateAuthority } from '../tls/certificate-authority.js';
import { getSharedCertificateAuthority } from '../tls/certificate-authority.js';
import { startLoopbackServer } from '../tls/start-loopback-server.js';
import { ArmFaultState, ArmOperation, IdentityDenial } from './arm-faults.js';
import type { ArmFaults } from './arm-faults.js';
import {
  ArmHttpError,
  applyIdentityPatch,
  identityToJson,
  identityTypeOf,
  newSystemIdentity,
  parseIdentityPatch,
} from './arm-identity.js';
import type {
  ArmIdentityType,
  AssignedUserIdentity,
  ResourceIdentityState,
  SystemIdentity,
} from './arm-identity.js';

/** Options of {@link startArmEmulator}. */
export interface StartArmEmulatorOptions {
  /** CA that issues the https certificate; default the per-process shared one. */
  readonly certificateAuthority?: CertificateAuthority;
  /** The tenant of the identities it creates; default a random GUID. */
  readonly tenantId?: string;
  /** Loopback address to listen on; default `127.0.0.1`. */
  readonly host?: string;
  /**
   * Accepts or refuses a bearer token (401 `InvalidAuthenticationToken` when false). Default: any
   * non-empty bearer token is accepted; a missing one is always refused.
   */
  readonly verifyToken?: (token: string) => boolean;
  /** Most user-assigned identities one PATCH may mention; default 150 (the limit MIC batches by). */
  readonly maxIdentitiesPerRequest?: number;
  /** Answer 409 to a PATCH of a VM or scale set while another update of it is in progress; default true. */
  readonly rejectConcurrentUpdates?: boolean;
  /** How long a PATCH's long-running operation stays `InProgress`; default 0 (done at the first poll). */
  readonly operationDurationMs?: number;
  /**
   * Refuse a PATCH adding a user-assigned identity that does not exist in the emulator with
   * `FailedIdentityOperation`, as ARM does; default true.
   */
  readonly requireExistingIdentities?: boolean;
}

/** A scale set to create with {@link ArmEmulator.addScaleSet}. */
export interface ScaleSetSpec {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  /** Default `westus2`. */
  readonly location?: string;
  /** Number of instances (ids 0…n-1); default 1. */
  readonly instanceCount?: number;
  /** Give the scale set a system-assigned identity; default false. */
  readonly systemAssignedIdentity?: boolean;
  /** Resource ids of existing user-assigned identities to assign from the start. */
  readonly userAssignedIdentities?: readonly string[];
}

/** A virtual machine to create with {@link ArmEmulator.addVirtualMachine}. */
export interface VirtualMachineSpec {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  /** Default `westus2`. */
  readonly location?: string;
  readonly systemAssignedIdentity?: boolean;
  readonly userAssignedIdentities?: readonly string[];
}

/** One instance of an emulated scale set. */
export interface ScaleSetInstanceInfo {
  /** `"0"`, `"1"`, … */
  readonly instanceId: string;
  /** `/subscriptions/…/virtualMachineScaleSets/<ss>/virtualMachines/<instanceId>` */
  readonly id: string;
  /** `<ss>_<instanceId>`, as ARM names instances. */
  readonly name: string;
  /** `<ss>` followed by the instance id in base 36, six digits: the node name AKS gives it. */
  readonly computerName: string;
  /** The VM's unique id (GUID), as `/metadata/instance` reports it. */
  readonly vmId: string;
}

/** An emulated scale set. */
export interface ScaleSetInfo {
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly location: string;
  readonly instances: readonly ScaleSetInstanceInfo[];
}

/** An emulated virtual machine. */
export interface VirtualMachineInfo {
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly location: string;
  readonly vmId: string;
}

/** A user-assigned identity to create with {@link ArmEmulator.createUserAssignedIdentity}. */
export interface UserAssignedIdentitySpec {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  /** Default `westus2`. */
  readonly location?: string;
}

/** An emulated user-assigned managed identity. */
export interface UserAssignedIdentityInfo {
  /** `/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>` */
  readonly id: string;
  readonly name: string;
  readonly clientId: string;
  readonly principalId: string;
  readonly tenantId: string;
}

/** The effective identities of a VM, scale set or scale set instance, as IMDS sees them. */
export interface IdentityAssignment {
  readonly type: ArmIdentityType;
  readonly systemAssigned: SystemIdentity | undefined;
  readonly userAssigned: readonly AssignedUserIdentity[];
}

/** A VM or scale set instance as its IMDS describes it. */
export interface MachineDescription {
  /** The VM's or instance's resource id. */
  readonly id: string;
  /** ARM name: the VM name, or `<ss>_<instanceId>`. */
  readonly name: string;
  /** The OS host name (the Kubernetes node name on AKS). */
  readonly computerName: string;
  readonly vmId: string;
  readonly location: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The scale set's name, or `''` for a plain VM (as `/metadata/instance` reports). */
  readonly vmScaleSetName: string;
  /** The resource that carries the identities: the scale set for an instance, else the VM itself. */
  readonly identityResourceId: string;
}

/** One request the ARM emulator served (or refused). */
export interface ArmRequestRecord {
  readonly operation: ArmOperation;
  readonly method: string;
  /** Lower-cased resource id of the VM, scale set or identity addressed; absent for lists and operation polls. */
  readonly target: string | undefined;
  readonly status: number;
  /** Entries of `identity.userAssignedIdentities` in a PATCH body. */
  readonly identityCount: number;
}

/** Filter of {@link ArmEmulator.countRequests}. */
export interface ArmRequestFilter {
  readonly operation?: ArmOperation;
  /** Resource id (case-insensitive). */
  readonly target?: string;
  readonly status?: number;
}

/** A running ARM emulator. */
export interface ArmEmulator {
  /** `https://127.0.0.1:<port>`: pass as `endpoint` to `ComputeManagementClient`. */
  readonly url: string;
  readonly tenantId: string;
  /** The CA whose certificate clients must trust (`tlsOptions: { ca: certificateAuthority.certificatePem }`). */
  readonly certificateAuthority: CertificateAuthority;
  readonly faults: ArmFaults;
  /** Creates a scale set with its instances. Throws if it exists or an identity does not. */
  addScaleSet(spec: ScaleSetSpec): ScaleSetInfo;
  /** Creates a virtual machine. Throws if it exists or an identity does not. */
  addVirtualMachine(spec: VirtualMachineSpec): VirtualMachineInfo;
  /** Creates (or returns the existing) user-assigned identity with generated client and principal ids. */
  createUserAssignedIdentity(spec: UserAssignedIdentitySpec): UserAssignedIdentityInfo;
  /** Deletes a user-assigned identity; VMs keep stale assignments of it, as in Azure. Returns whether it existed. */
  deleteUserAssignedIdentity(resourceId: string): boolean;
  /** A user-assigned identity by resource id (case-insensitive). */
  getUserAssignedIdentity(resourceId: string): UserAssignedIdentityInfo | undefined;
  /**
   * The identities of a VM, scale set, or scale set instance (which has its scale set's), by resource
   * id, case-insensitive; `undefined` if no such resource.
   */
  getIdentityAssignment(resourceId: string): IdentityAssignment | undefined;
  /** Describes a VM or scale set instance by resource id (case-insensitive); `undefined` if none. */
  describeMachine(resourceId: string): MachineDescription | undefined;
  /** Every request served since start or {@link ArmEmulator.clearRequestLog}, oldest first. */
  requestLog(): readonly ArmRequestRecord[];
  /** Number of logged requests matching the filter, e.g. PATCHes of one scale set. */
  countRequests(filter?: ArmRequestFilter): number;
  clearRequestLog(): void;
  /** Stops the server, cancels pending latencies and closes connections. */
  stop(): Promise<void>;
}

interface Instance {
  readonly info: ScaleSetInstanceInfo;
}

interface ComputeResource {
  readonly kind: 'vmss' | 'vm';
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly location: string;
  readonly uniqueId: string;
  readonly identity: ResourceIdentityState;
  readonly instances: Map<string, Instance>;
  provisioningState: string;
  version: number;
}

interface AsyncOperation {
  readonly id: string;
  readonly target: string;
  readonly startTime: Date;
  readonly completesAt: number;
  /** Set when the operation ends `Failed`. */
  readonly failure: { readonly code: string; readonly message: string } | undefined;
}

interface StoredIdentity extends UserAssignedIdentityInfo {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  tags: Record<string, string>;
}

type Route =
  | { readonly type: 'operation'; readonly subscriptionId: string; readonly operationId: string }
  | {
      readonly type: 'list';
      readonly kind: 'vm' | 'vmss';
      readonly subscriptionId: string;
      readonly resourceGroup?: string;
    }
  | { readonly type: 'compute'; readonly kind: 'vm' | 'vmss'; readonly id: string }
  | { readonly type: 'instances'; readonly scaleSetId: string }
  | { readonly type: 'instance'; readonly scaleSetId: string; readonly instanceId: string }
  | {
      readonly type: 'identity';
      readonly id: string;
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly name: string;
    };

const COMPUTE = 'Microsoft.Compute';

const computeId = (
  subscriptionId: string,
  resourceGroup: string,
  kind: 'vm' | 'vmss',
  name: string,
): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${COMPUTE}/${kind === 'vm' ? 'virtualMachines' : 'virtualMachineScaleSets'}/${name}`;

const identityId = (subscriptionId: string, resourceGroup: string, name: string): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

/** The computer name AKS gives a VMSS instance: prefix plus the instance id in base 36, zero-padded to 6. */
function computerNameOf(scaleSetName: string, instanceId: number): string {
  return `${scaleSetName}${instanceId.toString(36).padStart(6, '0')}`;
}

function parseRoute(pathname: string): Route | undefined {
  const raw = pathname
    .split('/')
    .filter((segment) => segment.length > 0)
    .map((segment) => decodeURIComponent(segment));
  const s = raw.map((segment) => segment.toLowerCase());
  if (s[0] !== 'subscriptions' || raw[1] === undefined) return undefined;
  const subscriptionId = raw[1];
  if (s[2] === 'providers' && s[3] === 'microsoft.compute') {
    if (s.length === 5 && (s[4] === 'virtualmachines' || s[4] === 'virtualmachinescalesets')) {
      return { type: 'list', kind: s[4] === 'virtualmachines' ? 'vm' : 'vmss', subscriptionId };
    }
    if (s.length === 8 && s[4] === 'locations' && s[6] === 'operations' && raw[7] !== undefined) {
      return { type: 'operation', subscriptionId, operationId: raw[7] };
    }
    return undefined;
  }
  if (s[2] !== 'resourcegroups' || raw[3] === undefined || s[4] !== 'providers') return undefined;
  const resourceGroup = raw[3];
  if (
    s[5] === 'microsoft.managedidentity' &&
    s[6] === 'userassignedidentities' &&
    s.length === 8 &&
    raw[7] !== undefined
  ) {
    return {
      type: 'identity',
      id: identityId(subscriptionId, resourceGroup, raw[7]),
      subscriptionId,
      resourceGroup,
      name: raw[7],
    };
  }
  if (s[5] !== 'microsoft.compute') return undefined;
  const kind =
    s[6] === 'virtualmachines' ? 'vm' : s[6] === 'virtualmachinescalesets' ? 'vmss' : undefined;
  if (kind === undefined) return undefined;
  if (s.length === 7) return { type: 'list', kind, subscriptionId, resourceGroup };
  const name = raw[7];
  if (name === undefined) return undefined;
  const id = computeId(subscriptionId, resourceGroup, kind, name);
  if (s.length === 8) return { type: 'compute', kind, id };
  if (kind === 'vmss' && s[8] === 'virtualmachines') {
    if (s.length === 9) return { type: 'instances', scaleSetId: id };
    if (s.length === 10 && raw[9] !== undefined)
      return { type: 'instance', scaleSetId: id, instanceId: raw[9] };
  }
  return undefined;
}

function operationOf(route: Route, method: string): ArmOperation | undefined {
  switch (route.type) {
    case 'operation':
      return method === 'GET' ? ArmOperation.OperationStatusGet : undefined;
    case 'list':
      if (method !== 'GET') return undefined;
      return route.kind === 'vm' ? ArmOperation.VmList : ArmOperation.ScaleSetList;
    case 'compute':
      if (method === 'GET')
        return route.kind === 'vm' ? ArmOperation.VmGet : ArmOperation.ScaleSetGet;
      if (method === 'PATCH')
        return route.kind === 'vm' ? ArmOperation.VmUpdate : ArmOperation.ScaleSetUpdate;
      return undefined;
    case 'instances':
      return method === 'GET' ? ArmOperation.ScaleSetVmList : undefined;
    case 'instance':
      return method === 'GET' ? ArmOperation.ScaleSetVmGet : undefined;
    case 'identity':
      if (method === 'GET') return ArmOperation.IdentityGet;
      if (method === 'PUT') return ArmOperation.IdentityCreate;
      if (method === 'DELETE') return ArmOperation.IdentityDelete;
      return undefined;
  }
}

function targetOf(route: Route): string | undefined {
  switch (route.type) {
    case 'compute':
    case 'identity':
      return route.id.toLowerCase();
    case 'instances':
    case 'instance':
      return route.scaleSetId.toLowerCase();
    case 'operation':
    case 'list':
      return undefined;
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ArmHttpError(
      400,
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized.',
    );
  }
}

const assertName = (what: string, value: string): void => {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._()-]{0,88}$/.test(value)) {
    throw new TypeError(
      `${what} must be a valid Azure resource name, got ${JSON.stringify(value)}`,
    );
  }
};

/**
 * Starts an https emulator of the Azure Resource Manager operations pod-identity makes:
 * Microsoft.Compute virtual machines, scale sets and their instances (GET, list, PATCH of `identity`
 * as a long-running operation with `Azure-AsyncOperation` polling), and
 * Microsoft.ManagedIdentity user-assigned identities (PUT, GET, DELETE).
 *
 * Reach it with the real SDK:
 * `new ComputeManagementClient(credential, subscriptionId, { endpoint: arm.url, tlsOptions: { ca } })`
 * (see {@link azureClientTlsOptions}). Every request needs `Authorization: Bearer …` and `api-version`.
 *
 * Choices where Azure is not observable here: identity keys are stored with the letter case of the
 * request that first assigned them and matched case-insensitively; an unknown identity is refused
 * with `FailedIdentityOperation`; the 150-identity limit answers 400 `BadRequest`.
 */
export async function startArmEmulator(
  options: StartArmEmulatorOptions = {},
): Promise<ArmEmulator> {
  const tenantId = options.tenantId ?? randomUUID();
  const certificateAuthority = options.certificateAuthority ?? getSharedCertificateAuthority();
  const maxIdentities = options.maxIdentitiesPerRequest ?? 150;
  const rejectConcurrent = options.rejectConcurrentUpdates ?? true;
  const operationDurationMs = options.operationDurationMs ?? 0;
  const requireExisting = options.requireExistingIdentities ?? true;
  if (!Number.isInteger(maxIdentities) || maxIdentities < 1)
    throw new RangeError('maxIdentitiesPerRequest must be a positive integer');
  if (!Number.isFinite(operationDurationMs) || operationDurationMs < 0)
    throw new RangeError('operationDurationMs must be >= 0');

  const faults = new ArmFaultState();
  const compute = new Map<string, ComputeResource>();
  const identities = new Map<string, StoredIdentity>();
  const operations = new Map<string, AsyncOperation>();
  /** Lower-cased target → PATCH requests being handled (before their operation exists). */
  const updatesInFlight = new Map<string, number>();
  const log: ArmRequestRecord[] = [];
  const stopping = new AbortController();

  const resolveIdentity = (
    resourceId: string,
  ): { clientId: string; principalId: string } | undefined =>
    identities.get(resourceId.toLowerCase()) ??
    (requireExisting ? undefined : { clientId: randomUUID(), principalId: randomUUID() });

  const initialIdentity = (
    systemAssigned: boolean | undefined,
    userIds: readonly string[] | undefined,
  ): ResourceIdentityState => {
    const state: ResourceIdentityState = {
      system: systemAssigned ? newSystemIdentity() : undefined,
      user: new Map(),
    };
    for (const id of userIds ?? []) {
      const found = identities.get(id.toLowerCase());
      if (!found)
        throw new RangeError(
          `user-assigned identity ${id} does not exist in the ARM emulator; create it first`,
        );
      state.user.set(id.toLowerCase(), {
        resourceId: found.id,
        clientId: found.clientId,
        principalId: found.principalId,
      });
    }
    return state;
  };

  /** Settles finished operations: the resource's provisioningState returns to Succeeded. */
  /** The latest operation of each target (lower-cased id): its outcome is the resource's provisioningState. */
  const lastOperation = new Map<string, AsyncOperation>();

  /** Settles finished operations: the resource's provisioningState becomes Succeeded, or Failed. */
  const settle = (): void => {
    const now = Date.now();
    for (const [key, resource] of compute) {
      if (resource.provisioningState !== 'Updating' || updatesInFlight.has(key)) continue;
      const last = lastOperation.get(key);
      if (last && last.completesAt > now) continue;
      resource.provisioningState = last?.failure ? 'Failed' : 'Succeeded';
    }
  };

  // Only the latest operation of a target can still run: a new one starts only when it is not busy.
  const isBusy = (target: string): boolean =>
    (lastOperation.get(target)?.completesAt ?? 0) > Date.now() ||
    (updatesInFlight.get(target) ?? 0) > 0;

  const etagOf = (resource: ComputeResource): string => `"${resource.version}"`;

  const computeJson = (resource: ComputeResource): Record<string, unknown> => {
    const identity = identityToJson(resource.identity, tenantId);
    const base: Record<string, unknown> = {
      id: resource.id,
      name: resource.name,
      type:
        resource.kind === 'vm'
          ? `${COMPUTE}/virtualMachines`
          : `${COMPUTE}/virtualMachineScaleSets`,
      location: resource.location,
      tags: {},
      ...(identity ? { identity } : {}),
    };
    if (resource.kind === 'vm') {
      return {
        ...base,
        properties: {
          vmId: resource.uniqueId,
          hardwareProfile: { vmSize: 'Standard_D2s_v3' },
          osProfile: { computerName: resource.name },
          provisioningState: resource.provisioningState,
        },
      };
    }
    return {
      ...base,
      etag: etagOf(resource),
      sku: { name: 'Standard_D2s_v3', tier: 'Standard', capacity: resource.instances.size },
      properties: {
        uniqueId: resource.uniqueId,
        orchestrationMode: 'Uniform',
        upgradePolicy: { mode: 'Manual' },
        singlePlacementGroup: true,
        overprovision: false,
        virtualMachineProfile: { osProfile: { computerNamePrefix: resource.name } },
        provisioningState: resource.provisioningState,
      },
    };
  };

  const instanceJson = (scaleSet: ComputeResource, instance: Instance): Record<string, unknown> => {
    const identity = identityToJson(scaleSet.identity, tenantId);
    return {
      id: instance.info.id,
      name: instance.info.name,
      type: `${COMPUTE}/virtualMachineScaleSets/virtualMachines`,
      location: scaleSet.location,
      instanceId: instance.info.instanceId,
      sku: { name: 'Standard_D2s_v3', tier: 'Standard' },
      ...(identity ? { identity } : {}),
      properties: {
        latestModelApplied: true,
        vmId: instance.info.vmId,
        hardwareProfile: { vmSize: 'Standard_D2s_v3' },
        osProfile: { computerName: instance.info.computerName },
        provisioningState: scaleSet.provisioningState === 'Updating' ? 'Updating' : 'Succeeded',
      },
    };
  };

  const identityJson = (identity: StoredIdentity): Record<string, unknown> => ({
    id: identity.id,
    name: identity.name,
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location: identity.location,
    tags: identity.tags,
    properties: {
      tenantId: identity.tenantId,
      principalId: identity.principalId,
      clientId: identity.clientId,
    },
  });

  const notFound = (kind: string, id: string): ArmHttpError =>
    new ArmHttpError(
      404,
      'ResourceNotFound',
      `The Resource '${kind}' under resource group '${id.split('/')[4] ?? ''}' was not found.`,
    );

  const getCompute = (kind: 'vm' | 'vmss', id: string): ComputeResource => {
    const resource = compute.get(id.toLowerCase());
    if (resource?.kind !== kind) {
      throw notFound(
        `${COMPUTE}/${kind === 'vm' ? 'virtualMachines' : 'virtualMachineScaleSets'}/${id.split('/').pop() ?? ''}`,
        id,
      );
    }
    return resource;
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (ms <= 0) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        stopping.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new Error('ARM emulator stopped'));
      };
      stopping.signal.addEventListener('abort', onAbort, { once: true });
    });

  const identityDenialError = (
    resource: ComputeResource,
    ids: readonly string[],
    kind: IdentityDenial,
  ): ArmHttpError => {
    const quoted = ids.join(',');
    if (kind === IdentityDenial.LinkedAuthorizationFailed) {
      const action = resource.kind === 'vm' ? 'virtualMachines' : 'virtualMachineScaleSets';
      return new ArmHttpError(
        403,
        'LinkedAuthorizationFailed',
        `The client '${randomUUID()}' with object id '${randomUUID()}' has permission to perform action '${COMPUTE}/${action}/write' on scope '${resource.id}'; however, it does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${quoted}' or the linked scope(s) are invalid.`,
      );
    }
    return new ArmHttpError(
      400,
      'FailedIdentityOperation',
      `Identity operation for resource '${resource.id}' failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: 'The identities '${quoted}' were not found.''.`,
    );
  };

  const handlePatch = (
    resource: ComputeResource,
    body: unknown,
    request: IncomingMessage,
    baseUrl: string,
    apiVersion: string,
  ): { status: number; body: unknown; headers: Record<string, string> } => {
    if (resource.provisioningState === 'Deleting') {
      throw new ArmHttpError(
        409,
        'OperationNotAllowed',
        `The operation is not allowed since resource '${resource.name}' is being deleted.`,
      );
    }
    const ifMatch = request.headers['if-match'];
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(resource)) {
      throw new ArmHttpError(
        412,
        'PreconditionFailed',
        `The condition specified using HTTP conditional header(s) is not met (If-Match ${ifMatch}).`,
      );
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ArmHttpError(
        400,
        'InvalidRequestContent',
        'The request content was invalid and could not be deserialized.',
      );
    }
    const patch = parseIdentityPatch((body as Record<string, unknown>).identity);
    if (patch) {
      const count = patch.add.length + patch.remove.length;
      if (count > maxIdentities) {
        throw new ArmHttpError(
          400,
          'BadRequest',
          `The request has ${count} user assigned identities; at most ${maxIdentities} are allowed in one request.`,
        );
      }
      const linked = patch.add.filter(
        (id) => faults.denied.get(id.toLowerCase()) === IdentityDenial.LinkedAuthorizationFailed,
      );
      if (linked.length > 0)
        throw identityDenialError(resource, linked, IdentityDenial.LinkedAuthorizationFailed);
      const failed = patch.add.filter(
        (id) => faults.denied.get(id.toLowerCase()) === IdentityDenial.FailedIdentityOperation,
      );
      if (failed.length > 0)
        throw identityDenialError(resource, failed, IdentityDenial.FailedIdentityOperation);
    }
    const operationKind =
      resource.kind === 'vm' ? ArmOperation.VmUpdate : ArmOperation.ScaleSetUpdate;
    const failure = faults.takeOperationFailure(operationKind, resource.id);
    if (patch) {
      // Validate on a copy; a failing operation leaves the identities as they were.
      const draft: ResourceIdentityState = {
        system: resource.identity.system,
        user: new Map(resource.identity.user),
      };
      const { missing } = applyIdentityPatch(draft, patch, resolveIdentity);
      if (missing.length > 0)
        throw identityDenialError(resource, missing, IdentityDenial.FailedIdentityOperation);
      if (!failure) {
        resource.identity.system = draft.system;
        resource.identity.user.clear();
        for (const [key, value] of draft.user) resource.identity.user.set(key, value);
      }
    }
    resource.version += 1;
    resource.provisioningState = 'Updating';
    const operation: AsyncOperation = {
      id: randomUUID(),
      target: resource.id.toLowerCase(),
      startTime: new Date(),
      completesAt: Date.now() + operationDurationMs,
      failure,
    };
    operations.set(operation.id, operation);
    lastOperation.set(operation.target, operation);
    const statusUrl = `${baseUrl}/subscriptions/${resource.subscriptionId}/providers/${COMPUTE}/locations/${resource.location}/operations/${operation.id}?p=${randomUUID()}&api-version=${encodeURIComponent(apiVersion)}`;
    return {
      status: 200,
      body: computeJson(resource),
      headers: {
        'azure-asyncoperation': statusUrl,
        ...(resource.kind === 'vmss' ? { etag: etagOf(resource) } : {}),
      },
    };
  };

  const serve = async (
    route: Route,
    method: string,
    request: IncomingMessage,
  ): Promise<{ status: number; body?: unknown; headers?: Record<string, string> }> => {
    switch (route.type) {
      case 'operation': {
        const operation = operations.get(route.operationId);
        if (!operation)
          throw new ArmHttpError(
            404,
            'NotFound',
            `The operation '${route.operationId}' was not found.`,
          );
        settle();
        const done = Date.now() >= operation.completesAt;
        return {
          status: 200,
          body: {
            name: operation.id,
            startTime: operation.startTime.toISOString(),
            status: done ? (operation.failure ? 'Failed' : 'Succeeded') : 'InProgress',
            ...(done && operation.failure
              ? { error: { code: operation.failure.code, message: operation.failure.message } }
              : {}),
            ...(done
              ? {
                  endTime: new Date(
                    Math.max(operation.completesAt, operation.startTime.getTime()),
                  ).toISOString(),
                }
              : {}),
          },
        };
      }
      case 'list': {
        settle();
        const prefix =
          route.resourceGroup === undefined
            ? `/subscriptions/${route.subscriptionId}/`.toLowerCase()
            : `/subscriptions/${route.subscriptionId}/resourceGroups/${route.resourceGroup}/`.toLowerCase();
        const value = [...compute.entries()]
          .filter(([key, resource]) => key.startsWith(prefix) && resource.kind === route.kind)
          .map(([, resource]) => computeJson(resource));
        return { status: 200, body: { value } };
      }
      case 'compute': {
        // PATCH never reaches here: the handler serves updates itself (it counts their identities first).
        const resource = getCompute(route.kind, route.id);
        settle();
        return {
          status: 200,
          body: computeJson(resource),
          headers: resource.kind === 'vmss' ? { etag: etagOf(resource) } : {},
        };
      }
      case 'instances': {
        settle();
        const scaleSet = getCompute('vmss', route.scaleSetId);
        return {
          status: 200,
          body: {
            value: [...scaleSet.instances.values()].map((instance) =>
              instanceJson(scaleSet, instance),
            ),
          },
        };
      }
      case 'instance': {
        settle();
        const scaleSet = getCompute('vmss', route.scaleSetId);
        const instance = scaleSet.instances.get(route.instanceId);
        if (!instance)
          throw notFound(
            `${COMPUTE}/virtualMachineScaleSets/${scaleSet.name}/virtualMachines/${route.instanceId}`,
            scaleSet.id,
          );
        return { status: 200, body: instanceJson(scaleSet, instance) };
      }
      case 'identity': {
        const key = route.id.toLowerCase();
        if (method === 'GET') {
          const identity = identities.get(key);
          if (!identity)
            throw notFound(
              `Microsoft.ManagedIdentity/userAssignedIdentities/${route.name}`,
              route.id,
            );
          return { status: 200, body: identityJson(identity) };
        }
        if (method === 'DELETE') {
          return { status: identities.delete(key) ? 200 : 204 };
        }
        const body = await readJson(request);
        const record = (body !== null && typeof body === 'object' ? body : {}) as Record<
          string,
          unknown
        >;
        const existing = identities.get(key);
        const tags = (record.tags ?? existing?.tags ?? {}) as Record<string, string>;
        const location =
          typeof record.location === 'string' ? record.location : (existing?.location ?? 'westus2');
        if (existing) {
          existing.tags = tags;
          return { status: 200, body: identityJson(existing) };
        }
        const created = storeIdentity({
          subscriptionId: route.subscriptionId,
          resourceGroup: route.resourceGroup,
          name: route.name,
          location,
        });
        created.tags = tags;
        return { status: 201, body: identityJson(created) };
      }
    }
  };

  const storeIdentity = (spec: UserAssignedIdentitySpec): StoredIdentity => {
    const id = identityId(spec.subscriptionId, spec.resourceGroup, spec.name);
    const stored: StoredIdentity = {
      id,
      name: spec.name,
      subscriptionId: spec.subscriptionId,
      resourceGroup: spec.resourceGroup,
      location: spec.location ?? 'westus2',
      clientId: randomUUID(),
      principalId: randomUUID(),
      tenantId,
      tags: {},
    };
    identities.set(id.toLowerCase(), stored);
    return stored;
  };

  const respond = (
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    response.writeHead(status, {
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': randomUUID(),
      ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'content-length': Buffer.byteLength(payload),
      ...headers,
    });
    response.end(payload);
  };

  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = (request.method ?? 'GET').toUpperCase();
    const baseUrl = `https://${request.headers.host ?? '127.0.0.1'}`;
    const url = new URL(request.url ?? '/', baseUrl);
    const route = parseRoute(url.pathname);
    const operation = route ? operationOf(route, method) : undefined;
    if (!route || !operation) {
      request.resume();
      respond(response, route ? 405 : 404, {
        error: route
          ? {
              code: 'MethodNotAllowed',
              message: `The requested resource does not support http method '${method}'.`,
            }
          : {
              code: 'InvalidResourceType',
              message: `The resource type could not be found for '${url.pathname}'.`,
            },
      });
      return;
    }
    const target = targetOf(route);
    let identityCount = 0;
    const record = (status: number): void => {
      log.push({ operation, method, target, status, identityCount });
    };
    const isUpdate =
      operation === ArmOperation.ScaleSetUpdate || operation === ArmOperation.VmUpdate;
    let tracked = false;
    try {
      const authorization = request.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!match?.[1]) {
        request.resume();
        throw new ArmHttpError(
          401,
          'AuthenticationFailed',
          "Authentication failed. The 'Authorization' header is missing.",
          {
            'www-authenticate':
              'Bearer authorization_uri="https://login.microsoftonline.com/", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."',
          },
        );
      }
      if (options.verifyToken && !options.verifyToken(match[1])) {
        request.resume();
        throw new ArmHttpError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', {
          'www-authenticate':
            'Bearer authorization_uri="https://login.microsoftonline.com/", error="invalid_token", error_description="The access token is invalid."',
        });
      }
      if (!url.searchParams.get('api-version')) {
        request.resume();
        throw new ArmHttpError(
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        );
      }
      if (isUpdate && target !== undefined) {
        if (rejectConcurrent && isBusy(target)) {
          request.resume();
          const kindName =
            route.type === 'compute' && route.kind === 'vm'
              ? 'virtual machine'
              : 'virtual machine scale set';
          throw new ArmHttpError(
            409,
            'OperationNotAllowed',
            `Operation 'Update' is not allowed on ${kindName} '${target.split('/').pop() ?? ''}' since another operation is in progress on it.`,
          );
        }
        updatesInFlight.set(target, (updatesInFlight.get(target) ?? 0) + 1);
        tracked = true;
      }
      // Read a PATCH body first so that refused PATCHes (injected faults included) count their identities too.
      let body: unknown;
      if (isUpdate) {
        body = await readJson(request);
        const map = (
          body as { identity?: { userAssignedIdentities?: Record<string, unknown> } } | null
        )?.identity?.userAssignedIdentities;
        identityCount = map && typeof map === 'object' ? Object.keys(map).length : 0;
      }
      await sleep(faults.latencyOf(operation));
      const injected = faults.take(operation, target === undefined ? [] : [target]);
      if (injected) {
        request.resume();
        throw new ArmHttpError(injected.status, injected.code, injected.message, injected.headers);
      }
      if (isUpdate) {
        if (route.type !== 'compute')
          throw new Error('unreachable: updates address a VM or scale set');
        const resource = getCompute(route.kind, route.id);
        const result = handlePatch(
          resource,
          body,
          request,
          baseUrl,
          url.searchParams.get('api-version') ?? '',
        );
        record(result.status);
        respond(response, result.status, result.body, result.headers);
        return;
      }
      const result = await serve(route, method, request);
      record(result.status);
      respond(response, result.status, result.body, result.headers);
    } catch (error) {
      if (!(error instanceof ArmHttpError)) {
        if (stopping.signal.aborted) {
          response.destroy();
          return;
        }
        throw error;
      }
      record(error.status);
      respond(
        response,
        error.status,
        { error: { code: error.code, message: error.message } },
        { ...error.headers },
      );
    } finally {
      if (tracked && target !== undefined) {
        const left = (updatesInFlight.get(target) ?? 1) - 1;
        if (left <= 0) updatesInFlight.delete(target);
        else updatesInFlight.set(target, left);
      }
    }
  };

  const server = await startLoopbackServer({
    handler,
    certificate: certificateAuthority.issueServerCertificate(),
    ...(options.host ? { host: options.host } : {}),
  });

  const addCompute = (kind: 'vm' | 'vmss', spec: VirtualMachineSpec): ComputeResource => {
    assertName('resourceGroup', spec.resourceGroup);
    assertName('name', spec.name);
    if (typeof spec.subscriptionId !== 'string' || spec.subscriptionId.length === 0)
      throw new TypeError('subscriptionId is required');
    const id = computeId(spec.subscriptionId, spec.resourceGroup, kind, spec.name);
    if (compute.has(id.toLowerCase())) throw new RangeError(`${id} already exists`);
    const resource: ComputeResource = {
      kind,
      id,
      subscriptionId: spec.subscriptionId,
      resourceGroup: spec.resourceGroup,
      name: spec.name,
      location: spec.location ?? 'westus2',
      uniqueId: randomUUID(),
      identity: initialIdentity(spec.systemAssignedIdentity, spec.userAssignedIdentities),
      instances: new Map(),
      provisioningState: 'Succeeded',
      version: 1,
    };
    compute.set(id.toLowerCase(), resource);
    return resource;
  };

  const assignmentOf = (state: ResourceIdentityState): IdentityAssignment => ({
    type: identityTypeOf(state),
    systemAssigned: state.system,
    userAssigned: [...state.user.values()],
  });

  const publicIdentity = (stored: StoredIdentity): UserAssignedIdentityInfo => ({
    id: stored.id,
    name: stored.name,
    clientId: stored.clientId,
    principalId: stored.principalId,
    tenantId: stored.tenantId,
  });

  return {
    url: server.url,
    tenantId,
    certificateAuthority,
    faults,
    addScaleSet(spec) {
      const instanceCount = spec.instanceCount ?? 1;
      if (!Number.isInteger(instanceCount) || instanceCount < 0)
        throw new RangeError(`instanceCount must be >= 0, got ${instanceCount}`);
      const resource = addCompute('vmss', spec);
      for (let index = 0; index < instanceCount; index += 1) {
        const instanceId = String(index);
        resource.instances.set(instanceId, {
          info: {
            instanceId,
            id: `${resource.id}/virtualMachines/${instanceId}`,
            name: `${resource.name}_${instanceId}`,
            computerName: computerNameOf(resource.name, index),
            vmId: randomUUID(),
          },
        });
      }
      return {
        id: resource.id,
        subscriptionId: resource.subscriptionId,
        resourceGroup: resource.resourceGroup,
        name: resource.name,
        location: resource.location,
        instances: [...resource.instances.values()].map((instance) => instance.info),
      };
    },
    addVirtualMachine(spec) {
      const resource = addCompute('vm', spec);
      return {
        id: resource.id,
        subscriptionId: resource.subscriptionId,
        resourceGroup: resource.resourceGroup,
        name: resource.name,
        location: resource.location,
        vmId: resource.uniqueId,
      };
    },
    createUserAssignedIdentity(spec) {
      assertName('resourceGroup', spec.resourceGroup);
      assertName('name', spec.name);
      const existing = identities.get(
        identityId(spec.subscriptionId, spec.resourceGroup, spec.name).toLowerCase(),
      );
      return publicIdentity(existing ?? storeIdentity(spec));
    },
    deleteUserAssignedIdentity(resourceId) {
      return identities.delete(resourceId.toLowerCase());
    },
    getUserAssignedIdentity(resourceId) {
      const stored = identities.get(resourceId.toLowerCase());
      return stored ? publicIdentity(stored) : undefined;
    },
    getIdentityAssignment(resourceId) {
      const key = resourceId.toLowerCase();
      const direct = compute.get(key);
      if (direct) return assignmentOf(direct.identity);
      const instance = /^(.*\/virtualmachinescalesets\/[^/]+)\/virtualmachines\/([^/]+)$/.exec(key);
      if (!instance?.[1] || instance[2] === undefined) return undefined;
      const scaleSet = compute.get(instance[1]);
      if (!scaleSet?.instances.has(instance[2])) return undefined;
      return assignmentOf(scaleSet.identity);
    },
    describeMachine(resourceId) {
      const key = resourceId.toLowerCase();
      const direct = compute.get(key);
      if (direct?.kind === 'vm') {
        return {
          id: direct.id,
          name: direct.name,
          computerName: direct.name,
          vmId: direct.uniqueId,
          location: direct.location,
          subscriptionId: direct.subscriptionId,
          resourceGroup: direct.resourceGroup,
          vmScaleSetName: '',
          identityResourceId: direct.id,
        };
      }
      const match = /^(.*\/virtualmachinescalesets\/[^/]+)\/virtualmachines\/([^/]+)$/.exec(key);
      const scaleSet = match?.[1] === undefined ? undefined : compute.get(match[1]);
      const instance = match?.[2] === undefined ? undefined : scaleSet?.instances.get(match[2]);
      if (!scaleSet || !instance) return undefined;
      return {
        id: instance.info.id,
        name: instance.info.name,
        computerName: instance.info.computerName,
        vmId: instance.info.vmId,
        location: scaleSet.location,
        subscriptionId: scaleSet.subscriptionId,
        resourceGroup: scaleSet.resourceGroup,
        vmScaleSetName: scaleSet.name,
        identityResourceId: scaleSet.id,
      };
    },
    requestLog: () => [...log],
    countRequests(filter = {}) {
      const target = filter.target?.toLowerCase();
      return log.filter(
        (entry) =>
          (filter.operation === undefined || entry.operation === filter.operation) &&
          (target === undefined || entry.target === target) &&
          (filter.status === undefined || entry.status === filter.status),
      ).length;
    },
    clearRequestLog() {
      log.length = 0;
    },
    async stop() {
      stopping.abort();
      await server.close();
    },
  };
}
