import { parseProviderId } from '@pod-identity/core';
import type { V1Node } from '@kubernetes/client-node';
import type { ScaleSetRef } from '../azure-access.js';

/**
 * The distinct scale sets behind the cluster's nodes, from each node's `spec.providerID`. Nodes that
 * are standalone VMs or have no provider ID are returned apart: pod identity's managed mode
 * supports scale-set node pools only (as AKS does).
 */
export function nodeScaleSets(nodes: readonly V1Node[]): {
  scaleSets: ScaleSetRef[];
  otherNodes: string[];
} {
  const scaleSets = new Map<string, ScaleSetRef>();
  const otherNodes: string[] = [];
  for (const node of nodes) {
    const name = node.metadata?.name ?? '?';
    let parsed;
    try {
      parsed = parseProviderId(node.spec?.providerID ?? '');
    } catch {
      otherNodes.push(name);
      continue;
    }
    if (parsed.kind !== 'vmss') {
      otherNodes.push(name);
      continue;
    }
    const ref = {
      subscriptionId: parsed.subscriptionId,
      resourceGroup: parsed.resourceGroup,
      name: parsed.scaleSet,
    };
    scaleSets.set(`${ref.subscriptionId}/${ref.resourceGroup}/${ref.name}`.toLowerCase(), ref);
  }
  return { scaleSets: [...scaleSets.values()], otherNodes };
}

/** The scale set behind one node, if it is a scale-set instance. */
export function scaleSetOfNode(node: V1Node): ScaleSetRef | undefined {
  return nodeScaleSets([node]).scaleSets[0];
}
