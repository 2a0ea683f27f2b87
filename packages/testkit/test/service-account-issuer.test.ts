/**
 * The Kubernetes emulator's service-account issuer documents (the conformance tier's real
 * kube-apiserver publishes its own, checked by the federated conformance tests).
 */
import { startKubernetesEmulator } from '@pod-identity/testkit';
import { describe, expect, test } from 'vitest';

describe("the emulator's service-account issuer", () => {
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
