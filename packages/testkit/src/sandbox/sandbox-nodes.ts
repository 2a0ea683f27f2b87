import { randomUUID } from 'node:crypto';
import type { ArmEmulator } from '../arm/start-arm-emulator.js';
import type { TokenIssuer } from '../entra/token-issuer.js';
import { startImdsEmulator } from '../imds/start-imds-emulator.js';
import type { KubernetesEmulator } from '../kubernetes/kubernetes-emulator.js';
import type {
  SandboxNode,
  SandboxScaleSetSpec,
  SandboxVirtualMachineSpec,
} from './start-sandbox.js';

/** An Azure machine that becomes a node. */
export interface SandboxMachine {
  readonly kind: 'vmss' | 'vm';
  readonly resourceId: string;
  readonly computerName: string;
  readonly scaleSetName: string | undefined;
  readonly identityTargetId: string;
  /** The node pool (`nodepool<k>`, or `standalone` for a VM). */
  readonly pool: string;
}

/** Where the sandbox's machines live in ARM. */
export interface SandboxPlacement {
  readonly subscriptionId: string;
  readonly nodeResourceGroup: string;
  readonly location: string;
}

const DEFAULT_POOL_HASH = '12345678';

/** Creates the scale sets (one pool each) and standalone VMs in ARM: the machines nodes run on. */
export function addSandboxMachines(
  arm: ArmEmulator,
  placement: SandboxPlacement,
  scaleSets: readonly SandboxScaleSetSpec[],
  virtualMachines: readonly SandboxVirtualMachineSpec[],
): SandboxMachine[] {
  const { subscriptionId, nodeResourceGroup, location } = placement;
  const machines: SandboxMachine[] = [];
  scaleSets.forEach((spec, index) => {
    const pool = `nodepool${index + 1}`;
    const scaleSet = arm.addScaleSet({
      subscriptionId,
      resourceGroup: nodeResourceGroup,
      name: spec.name ?? `aks-${pool}-${DEFAULT_POOL_HASH}-vmss`,
      location,
      instanceCount: spec.nodeCount,
      ...(spec.systemAssignedIdentity === undefined
        ? {}
        : { systemAssignedIdentity: spec.systemAssignedIdentity }),
    });
    for (const instance of scaleSet.instances) {
      machines.push({
        kind: 'vmss',
        resourceId: instance.id,
        computerName: instance.computerName,
        scaleSetName: scaleSet.name,
        identityTargetId: scaleSet.id,
        pool,
      });
    }
  });
  for (const spec of virtualMachines) {
    const vm = arm.addVirtualMachine({
      subscriptionId,
      resourceGroup: nodeResourceGroup,
      name: spec.name,
      location,
      ...(spec.systemAssignedIdentity === undefined
        ? {}
        : { systemAssignedIdentity: spec.systemAssignedIdentity }),
    });
    machines.push({
      kind: 'vm',
      resourceId: vm.id,
      computerName: vm.name,
      scaleSetName: undefined,
      identityTargetId: vm.id,
      pool: 'standalone',
    });
  }
  return machines;
}

/** The Node object of a machine, as AKS registers it. */
function nodeObject(
  machine: SandboxMachine,
  providerId: string,
  podCidr: string,
  internalIp: string,
  location: string,
): Parameters<KubernetesEmulator['store']['put']>[0] {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: machine.computerName,
      labels: {
        'kubernetes.io/hostname': machine.computerName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.azure.com/agentpool': machine.pool,
        'kubernetes.azure.com/role': 'agent',
        'node.kubernetes.io/instance-type': 'Standard_D2s_v3',
        'topology.kubernetes.io/region': location,
      },
    },
    spec: { providerID: providerId, podCIDR: podCidr, podCIDRs: [podCidr] },
    status: {
      addresses: [
        { type: 'InternalIP', address: internalIp },
        { type: 'Hostname', address: machine.computerName },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
        },
      ],
      nodeInfo: { operatingSystem: 'linux', architecture: 'amd64', kubeletVersion: 'v1.33.0' },
    },
  };
}

/**
 * Makes machine number `octet` (from 1) a node: its IMDS on 127.2.<octet>.1, a node user with its
 * own credentials, and the Node object (InternalIP 127.1.<octet>.1, pods in 127.3.<octet>.0/24).
 * `onStarted` receives the IMDS emulator at once, so that it is stopped even if a later step fails.
 */
export async function startSandboxNode(
  emulators: { kubernetes: KubernetesEmulator; arm: ArmEmulator; tokenIssuer: TokenIssuer },
  placement: SandboxPlacement,
  machine: SandboxMachine,
  octet: number,
  onStarted: (imds: { stop(): Promise<void> }) => void,
): Promise<SandboxNode> {
  const { kubernetes } = emulators;
  const { nodeResourceGroup } = placement;
  const internalIp = `127.1.${octet}.1`;
  const imds = await startImdsEmulator({
    arm: emulators.arm,
    resourceId: machine.resourceId,
    tokenIssuer: emulators.tokenIssuer,
    host: `127.2.${octet}.1`,
    privateIpAddress: internalIp,
  });
  onStarted(imds);
  const nodeUser = `system:node:${machine.computerName}`;
  kubernetes.addUser({
    name: nodeUser,
    groups: ['system:nodes', 'system:authenticated'],
    token: `node~${randomUUID()}`,
  });
  // AKS writes the node resource group in lower case into providerIDs; ARM ids compare case-insensitively.
  const providerId = `azure://${machine.resourceId.replace(`/resourceGroups/${nodeResourceGroup}/`, `/resourceGroups/${nodeResourceGroup.toLowerCase()}/`)}`;
  const podCidr = `127.3.${octet}.0/24`;
  kubernetes.store.put(nodeObject(machine, providerId, podCidr, internalIp, placement.location));
  return {
    name: machine.computerName,
    providerId,
    resourceId: machine.resourceId,
    kind: machine.kind,
    scaleSetName: machine.scaleSetName,
    identityTargetId: machine.identityTargetId,
    internalIp,
    imds,
    imdsUrl: imds.url,
    podCidr,
    podAddressRange: { first: `127.3.${octet}.2`, last: `127.3.${octet}.254` },
    nodeKubeconfigYaml: kubernetes.kubeconfigYamlFor(nodeUser),
  };
}
