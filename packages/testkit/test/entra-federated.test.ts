/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ClientAssertionCredential } from '@azure/identity';
import {
  createServiceAccountSigningKey,
  createServiceAccountTokenSigner,
  decodeToken,
  startSandbox,
  type Sandbox,
} from '@pod-identity/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const AUDIENCE = 'api://AzureADTokenExchange';
let sandbox: Sandbox;
let podToken: string;
let podUid: string;

beforeAll(async () => {
  sandbox = await startSandbox({
    nodeCount: 1,
    identities: ['workload', 'unfederated'],
    federated: true,
  });
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({
    namespace: 'default',
    body: { metadata: { name: 'workload' } },
  });
  const node = sandbox.nodes[0];
  if (node === undefined) throw new Error('no node');
  const pod = sandbox.createPod({
    name: 'app',
    nodeName: node.name,
    serviceAccountName: 'workload',
  });
  podUid = (pod.metadata as { uid: string }).uid;
  // The token a node's NMI gets: requested with the node's own credentials, bound to the pod.
  const nodeConfig = new KubeConfig();
  nodeConfig.loadFromString(node.nodeKubeconfigYaml);
  const answer = await nodeConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace: 'default',
    name: 'workload',
    body: {
      spec: {
        audiences: [AUDIENCE],
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'app', uid: podUid },
      },
    },
  });
  podToken = answer.status?.token ?? '';
  sandbox.addFederatedCredential('workload', {
    name: 'kubernetes-workload',
    subject: 'system:serviceaccount:default:workload',
  });
});
afterAll(async () => {
  await sandbox.stop();
});

function credentialFor(identity: string, assertion: string): ClientAssertionCredential {
  const info = sandbox.identities.get(identity);
  if (info === undefined) throw new Error(`no identity ${identity}`);
  return new ClientAssertionCredential(
    sandbox.tenantId,
    info.clientId,
    () => Promise.resolve(assertion),
    sandbox.credentialOptions,
  );
}

async function refusal(credential: ClientAssertionCredential): Promise<string> {
  try {
    await credential.getToken('https://vault.azure.net/.default');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the token request to be refused');
}

describe('Entra federated client assertions', () => {
  test('a pod-bound service-account token is exchanged for the identity`s token', async () => {
    const token = await credentialFor('workload', podToken).getToken(
      'https://vault.azure.net/.default',
    );
    const claims = decodeToken(token.token).claims;
    const identity = sandbox.identities.get('workload');
    expect(claims).toMatchObject({
      aud: 'https://vault.azure.net',
      appid: identity?.clientId,
      oid: identity?.principalId,
      xms_mirid: identity?.id,
      tid: sandbox.tenantId,
    });
    expect(sandbox.entra.requestLog().at(-1)).toMatchObject({ kind: 'federated', status: 200 });
  });

  test('an identity without federated credentials refuses with AADSTS70021', async () => {
    expect(await refusal(credentialFor('unfederated', podToken))).toContain('AADSTS70021');
  });

  test('a credential for another subject refuses with AADSTS700213', async () => {
    sandbox.addFederatedCredential('unfederated', {
      name: 'other',
      subject: 'system:serviceaccount:default:other',
    });
    try {
      expect(await refusal(credentialFor('unfederated', podToken))).toContain('AADSTS700213');
    } finally {
      sandbox.removeFederatedCredential('unfederated', 'other');
    }
  });

  test('a credential for another audience refuses with AADSTS700212', async () => {
    sandbox.addFederatedCredential('unfederated', {
      name: 'other-audience',
      subject: 'system:serviceaccount:default:workload',
      audiences: ['api://SomethingElse'],
    });
    try {
      expect(await refusal(credentialFor('unfederated', podToken))).toContain('AADSTS700212');
    } finally {
      sandbox.removeFederatedCredential('unfederated', 'other-audience');
    }
  });

  test('a credential for another issuer refuses with AADSTS700211', async () => {
    sandbox.addFederatedCredential('unfederated', {
      name: 'other-issuer',
      subject: 'system:serviceaccount:default:workload',
      issuer: 'https://oidc.example.invalid/other-cluster/',
    });
    try {
      expect(await refusal(credentialFor('unfederated', podToken))).toContain('AADSTS700211');
    } finally {
      sandbox.removeFederatedCredential('unfederated', 'other-issuer');
    }
  });

  test('an expired token refuses with AADSTS700024', async () => {
    const expired = sandbox.kubernetes.serviceAccountTokens.sign({
      audiences: [AUDIENCE],
      expirationSeconds: 600,
      binding: { namespace: 'default', serviceaccount: { name: 'workload', uid: 'x' } },
      now: new Date(Date.now() - 7_200_000),
    });
    expect(await refusal(credentialFor('workload', expired.token))).toContain('AADSTS700024');
  });

  test('a token signed by a key the issuer does not publish refuses with AADSTS7000272', async () => {
    const forger = createServiceAccountTokenSigner(
      sandbox.oidcIssuerUrl,
      createServiceAccountSigningKey(),
    );
    const forged = forger.sign({
      audiences: [AUDIENCE],
      expirationSeconds: 3600,
      binding: { namespace: 'default', serviceaccount: { name: 'workload', uid: 'x' } },
    });
    expect(await refusal(credentialFor('workload', forged.token))).toContain('AADSTS7000272');
  });

  test('garbage refuses with AADSTS50027', async () => {
    expect(await refusal(credentialFor('workload', 'not-a-jwt'))).toContain('AADSTS50027');
  });
});
