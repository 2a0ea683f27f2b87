// NMI on an in-memory cluster state with a stand-in token source: IPv6 callers, and that the cache
// fronts the token source.
import { createMemoryClusterState, createNmi, type Nmi } from '@pod-identity/nmi';
import type { TokenSource } from '@pod-identity/core/azure';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { azureAssignedIdentity, azureIdentity, tokenRequest } from './nmi-test-support.js';

const state = createMemoryClusterState();
let nmi: Nmi;
let fetches = 0;
const source: TokenSource = {
  key: 'fake',
  getTokens: (resource) => {
    fetches += 1;
    return Promise.resolve([
      {
        accessToken: `token-${String(fetches)}`,
        expiresOnTimestamp: Date.now() + 3_600_000,
        notBeforeTimestamp: Date.now(),
        resource,
      },
    ]);
  },
};

beforeAll(async () => {
  const identity = azureIdentity('default', 'id', {
    type: 0,
    clientID: 'c1',
    resourceID:
      '/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id',
  });
  // The pod's IP as Kubernetes may write it (uncompressed); the socket reports "::1".
  state.pods.upsert({
    namespace: 'default',
    name: 'v6',
    phase: 'Running',
    podIPs: ['10.1.0.9', '0:0:0:0:0:0:0:1'],
    labels: { aadpodidbinding: 'v6' },
  });
  state.set({
    assignedIdentities: [
      azureAssignedIdentity({ name: 'v6', namespace: 'default' }, identity, 'n', 'Assigned'),
    ] as never,
  });
  nmi = await createNmi({
    nodeName: 'n',
    state,
    listenAddress: '::1',
    port: 0,
    tokenSourceFor: () => Promise.resolve(source),
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await nmi.close();
});

it('identifies an IPv6 caller and serves it from the cache after the first request', async () => {
  const first = await tokenRequest(nmi.url, '::1', 'resource=https://r/');
  expect(first.status).toBe(200);
  const second = await tokenRequest(nmi.url, '::1', 'resource=https://r/');
  expect(JSON.parse(second.body)).toMatchObject({
    access_token: 'token-1',
    resource: 'https://r/',
  });
  expect(fetches).toBe(1);
});
