import { ArmOperation } from './arm-faults.js';
import type { ArmResult } from './arm-http.js';
import { resourceNotFound } from './arm-http.js';
import { COMPUTE, resourceGroupOf } from './arm-resource-id.js';
import type { ArmResourceFamily, ArmRoute } from './arm-route.js';
import { methodNotAllowed } from './arm-route.js';
import { listRoute, matchComputePath, resourceRoute } from './compute-routes.js';
import type { ComputeRouteDependencies } from './compute-routes.js';
import { instanceJson } from './compute-store.js';

/**
 * `Microsoft.Compute/virtualMachineScaleSets`: GET, PATCH (long-running), lists by resource group and
 * subscription, and the instances (`…/virtualMachines`, `…/virtualMachines/{instanceId}`).
 */
export function scaleSetRoutes(dependencies: ComputeRouteDependencies): ArmResourceFamily {
  const { compute, operations, tenantId } = dependencies;

  const listInstances = (scaleSetId: string): ArmResult => {
    operations.settle();
    const scaleSet = compute.require('vmss', scaleSetId);
    const value = [...scaleSet.instances.values()].map((instance) =>
      instanceJson(scaleSet, instance, tenantId),
    );
    return { status: 200, body: { value } };
  };

  const getInstance = (scaleSetId: string, instanceId: string): ArmResult => {
    operations.settle();
    const scaleSet = compute.require('vmss', scaleSetId);
    const instance = scaleSet.instances.get(instanceId);
    if (!instance)
      throw resourceNotFound(
        `${COMPUTE}/virtualMachineScaleSets/${scaleSet.name}/virtualMachines/${instanceId}`,
        resourceGroupOf(scaleSet.id),
      );
    return { status: 200, body: instanceJson(scaleSet, instance, tenantId) };
  };

  const instanceRoute = (
    scaleSetId: string,
    instanceId: string | undefined,
    method: string,
  ): ArmRoute => {
    const target = scaleSetId.toLowerCase();
    if (method !== 'GET') return methodNotAllowed(target);
    if (instanceId === undefined)
      return {
        operation: ArmOperation.ScaleSetVmList,
        target,
        serve: () => listInstances(scaleSetId),
      };
    return {
      operation: ArmOperation.ScaleSetVmGet,
      target,
      serve: () => getInstance(scaleSetId, instanceId),
    };
  };

  return {
    route(path, method) {
      const address = matchComputePath(path, 'vmss');
      if (!address) return undefined;
      if (address.type === 'list') return listRoute('vmss', address, method, dependencies);
      if (address.rest.length === 0) return resourceRoute('vmss', address.id, method, dependencies);
      if (address.rest[0] !== 'virtualmachines' || address.rest.length > 2) return undefined;
      return instanceRoute(address.id, address.restRaw[1], method);
    },
  };
}
