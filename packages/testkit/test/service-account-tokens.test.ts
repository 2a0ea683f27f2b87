import { KubeConfig } from '@kubernetes/client-node';
import { startKubernetesEmulator } from '@pod-identity/testkit';
import { describe, expect, test } from 'vitest';
import {
  EXCHANGE_AUDIENCE,
  serviceAccountTokenContract,
} from './service-account-token-contract.js';

const nodes = ['aks-nodepool1-12345678-vmss000000', 'aks-nodepool1-12345678-vmss000001'] as const;

describe('service-account tokens on the emulator', () => {
  serviceAccountTokenContract(async () => {
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
      getJson: async (path) => {
        const response = await fetch(`${kube.url}${path}`, {
          headers: { authorization: 'Bearer admin-token' },
        });
        return await response.json();
      },
      close: () => kube.close(),
    };
  });
});

describe('service-account issuer', () => {
  test('serves discovery and JWKS without authentication, for the configured issuer', async () => {
    const kube = await startKubernetesEmulator({
      token: 'admin-token',
      serviceAccountIssuer: 'https://issuer.example/cluster-1',
    });
    try {
      const discovery = (await (
        await fetch(`${kube.url}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      expect(discovery.issuer).toBe('https://issuer.example/cluster-1');
      expect(discovery.jwks_uri).toBe(`${kube.url}/openid/v1/jwks`);
      const jwks = (await (await fetch(`${kube.url}/openid/v1/jwks`)).json()) as {
        keys: { kid: string }[];
      };
      expect(jwks.keys.map((key) => key.kid)).toEqual([kube.serviceAccountTokens.keyId]);
      expect((await fetch(`${kube.url}/api/v1/namespaces`)).status).toBe(401);
    } finally {
      await kube.close();
    }
  });
});
