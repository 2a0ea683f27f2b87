// Its own file (and so its own process): msal-node caches the managed identity source statically,
// so AZURE_POD_IDENTITY_AUTHORITY_HOST must be set before the first credential is used.
import { ManagedIdentityCredential } from '@azure/identity';
import { createNmi, type Nmi } from '@pod-identity/nmi';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import http from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  assignToScaleSet,
  azureAssignedIdentity,
  putAssigned,
  azureIdentity,
  claimsOf,
} from './nmi-test-support.js';

let sandbox: Sandbox;
let nmi: Nmi;
const originalRequest = http.request;

beforeAll(async () => {
  sandbox = await startSandbox({
    nodeCount: 1,
    identities: ['app-id', 'other-id'],
  });
  const node = sandbox.nodes[0]!;
  await assignToScaleSet(
    sandbox,
    node.scaleSetName!,
    [...sandbox.identities.values()].map((i) => i.id),
  );
  const app = sandbox.identities.get('app-id')!;
  const other = sandbox.identities.get('other-id')!;
  const pod = sandbox.createPod({
    name: 'sdk',
    nodeName: node.name,
    labels: { aadpodidbinding: 'sdk' },
  }) as {
    status: { podIP: string };
  };
  for (const [info, name] of [
    [app, 'app-id'],
    [other, 'other-id'],
  ] as const) {
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'sdk', namespace: 'default' },
        azureIdentity('default', name, { type: 0, resourceID: info.id, clientID: info.clientId }),
        node.name,
        name === 'app-id' ? 'Assigned' : 'Created',
      ),
    );
  }
  nmi = await createNmi({
    nodeName: node.name,
    kubeConfig: sandbox.kubeConfig,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    retryAttemptsForCreated: 1,
    retryAttemptsForAssigned: 1,
    findIdentityRetryIntervalMs: 100,
    logger: pino({ level: 'silent' }),
  });
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = nmi.url;
  // This process is the pod: its outgoing connections to NMI leave from the pod's IP, as the
  // iptables redirect would deliver them.
  http.request = ((...args: Parameters<typeof http.request>) => {
    const [first, second] = args;
    if (typeof first === 'object' && !(first instanceof URL))
      Object.assign(first, { localAddress: pod.status.podIP });
    else if (typeof second === 'object' && typeof second !== 'function')
      Object.assign(second, { localAddress: pod.status.podIP });
    return originalRequest(...args);
  }) as typeof http.request;
  for (
    let i = 0;
    i < 400 && nmi.state.view.assignedIdentities('default', 'sdk').length < 2;
    i += 1
  ) {
    await new Promise((r) => setTimeout(r, 5));
  }
});

afterAll(async () => {
  http.request = originalRequest;
  delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
  await nmi.close();
  await sandbox.stop();
});

it('gets the token of the identity it names from NMI through the real ManagedIdentityCredential', async () => {
  const app = sandbox.identities.get('app-id')!;
  const credential = new ManagedIdentityCredential({ clientId: app.clientId });
  const token = await credential.getToken('https://management.azure.com/.default');
  const claims = claimsOf(token.token);
  expect(claims.appid).toBe(app.clientId);
  expect(claims.aud).toBe('https://management.azure.com');
  expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
  const byResourceId = await new ManagedIdentityCredential({ resourceId: app.id }).getToken(
    'https://vault.azure.net/.default',
  );
  expect(claimsOf(byResourceId.token).appid).toBe(app.clientId);
});
