import type { ArmResourceFamily } from './arm-route.js';
import { listRoute, matchComputePath, resourceRoute } from './compute-routes.js';
import type { ComputeRouteDependencies } from './compute-routes.js';

/** `Microsoft.Compute/virtualMachines`: GET, PATCH (long-running), lists by resource group and subscription. */
export function virtualMachineRoutes(dependencies: ComputeRouteDependencies): ArmResourceFamily {
  return {
    route(path, method) {
      const address = matchComputePath(path, 'vm');
      if (!address) return undefined;
      if (address.type === 'list') return listRoute('vm', address, method, dependencies);
      if (address.rest.length > 0) return undefined;
      return resourceRoute('vm', address.id, method, dependencies);
    },
  };
}
