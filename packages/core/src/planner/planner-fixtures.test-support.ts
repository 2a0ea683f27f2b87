// Builders shared by the planner tests (not a test file itself; not exported from the package).
import type { AzureAssignedIdentity, AzureIdentity, AzureIdentityBinding } from '../crd/types.js';
import type { PlannerPod } from './plan-assignments.js';
import { toAssignedIdentity, type DesiredAssignment } from './plan-assignments.js';

export const SUB = '00000000-0000-0000-0000-000000000001';

export function uamiId(name: string, rg = 'identities'): string {
  return `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

export function vmssProviderId(scaleSet: string, instance: number, rg = 'nodes'): string {
  return `azure:///subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSet}/virtualMachines/${instance}`;
}

export function vmProviderId(name: string, rg = 'nodes'): string {
  return `azure:///subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;
}

export function identity(
  name: string,
  options: {
    namespace?: string;
    type?: 0 | 1 | 2;
    resourceID?: string;
    clientID?: string;
    rv?: string;
    uid?: string;
    namespaced?: boolean;
  } = {},
): AzureIdentity {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      resourceVersion: options.rv ?? '1',
      uid: options.uid ?? `uid-${name}`,
      ...(options.namespaced === true
        ? { annotations: { 'aadpodidentity.k8s.io/Behavior': 'namespaced' } }
        : {}),
    },
    spec: {
      type: options.type ?? 0,
      resourceID: options.resourceID ?? uamiId(name),
      clientID: options.clientID ?? `client-${name}`,
      ...((options.type ?? 0) === 0
        ? {}
        : {
            clientPassword: { name: `${name}-secret`, namespace: options.namespace ?? 'default' },
          }),
    },
  };
}

export function binding(
  name: string,
  identityName: string,
  selector: string,
  options: { namespace?: string; rv?: string } = {},
): AzureIdentityBinding {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      resourceVersion: options.rv ?? '1',
    },
    spec: { azureIdentity: identityName, selector },
  };
}

export function pod(
  name: string,
  nodeName: string,
  selector: string,
  namespace = 'default',
  phase = 'Running',
): PlannerPod {
  return { name, namespace, nodeName, selector, phase };
}

export function recordFor(
  desired: DesiredAssignment,
  state: 'Created' | 'Assigned' | '' = 'Assigned',
): AzureAssignedIdentity {
  const record = toAssignedIdentity(desired);
  record.metadata.resourceVersion = '7';
  record.status = { status: state, availableReplicas: 1 };
  return record;
}
