import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import { getToken, IdentityRefusedError } from '@pod-identity/client';
import { PodIndex, type AzureIdentity, type AzureIdentityBinding } from '@pod-identity/core';
import { decodeToken, startSandbox, type Sandbox } from '@pod-identity/testkit';
import {
  startAudienceGuardBroker,
  type AudienceGuardBroker,
} from '@pod-identity/example-custom-nmi';

const ARM = 'https://management.azure.com/';
const VAULT = 'https://vault.azure.net';
const admin: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'admin', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

let sandbox: Sandbox;
let broker: AudienceGuardBroker;
let clientId: string;
const pods = new PodIndex();

beforeAll(async () => {
  sandbox = await startSandbox({ nodeCount: 1, identities: ['app'] });
  const identity = sandbox.identities.get('app')!;
  clientId = identity.clientId;
  const node = sandbox.nodes[0]!;
  // The identity is on the node's scale set (as `pod-identity add` does in managed mode).
  const compute = new ComputeManagementClient(admin, sandbox.subscriptionId, {
    endpoint: sandbox.endpoints.arm,
    ...sandbox.azureClientOptions,
  });
  await compute.virtualMachineScaleSets.update(sandbox.nodeResourceGroup, node.scaleSetName!, {
    identity: { type: 'UserAssigned', userAssignedIdentities: { [identity.id]: {} } },
  });
  const azureIdentity: AzureIdentity = {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { name: 'app-id', namespace: 'shop' },
    spec: { type: 0, resourceID: identity.id, clientID: identity.clientId },
  };
  const binding: AzureIdentityBinding = {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: { name: 'app-binding', namespace: 'shop' },
    spec: { azureIdentity: 'app-id', selector: 'web' },
  };
  pods.upsert({
    namespace: 'shop',
    name: 'web',
    phase: 'Running',
    podIPs: ['127.3.1.20'],
    labels: { aadpodidbinding: 'web' },
  });
  pods.upsert({
    namespace: 'shop',
    name: 'batch',
    phase: 'Running',
    podIPs: ['127.3.1.21'],
    labels: {},
  });
  pods.upsert({
    namespace: 'shop',
    name: 'old',
    phase: 'Succeeded',
    podIPs: ['127.3.1.22'],
    labels: { aadpodidbinding: 'web' },
  });
  broker = await startAudienceGuardBroker({
    imdsEndpoint: node.imdsUrl,
    state: {
      pods,
      view: {
        exceptions: () => [],
        bindings: (namespace) => (namespace === 'shop' ? [binding] : []),
        identities: (namespace) => (namespace === 'shop' ? [azureIdentity] : []),
      },
      allowedAudiences: (namespace) => (namespace === 'shop' ? [ARM] : []),
    },
  });
});
afterAll(async () => {
  await broker.close();
  await sandbox.stop();
});

const from = (localAddress: string) => ({
  endpoint: broker.url,
  localAddress,
  retry: { maxRetries: 0 },
});

describe('the audience-guard broker', () => {
  it('serves a bound pod a token for an allowed audience, from the node IMDS, cached', async () => {
    const first = await getToken(ARM, undefined, from('127.3.1.20'));
    expect(decodeToken(first.token).claims.appid).toBe(clientId);
    const second = await getToken(ARM, { clientId }, from('127.3.1.20'));
    expect(second.token).toBe(first.token);
    expect(broker.upstreamRequests()).toBe(1);
  });

  it('refuses an audience the namespace does not allow', async () => {
    const error = await getToken(VAULT, undefined, from('127.3.1.20')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityRefusedError);
    expect((error as IdentityRefusedError).message).toContain(
      `namespace shop may not request tokens for ${VAULT}`,
    );
  });

  it('refuses pods without a binding, finished pods and unknown addresses', async () => {
    for (const [address, message] of [
      ['127.3.1.21', 'no azure identity is bound to pod shop/batch'],
      ['127.3.1.22', 'no single live pod has address 127.3.1.22'],
      ['127.3.1.99', 'no single live pod has address 127.3.1.99'],
    ] as const) {
      const error = await getToken(ARM, undefined, from(address)).catch((e: unknown) => e);
      expect(error, address).toBeInstanceOf(IdentityRefusedError);
      expect((error as Error).message).toContain(message);
    }
  });
});
