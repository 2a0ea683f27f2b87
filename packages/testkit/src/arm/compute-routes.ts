import { ArmOperation } from './arm-faults.js';
import type { ArmResult } from './arm-http.js';
import { COMPUTE, computeResourceId } from './arm-resource-id.js';
import type { ComputeKind } from './arm-resource-id.js';
import type { ArmPath, ArmRoute } from './arm-route.js';
import {
  matchResourceGroupProvider,
  matchSubscriptionProvider,
  methodNotAllowed,
} from './arm-route.js';
import { computeJson, etagOf } from './compute-store.js';
import type { ComputeStore } from './compute-store.js';
import { updateComputeResource } from './update-compute-resource.js';
import type { ComputeUpdateDependencies } from './update-compute-resource.js';

/** What the VM and scale set routes serve from. @internal */
export interface ComputeRouteDependencies extends ComputeUpdateDependencies {
  readonly compute: ComputeStore;
}

const OPERATIONS = {
  vm: { get: ArmOperation.VmGet, update: ArmOperation.VmUpdate, list: ArmOperation.VmList },
  vmss: {
    get: ArmOperation.ScaleSetGet,
    update: ArmOperation.ScaleSetUpdate,
    list: ArmOperation.ScaleSetList,
  },
} as const;

/** Where a compute request points: a list, or one VM or scale set with the path after its name. */
export type ComputeAddress =
  | { readonly type: 'list'; readonly subscriptionId: string; readonly resourceGroup?: string }
  | {
      readonly type: 'resource';
      readonly id: string;
      /** Lower-cased segments after the resource name (`virtualMachines`, `{instanceId}`, …). */
      readonly rest: readonly string[];
      /** The same segments as written. */
      readonly restRaw: readonly string[];
    };

/** Parses the lists and resource paths of one compute resource type (`virtualMachines` or `virtualMachineScaleSets`). */
export function matchComputePath(path: ArmPath, kind: ComputeKind): ComputeAddress | undefined {
  const typeSegment = kind === 'vm' ? 'virtualmachines' : 'virtualmachinescalesets';
  const subscriptionWide = matchSubscriptionProvider(path, COMPUTE);
  if (subscriptionWide) {
    if (subscriptionWide.lower.length !== 1 || subscriptionWide.lower[0] !== typeSegment)
      return undefined;
    return { type: 'list', subscriptionId: subscriptionWide.subscriptionId };
  }
  const match = matchResourceGroupProvider(path, COMPUTE);
  if (match?.lower[0] !== typeSegment) return undefined;
  const name = match.raw[1];
  if (name === undefined)
    return {
      type: 'list',
      subscriptionId: match.subscriptionId,
      resourceGroup: match.resourceGroup,
    };
  return {
    type: 'resource',
    id: computeResourceId(match.subscriptionId, match.resourceGroup, kind, name),
    rest: match.lower.slice(2),
    restRaw: match.raw.slice(2),
  };
}

/** GET of a subscription's or resource group's VMs or scale sets. */
export function listRoute(
  kind: ComputeKind,
  address: { readonly subscriptionId: string; readonly resourceGroup?: string },
  method: string,
  dependencies: ComputeRouteDependencies,
): ArmRoute {
  if (method !== 'GET') return methodNotAllowed(undefined);
  return {
    operation: OPERATIONS[kind].list,
    target: undefined,
    serve: (): ArmResult => {
      dependencies.operations.settle();
      const value = dependencies.compute
        .list(kind, address.subscriptionId, address.resourceGroup)
        .map((resource) => computeJson(resource, dependencies.tenantId));
      return { status: 200, body: { value } };
    },
  };
}

/** GET and PATCH of one VM or scale set. */
export function resourceRoute(
  kind: ComputeKind,
  id: string,
  method: string,
  dependencies: ComputeRouteDependencies,
): ArmRoute {
  const target = id.toLowerCase();
  if (method === 'GET') {
    return {
      operation: OPERATIONS[kind].get,
      target,
      serve: (): ArmResult => {
        const resource = dependencies.compute.require(kind, id);
        dependencies.operations.settle();
        return {
          status: 200,
          body: computeJson(resource, dependencies.tenantId),
          headers: resource.kind === 'vmss' ? { etag: etagOf(resource) } : {},
        };
      },
    };
  }
  if (method === 'PATCH') {
    return {
      operation: OPERATIONS[kind].update,
      target,
      exclusiveUpdate: true,
      serve: (context) =>
        updateComputeResource(dependencies.compute.require(kind, id), context, dependencies),
    };
  }
  return methodNotAllowed(target);
}
