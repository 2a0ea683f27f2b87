/**
 * Bound service-account tokens: the contract suite against the emulator, or, when the conformance
 * tier runs it (`POD_IDENTITY_KUBECONFIG` and the two node kubeconfigs set), against a real
 * kube-apiserver with the Node authorizer, NodeRestriction and a service-account issuer.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { startKubernetesEmulator } from '@pod-identity/testkit';
import { describe } from 'vitest';
import {
  EXCHANGE_AUDIENCE,
  serviceAccountTokenContract,
  type TokenTarget,
} from './service-account-token-contract.js';

const realCluster = process.env.POD_IDENTITY_KUBECONFIG;

function loadKubeConfig(file: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(file);
  return config;
}

async function emulatorTarget(): Promise<TokenTarget> {
  const nodes = ['aks-nodepool1-12345678-vmss000000', 'aks-nodepool1-12345678-vmss000001'] as const;
  const kube = await startKubernetesEmulator({
    token: 'admin-token',
    users: nodes.map((name, i) => ({
      token: `node-token-${String(i)}`,
      name: `system:node:${name}`,
      groups: ['system:nodes', 'system:authenticated'],
    })),
    nodeTokenAudiences: [EXCHANGE_AUDIENCE],
  });
  return {
    kubeConfig: kube.kubeConfig,
    nodes,
    nodeKubeConfig: (name) => {
      const config = new KubeConfig();
      config.loadFromString(kube.kubeconfigYamlFor(`system:node:${name}`));
      return config;
    },
    close: () => kube.close(),
  };
}

function realTarget(adminKubeconfig: string): Promise<TokenTarget> {
  const nodeA = process.env.POD_IDENTITY_NODE_A_KUBECONFIG;
  const nodeB = process.env.POD_IDENTITY_NODE_B_KUBECONFIG;
  if (nodeA === undefined || nodeB === undefined)
    throw new Error(
      'the conformance setup sets POD_IDENTITY_NODE_A_KUBECONFIG and POD_IDENTITY_NODE_B_KUBECONFIG',
    );
  const byNode: Record<string, KubeConfig> = {
    'conformance-node-a': loadKubeConfig(nodeA),
    'conformance-node-b': loadKubeConfig(nodeB),
  };
  return Promise.resolve({
    kubeConfig: loadKubeConfig(adminKubeconfig),
    nodes: ['conformance-node-a', 'conformance-node-b'],
    nodeKubeConfig: (name) => {
      const config = byNode[name];
      if (config === undefined) throw new Error(`no kubeconfig for node ${name}`);
      return config;
    },
    close: () => Promise.resolve(),
  });
}

describe(`service-account tokens on ${realCluster === undefined ? 'the emulator' : 'a real kube-apiserver'}`, () => {
  serviceAccountTokenContract(() =>
    realCluster === undefined ? emulatorTarget() : realTarget(realCluster),
  );
});
