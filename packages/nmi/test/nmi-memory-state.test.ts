// NMI on an in-memory cluster state with a stand-in token source: IPv6 callers, and that the cache
// fronts the token source.
import { createMemoryClusterState, createNmi, type Nmi } from '@pod-identity/nmi';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countingTokenSource, seedBoundPod, tokenRequest } from './nmi-test-support.js';

const state = createMemoryClusterState();
let nmi: Nmi;
const source = countingTokenSource();

beforeAll(async () => {
  // The pod's IP as Kubernetes may write it (uncompressed); the socket reports "::1".
  seedBoundPod(state, { name: 'v6', podIPs: ['10.1.0.9', '0:0:0:0:0:0:0:1'] });
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
  expect(source.fetches).toBe(1);
});
