import { parseProviderId } from '../validation/parse-provider-id.js';

/**
 * A virtual machine scale set or a virtual machine: what user-assigned identities are assigned to.
 * Every node of a scale set shares its scale set's identities.
 */
export interface IdentityTarget {
  kind: 'vmss' | 'vm';
  subscriptionId: string;
  resourceGroup: string;
  /** The scale set's or the virtual machine's name. */
  name: string;
  /**
   * Lower-cased ARM resource ID of the scale set or VM: the target's identity in maps, lanes and the
   * ownership ledger (ARM IDs are case-insensitive).
   */
  key: string;
}

/** Why a node has no identity target. */
export type NodeTargetProblem = 'node-not-found' | 'node-without-provider-id' | 'unknown-node-type';

/** A node's target, or why it has none. */
export type NodeTargetResult =
  { ok: true; target: IdentityTarget } | { ok: false; problem: NodeTargetProblem; message: string };

/**
 * The identity target of a node from its `spec.providerID`: the scale set for a scale-set instance,
 * the virtual machine otherwise. Unlike the original, subscription and resource group come from the
 * provider ID (not from azure.json), so nodes in other resource groups are handled; a node without a
 * provider ID (not yet initialised by the cloud provider) has no target yet rather than being guessed
 * to be a VM named after the node.
 *
 * @param nodeName - the node's name (for messages)
 * @param providerId - the node's `spec.providerID`, or `undefined` when the node is unknown
 * @returns the target or the problem
 */
export function nodeTarget(nodeName: string, providerId: string | undefined): NodeTargetResult {
  if (providerId === undefined) {
    return { ok: false, problem: 'node-not-found', message: `node ${nodeName} not found` };
  }
  let parsed;
  try {
    parsed = parseProviderId(providerId);
  } catch (error) {
    return {
      ok: false,
      problem: 'unknown-node-type',
      message: `node ${nodeName}: ${(error as Error).message}`,
    };
  }
  switch (parsed.kind) {
    case 'none':
      return {
        ok: false,
        problem: 'node-without-provider-id',
        message: `node ${nodeName} has no spec.providerID yet`,
      };
    case 'vmss':
      return {
        ok: true,
        target: makeTarget('vmss', parsed.subscriptionId, parsed.resourceGroup, parsed.scaleSet),
      };
    case 'vm':
      return {
        ok: true,
        target: makeTarget('vm', parsed.subscriptionId, parsed.resourceGroup, parsed.name),
      };
  }
}

/**
 * Builds an {@link IdentityTarget} with its key.
 * @param kind - scale set or virtual machine
 * @param subscriptionId - subscription
 * @param resourceGroup - resource group
 * @param name - scale set or VM name
 */
export function makeTarget(
  kind: 'vmss' | 'vm',
  subscriptionId: string,
  resourceGroup: string,
  name: string,
): IdentityTarget {
  const type = kind === 'vmss' ? 'virtualMachineScaleSets' : 'virtualMachines';
  return {
    kind,
    subscriptionId,
    resourceGroup,
    name,
    key: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/${type}/${name}`.toLowerCase(),
  };
}
