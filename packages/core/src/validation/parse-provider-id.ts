import { ValidationError } from '../errors/validation-error.js';

/** A node that is an instance of a virtual machine scale set (uniform orchestration). */
export interface ScaleSetInstanceProviderId {
  kind: 'vmss';
  subscriptionId: string;
  resourceGroup: string;
  /** The scale set's name: the target of identity assignment for every node of the set. */
  scaleSet: string;
  /** The instance ID within the scale set, e.g. `0`. */
  instanceId: string;
}

/** A node that is a standalone virtual machine (also a flexible scale set's VM). */
export interface VirtualMachineProviderId {
  kind: 'vm';
  subscriptionId: string;
  resourceGroup: string;
  /** The virtual machine's name. */
  name: string;
}

/**
 * A node without a provider ID. The original treated it as a virtual machine named after the
 * Kubernetes node; that choice is the caller's.
 */
export interface NoProviderId {
  kind: 'none';
}

/** What a node's `spec.providerID` says about the Azure machine behind it. */
export type ProviderId = ScaleSetInstanceProviderId | VirtualMachineProviderId | NoProviderId;

const PREFIX = 'azure://';
const VM_SHAPE =
  'azure:///subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}';
const VMSS_SHAPE =
  'azure:///subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}/virtualMachines/{instance}';

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Parses a Kubernetes node's `spec.providerID` as the Azure cloud provider writes it:
 *
 * - `azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss1/virtualMachines/0`
 *   is instance `0` of scale set `vmss1`;
 * - `azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1` is
 *   virtual machine `vm1`;
 * - `''` (a node not yet initialised by the cloud provider, or not on Azure's provider) is `none`.
 *
 * The `azure://` scheme and the fixed segments match case-insensitively (ARM IDs are case-insensitive
 * and clusters show both `resourceGroups` and `resourcegroups`); values keep their case.
 *
 * @param providerId - the node's `spec.providerID`
 * @param field - the path reported in errors; `spec.providerID` unless given
 * @returns the scale-set instance, the virtual machine, or `none`
 * @throws ValidationError naming `field` for any other shape, e.g. another cloud's provider ID
 */
export function parseProviderId(providerId: string, field = 'spec.providerID'): ProviderId {
  if (providerId === '') {
    return { kind: 'none' };
  }
  const fail = (why: string): never => {
    throw new ValidationError(
      field,
      `${JSON.stringify(providerId)} is not an Azure virtual machine provider ID (${why}); expected ${VMSS_SHAPE} or ${VM_SHAPE}`,
    );
  };
  if (!providerId.slice(0, PREFIX.length).toLowerCase().startsWith(PREFIX)) {
    return fail(`it does not start with ${JSON.stringify(PREFIX)}`);
  }
  const path = providerId.slice(PREFIX.length);
  if (/\s/u.test(path)) {
    return fail('it contains whitespace');
  }
  if (!path.startsWith('/')) {
    return fail(`the resource ID after ${JSON.stringify(PREFIX)} must start with '/'`);
  }
  const segments = path.slice(1).split('/');
  if (segments.some((segment) => segment === '')) {
    return fail('it has an empty segment');
  }
  const [subs, subscriptionId, rgs, resourceGroup, providers, namespace, ...rest] = segments;
  if (
    subs === undefined ||
    !same(subs, 'subscriptions') ||
    subscriptionId === undefined ||
    rgs === undefined ||
    !same(rgs, 'resourceGroups') ||
    resourceGroup === undefined ||
    providers === undefined ||
    !same(providers, 'providers') ||
    namespace === undefined
  ) {
    return fail('it does not name a subscription, resource group and provider');
  }
  if (!same(namespace, 'Microsoft.Compute')) {
    return fail(`the resource provider is ${JSON.stringify(namespace)}, not Microsoft.Compute`);
  }
  const [type, name, childType, child, ...extra] = rest;
  if (type !== undefined && same(type, 'virtualMachineScaleSets')) {
    if (
      name !== undefined &&
      childType !== undefined &&
      same(childType, 'virtualMachines') &&
      child !== undefined &&
      extra.length === 0
    ) {
      return { kind: 'vmss', subscriptionId, resourceGroup, scaleSet: name, instanceId: child };
    }
    return fail(
      'a scale-set ID must end in /virtualMachineScaleSets/{name}/virtualMachines/{instance}',
    );
  }
  if (type !== undefined && same(type, 'virtualMachines')) {
    if (name !== undefined && childType === undefined) {
      return { kind: 'vm', subscriptionId, resourceGroup, name };
    }
    return fail('a virtual machine ID must end in /virtualMachines/{name}');
  }
  return fail(
    `the resource type ${JSON.stringify(type ?? '')} is neither virtualMachineScaleSets nor virtualMachines`,
  );
}
