import { randomUUID } from 'node:crypto';
import { resourceNotFound } from './arm-http.js';
import { identityToJson, identityTypeOf, newSystemIdentity } from './arm-identity.js';
import type {
  ArmIdentityType,
  AssignedUserIdentity,
  ResourceIdentityState,
  SystemIdentity,
} from './arm-identity.js';
import {
  COMPUTE,
  assertResourceName,
  computeResourceId,
  computeTypeOf,
  computerNameOf,
  lastSegmentOf,
  resourceGroupOf,
} from './arm-resource-id.js';
import type { ComputeKind } from './arm-resource-id.js';
import type { UserAssignedIdentityStore } from './user-assigned-identity-store.js';

/** A scale set to create with `ArmEmulator.addScaleSet`. */
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

/** A virtual machine to create with `ArmEmulator.addVirtualMachine`. */
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

/** A VM or scale set as the emulator keeps it. @internal */
export interface ComputeResource {
  readonly kind: ComputeKind;
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly location: string;
  readonly uniqueId: string;
  readonly identity: ResourceIdentityState;
  /** Instances of a scale set by instance id; empty for a VM. */
  readonly instances: Map<string, ScaleSetInstanceInfo>;
  provisioningState: string;
  version: number;
}

const INSTANCE_ID = /^(.*\/virtualmachinescalesets\/[^/]+)\/virtualmachines\/([^/]+)$/;

/** The VMs and scale sets of one emulator, keyed by lower-cased resource id. @internal */
export class ComputeStore {
  private readonly resources = new Map<string, ComputeResource>();

  constructor(private readonly identities: UserAssignedIdentityStore) {}

  /** Every VM and scale set, with its lower-cased id. */
  entries(): IterableIterator<[string, ComputeResource]> {
    return this.resources.entries();
  }

  /** The VMs or scale sets of a subscription, or of one resource group of it. */
  list(kind: ComputeKind, subscriptionId: string, resourceGroup?: string): ComputeResource[] {
    const prefix = (
      resourceGroup === undefined
        ? `/subscriptions/${subscriptionId}/`
        : `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/`
    ).toLowerCase();
    return [...this.resources.entries()]
      .filter(([key, resource]) => key.startsWith(prefix) && resource.kind === kind)
      .map(([, resource]) => resource);
  }

  /** Creates a VM or scale set (without instances). Throws if it exists or an identity does not. */
  add(kind: ComputeKind, spec: VirtualMachineSpec): ComputeResource {
    assertResourceName('resourceGroup', spec.resourceGroup);
    assertResourceName('name', spec.name);
    if (typeof spec.subscriptionId !== 'string' || spec.subscriptionId.length === 0)
      throw new TypeError('subscriptionId is required');
    const id = computeResourceId(spec.subscriptionId, spec.resourceGroup, kind, spec.name);
    if (this.resources.has(id.toLowerCase())) throw new RangeError(`${id} already exists`);
    const resource: ComputeResource = {
      kind,
      id,
      subscriptionId: spec.subscriptionId,
      resourceGroup: spec.resourceGroup,
      name: spec.name,
      location: spec.location ?? 'westus2',
      uniqueId: randomUUID(),
      identity: this.initialIdentity(spec.systemAssignedIdentity, spec.userAssignedIdentities),
      instances: new Map(),
      provisioningState: 'Succeeded',
      version: 1,
    };
    this.resources.set(id.toLowerCase(), resource);
    return resource;
  }

  /** Adds `count` instances (ids 0…count-1) to a scale set, named as AKS names its nodes. */
  addInstances(scaleSet: ComputeResource, count: number): void {
    for (let index = 0; index < count; index += 1) {
      const instanceId = String(index);
      scaleSet.instances.set(instanceId, {
        instanceId,
        id: `${scaleSet.id}/virtualMachines/${instanceId}`,
        name: `${scaleSet.name}_${instanceId}`,
        computerName: computerNameOf(scaleSet.name, index),
        vmId: randomUUID(),
      });
    }
  }

  /** A VM or scale set by id, or ARM's 404 `ResourceNotFound`. */
  require(kind: ComputeKind, id: string): ComputeResource {
    const resource = this.resources.get(id.toLowerCase());
    if (resource?.kind !== kind) {
      throw resourceNotFound(
        `${COMPUTE}/${computeTypeOf(kind)}/${lastSegmentOf(id)}`,
        resourceGroupOf(id),
      );
    }
    return resource;
  }

  /** The identities of a VM, a scale set, or an instance (its scale set's). */
  assignmentOf(resourceId: string): IdentityAssignment | undefined {
    const key = resourceId.toLowerCase();
    const direct = this.resources.get(key);
    if (direct) return assignmentOf(direct.identity);
    const instance = INSTANCE_ID.exec(key);
    if (!instance?.[1] || instance[2] === undefined) return undefined;
    const scaleSet = this.resources.get(instance[1]);
    if (!scaleSet?.instances.has(instance[2])) return undefined;
    return assignmentOf(scaleSet.identity);
  }

  /** A VM or scale set instance as its IMDS describes it. */
  describeMachine(resourceId: string): MachineDescription | undefined {
    const key = resourceId.toLowerCase();
    const direct = this.resources.get(key);
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
    const match = INSTANCE_ID.exec(key);
    const scaleSet = match?.[1] === undefined ? undefined : this.resources.get(match[1]);
    const instance = match?.[2] === undefined ? undefined : scaleSet?.instances.get(match[2]);
    if (!scaleSet || !instance) return undefined;
    return {
      id: instance.id,
      name: instance.name,
      computerName: instance.computerName,
      vmId: instance.vmId,
      location: scaleSet.location,
      subscriptionId: scaleSet.subscriptionId,
      resourceGroup: scaleSet.resourceGroup,
      vmScaleSetName: scaleSet.name,
      identityResourceId: scaleSet.id,
    };
  }

  private initialIdentity(
    systemAssigned: boolean | undefined,
    userIds: readonly string[] | undefined,
  ): ResourceIdentityState {
    const state: ResourceIdentityState = {
      system: systemAssigned ? newSystemIdentity() : undefined,
      user: new Map(),
    };
    for (const id of userIds ?? []) {
      const found = this.identities.get(id);
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
  }
}

const assignmentOf = (state: ResourceIdentityState): IdentityAssignment => ({
  type: identityTypeOf(state),
  systemAssigned: state.system,
  userAssigned: [...state.user.values()],
});

/** The `etag` of a scale set: its version, quoted. */
export const etagOf = (resource: ComputeResource): string => `"${resource.version}"`;

/** The ARM JSON of a VM or scale set. */
export function computeJson(resource: ComputeResource, tenantId: string): Record<string, unknown> {
  const identity = identityToJson(resource.identity, tenantId);
  const base: Record<string, unknown> = {
    id: resource.id,
    name: resource.name,
    type: `${COMPUTE}/${computeTypeOf(resource.kind)}`,
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
}

/** The ARM JSON of a scale set instance (its identities are its scale set's). */
export function instanceJson(
  scaleSet: ComputeResource,
  instance: ScaleSetInstanceInfo,
  tenantId: string,
): Record<string, unknown> {
  const identity = identityToJson(scaleSet.identity, tenantId);
  return {
    id: instance.id,
    name: instance.name,
    type: `${COMPUTE}/virtualMachineScaleSets/virtualMachines`,
    location: scaleSet.location,
    instanceId: instance.instanceId,
    sku: { name: 'Standard_D2s_v3', tier: 'Standard' },
    ...(identity ? { identity } : {}),
    properties: {
      latestModelApplied: true,
      vmId: instance.vmId,
      hardwareProfile: { vmSize: 'Standard_D2s_v3' },
      osProfile: { computerName: instance.computerName },
      provisioningState: scaleSet.provisioningState === 'Updating' ? 'Updating' : 'Succeeded',
    },
  };
}

/** The public view of a scale set. */
export const scaleSetInfo = (resource: ComputeResource): ScaleSetInfo => ({
  id: resource.id,
  subscriptionId: resource.subscriptionId,
  resourceGroup: resource.resourceGroup,
  name: resource.name,
  location: resource.location,
  instances: [...resource.instances.values()],
});

/** The public view of a VM. */
export const virtualMachineInfo = (resource: ComputeResource): VirtualMachineInfo => ({
  id: resource.id,
  subscriptionId: resource.subscriptionId,
  resourceGroup: resource.resourceGroup,
  name: resource.name,
  location: resource.location,
  vmId: resource.uniqueId,
});
